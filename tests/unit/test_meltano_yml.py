"""meltano.yml declares the loader's settings exactly as the target's --about does."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # no stubs installed

REPO = Path(__file__).parents[2]
KINDS = {
    "string": "string",
    "integer": "integer",
    "number": "decimal",
    "boolean": "boolean",
    "object": "object",
}


@functools.cache
def project() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((REPO / "meltano.yml").read_text(encoding="utf-8"))
    return loaded


def plugin(kind: str, name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(p for p in project()["plugins"][kind] if p["name"] == name)
    return found


@functools.cache
def about_settings() -> dict[str, Any]:
    code = "from target_athena_zuora.target import TargetAthenaZuora as T; T.cli()"
    about = subprocess.run(
        [sys.executable, "-c", code, "--about", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    properties: dict[str, Any] = json.loads(about.stdout)["settings"]["properties"]
    return properties


def declared() -> dict[str, dict[str, Any]]:
    settings = plugin("loaders", "target-athena-zuora")["settings"]
    return {s["name"]: s for s in settings}


def json_type(schema: dict[str, Any]) -> str:
    types = schema.get("type", [])
    types = [types] if isinstance(types, str) else types
    return str(next(t for t in types if t != "null"))


def test_every_setting_of_the_target_is_declared() -> None:
    assert sorted(declared()) == sorted(about_settings())


@pytest.mark.parametrize("name", sorted(declared()))
def test_setting_kind_matches(name: str) -> None:
    setting, schema = declared()[name], about_settings()[name]
    assert setting.get("sensitive", False) is bool(schema.get("secret", False)), name
    assert setting.get("kind") != "password", "deprecated in Meltano 4: kind string + sensitive"
    if "enum" in schema:
        assert setting["kind"] == "options"
        assert [o["value"] for o in setting["options"]] == [v for v in schema["enum"] if v]
    else:
        assert setting["kind"] == KINDS[json_type(schema)], name


def test_demo_tap_needs_no_discovery() -> None:
    demo = plugin("extractors", "tap-zuora-sample")
    assert not {"catalog", "discover", "properties"} & set(demo.get("capabilities", []))
    assert demo["pip_url"] == "-e ./demo/tap-zuora-sample"


def test_loader_basics() -> None:
    loader = plugin("loaders", "target-athena-zuora")
    assert loader["namespace"] == "target_athena_zuora"
    assert loader["pip_url"] == "-e ."
    assert loader["config"] == {"local_path": "output", "schema": "zuora"}
    assert project()["default_environment"] == "dev"
    assert plugin("extractors", "tap-zuora")["pip_url"] == "tap-zuora==1.6.1"
