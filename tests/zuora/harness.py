"""pytest plugin with the tap-zuora fixtures; load it from a test module with
``pytest_plugins = ["zuora.harness"]`` (and import classes from ``zuora.pipeline``, never
from here: a plugin module imported before pytest loads it cannot have its asserts rewritten).

- ``tap_zuora_python`` (session): the python of the tap's own virtualenv (built once, cached
  in ``<repo>/.venv-tap-zuora``; see ``zuora.pipeline.ensure_tap_venv``).
- ``fake_zuora``: a ``FakeZuora`` on 127.0.0.1 serving a fresh default tenant (``zuora.data``).
- ``tap_zuora``: a ``TapZuora`` bound to ``fake_zuora``, its files under the test's ``tmp_path``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from zuora.data import default_tenant
from zuora.fake_api import FakeZuora
from zuora.pipeline import TapZuora, ensure_tap_venv


@pytest.fixture(scope="session")
def tap_zuora_python() -> Path:
    """The python of the tap's own virtualenv (tap-zuora==1.6.1), built once and cached."""
    return ensure_tap_venv()


@pytest.fixture
def fake_zuora() -> Iterator[FakeZuora]:
    """A fake Zuora API on 127.0.0.1 over a fresh default tenant; stopped after the test."""
    with FakeZuora.serving(default_tenant()) as fake:
        yield fake


@pytest.fixture
def tap_zuora(tap_zuora_python: Path, fake_zuora: FakeZuora, tmp_path: Path) -> TapZuora:
    """The real tap against ``fake_zuora``; its files go under ``tmp_path/tap-zuora``."""
    return TapZuora(tap_zuora_python, fake_zuora, tmp_path / "tap-zuora")
