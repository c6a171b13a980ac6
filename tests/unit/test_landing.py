"""The lander's timers and progress lines, driven directly (no CLI)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from target_athena_zuora.landing import Lander, Timers
from target_athena_zuora.layout import TransferClock
from target_athena_zuora.settings import Settings


def lander(tmp_path: Path, states: list[Any], latest: dict[str, Any] | None = None) -> Lander:
    settings = Settings.from_config({"local_path": str(tmp_path)})
    return Lander(
        settings,
        TransferClock.now(),
        latest_state=lambda: latest,
        emit_state=states.append,
        logger=logging.getLogger("test_landing"),
    )


def test_progress_line_per_stream(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    subject = lander(tmp_path, [])
    subject.received("Invoice", 1200)
    subject.received("Account", 30)
    subject._progress_at = 0  # due now (every ~30 s in a real run)
    with caplog.at_level(logging.INFO, logger="test_landing"):
        subject.tick()
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("progress")]
    assert len(lines) == 2
    assert lines[0].startswith("progress: stream Invoice: 1200 records read in ")
    assert lines[0].endswith(" records/s)")
    subject.release()


@pytest.mark.parametrize(
    ("last_input", "pending_since", "now", "due"),
    [
        (0.0, None, 100.0, False),  # nothing waits: never
        (0.0, 0.0, 29.9, False),
        (0.0, 0.0, 30.0, True),  # quiet for flush_idle_seconds
        (299.0, 0.0, 300.0, True),  # flowing, but the oldest waits flush_max_minutes
        (299.0, 1.0, 300.0, False),
    ],
)
def test_timers(last_input: float, pending_since: float | None, now: float, due: bool) -> None:
    timers = Timers(30.0, 300.0, last_input, pending_since)
    assert (timers.due(now) is not None) is due


def test_a_newer_state_alone_is_checkpointed_when_quiet(tmp_path: Path) -> None:
    printed: list[Any] = []
    subject = lander(tmp_path, printed, {"bookmarks": {"A": 1}})
    subject.timers = Timers(0.0, 300.0, 0.0)
    subject.tick()
    assert printed == [{"bookmarks": {"A": 1}}]
    subject.tick()  # acknowledged: nothing more
    assert printed == [{"bookmarks": {"A": 1}}]
    subject.release()
