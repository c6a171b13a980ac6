"""The real tap-zuora 1.6.1 waiting on an export between streams: what it finished before
the wait lands during the wait (parts, catalog, STATE), not when the next stream arrives."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from zuora.fake_api import FakeZuora
from zuora.pipeline import TapZuora

pytest_plugins = ["zuora.harness"]
pytestmark = [pytest.mark.slow, pytest.mark.zuora]

WAIT_S = 6.0
IDLE_S = 1.0
LOG_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3}) ")


def logged_at(stderr: str, needle: str) -> dt.datetime:
    """When the target first logged a line containing ``needle``."""
    for line in stderr.splitlines():
        match = LOG_TIME.match(line)
        if match and needle in line:
            return dt.datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f")
    raise AssertionError(f"no log line with {needle!r}")


def test_finished_streams_land_while_the_tap_waits_on_an_export(
    tap_zuora: TapZuora, fake_zuora: FakeZuora, tmp_path: Path
) -> None:
    fake_zuora.delay_jobs(WAIT_S, ["Invoice"])  # Account is synced, then the tap waits
    tap_zuora.poll_interval = 1
    target = {**TapZuora.local_target(tmp_path / "out"), "flush_idle_seconds": IDLE_S}
    run = tap_zuora.run(target)

    account_landed = logged_at(run.target_stderr, "landed part of zuora.account")
    invoice_landed = logged_at(run.target_stderr, "landed part of zuora.invoice")
    quiet = logged_at(run.target_stderr, "checkpoint (input quiet")
    # Account's part and its STATE came during the wait, not with Invoice's first records.
    assert (invoice_landed - account_landed).total_seconds() >= WAIT_S - IDLE_S - 2
    assert abs((quiet - account_landed).total_seconds()) < 2
    printed = run.target_states
    assert len(printed) >= 2, printed
    assert printed[-1] == run.tap_states[-1]
    first = printed[0]
    assert "Account" in first.get("bookmarks", {}), first
