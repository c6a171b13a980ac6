"""Landing while the input is quiet (``flush_idle_seconds``) and at most every
``flush_max_minutes`` while it flows — on timers, not on the next message — without a storm
of small parts. A slow tap is simulated by writing to the CLI's stdin with pauses."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest

pytestmark = pytest.mark.slow

GRACE_S = 2.0  # the issue's bound: landed within flush_idle_seconds + 2 s of a pause


def schema(stream: str) -> dict[str, Any]:
    return {
        "type": "SCHEMA",
        "stream": stream,
        "key_properties": ["Id"],
        "schema": {
            "type": "object",
            "properties": {"Id": {"type": "integer"}, "Name": {"type": ["string", "null"]}},
        },
    }


def records(stream: str, first: int, count: int) -> bytes:
    """RECORDs with a STATE after each, as tap-zuora sends them."""
    lines = []
    for i in range(first, first + count):
        lines.append({"type": "RECORD", "stream": stream, "record": {"Id": i, "Name": f"n{i}"}})
        lines.append({"type": "STATE", "value": {"bookmarks": {stream: i}}})
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


def line(message: dict[str, Any]) -> bytes:
    return (json.dumps(message) + "\n").encode()


def view_count(root: Path, model: str) -> int:
    with duckdb.connect(str(root / "catalog.duckdb"), read_only=True) as connection:
        rows = connection.sql(f"SELECT count(*) FROM zuora.{model}").fetchall()  # noqa: S608
    return int(rows[0][0])


def parts(root: Path, model: str) -> list[Path]:
    return sorted(root.glob(f"zuora/{model}/dt=*/*.parquet"))


def wait_for(condition: Callable[[], bool], timeout: float) -> float:
    """Seconds until ``condition`` held; AssertionError after ``timeout``."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout} s")
        time.sleep(0.02)
    return time.monotonic() - started


@pytest.mark.parametrize("idle", [1, 0.5], ids=["1s", "half-second"])
def test_a_pause_lands_everything_and_prints_the_state(start_cli: Any, idle: float) -> None:
    """Stream A, a pause (the tap waits on an export), stream B, a pause: each pause lands
    what was read — parts, catalog rows, STATE — within flush_idle_seconds + 2 s."""
    run = start_cli({"flush_idle_seconds": idle})
    run.write(line(schema("Account")) + records("Account", 0, 500))
    paused = time.monotonic()
    waited = wait_for(lambda: len(run.lines) >= 1, idle + GRACE_S + 5)
    assert waited <= idle + GRACE_S, waited
    assert run.states_until(float("inf"))[-1] == {"bookmarks": {"Account": 499}}
    assert len(parts(run.root, "account")) == 1
    assert view_count(run.root, "account") == 500
    assert time.monotonic() - paused >= idle * 0.9  # not before the input was quiet that long

    run.write(line(schema("Invoice")) + records("Invoice", 0, 300))
    waited = wait_for(lambda: len(run.lines) >= 2, idle + GRACE_S + 5)
    assert waited <= idle + GRACE_S, waited
    assert view_count(run.root, "invoice") == 300
    run.close_input()
    result = run.wait()
    assert result.returncode == 0, result.stderr
    assert result.states[-1] == {"bookmarks": {"Invoice": 299}}
    assert len(parts(run.root, "account")) == 1  # nothing new for Account: no empty part
    assert len(parts(run.root, "invoice")) == 1


def test_a_quiet_input_with_nothing_new_prints_nothing_more(start_cli: Any) -> None:
    """Once landed, a quiet input costs nothing: no further checkpoints or STATEs."""
    run = start_cli({"flush_idle_seconds": 0.3})
    run.write(line(schema("Account")) + records("Account", 0, 10))
    wait_for(lambda: len(run.lines) >= 1, 10)
    time.sleep(1.5)
    assert len(run.lines) == 1
    run.close_input()
    result = run.wait()
    assert result.returncode == 0
    assert len(result.states) == 1
    assert len(parts(run.root, "account")) == 1


def test_a_state_alone_is_acknowledged_when_quiet(start_cli: Any) -> None:
    """A newer STATE with no records (tap-zuora's STATE after submitting an export job) is
    printed once the input is quiet."""
    run = start_cli({"flush_idle_seconds": 0.5})
    run.write(line(schema("Account")) + records("Account", 0, 5))
    wait_for(lambda: len(run.lines) >= 1, 10)
    run.write(line({"type": "STATE", "value": {"bookmarks": {"Account": 4}, "job": "42"}}))
    waited = wait_for(lambda: len(run.lines) >= 2, 10)
    assert waited <= 0.5 + GRACE_S
    assert json.loads(run.lines[-1][1]) == {"bookmarks": {"Account": 4}, "job": "42"}
    run.close_input()
    assert run.wait().returncode == 0


def trickle(run: Any, streams: list[str], seconds: float, interval: float) -> int:
    """One record every ``interval`` s (round-robin over ``streams``) for ``seconds``."""
    run.write(b"".join(line(schema(s)) for s in streams))
    sent, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        stream = streams[sent % len(streams)]
        run.write(records(stream, sent, 1))
        sent += 1
        time.sleep(interval)
    run.close_input()
    return sent


def test_a_trickle_makes_few_parts(start_cli: Any) -> None:
    """The issue's trickle (a record a second for 10 minutes, idle 30 s, max 5 min: at most
    3 parts) scaled down 1:100 in time: a record every 0.1 s for 6.5 s with idle 1 s (still
    far above the gap) and max 0.05 min = 3 s."""
    run = start_cli({"flush_idle_seconds": 1, "flush_max_minutes": 0.05})
    sent = trickle(run, ["Account"], 6.5, 0.1)
    result = run.wait()
    assert result.returncode == 0, result.stderr
    assert view_count(run.root, "account") == sent
    assert 2 <= len(parts(run.root, "account")) <= 3  # the max-age timer fired, no storm
    assert 2 <= len(result.states) <= 3


def test_an_interleaving_trickle_makes_no_more_parts_per_model(start_cli: Any) -> None:
    """Two streams interleaved record by record: each checkpoint closes each model's part
    once, so parts per model stay what a single stream gets."""
    run = start_cli({"flush_idle_seconds": 1, "flush_max_minutes": 0.05})
    sent = trickle(run, ["Account", "Invoice"], 6.5, 0.1)
    result = run.wait()
    assert result.returncode == 0, result.stderr
    assert view_count(run.root, "account") + view_count(run.root, "invoice") == sent
    for model in ("account", "invoice"):
        assert 2 <= len(parts(run.root, model)) <= 3, model


def test_interleaving_makes_no_more_parts_than_without_the_timers(run_cli: Any) -> None:
    """The same interleaved input (two streams record by record, a STATE after each) with
    the default timers and with timers that never fire: the same parts."""
    body = b"".join(records("Account", i, 1) + records("Invoice", i, 1) for i in range(20_000))
    data = line(schema("Account")) + line(schema("Invoice")) + body
    counts = []
    for config in ({}, {"flush_idle_seconds": 1e9, "flush_max_minutes": 1e9}):
        result = run_cli(data, config=config)
        assert result.returncode == 0, result.stderr
        counts.append({m: len(parts(result.root, m)) for m in ("account", "invoice")})
    assert counts[0] == counts[1] == {"account": 1, "invoice": 1}
