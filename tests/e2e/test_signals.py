"""SIGTERM, SIGINT and SIGHUP at many moments of a real CLI run, stdin held open.

The input converts slowly (a free-form ``{}`` field holding objects and 20 date-time fields
written with a space and nanoseconds), so a signal mid-run finds the pipeline blocked on a
batch. After every trial: each STATE printed covers records that are in complete parts
AND visible through the catalog; no traceback; no temporary files; and the exit says what
happened (0 after a graceful stop, 128+n at start-up or after a second signal, when no
STATE may follow the signal).
"""

from __future__ import annotations

import datetime as dt
import json
import signal
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest

pytestmark = pytest.mark.slow

RECORDS = 20_000
DATE_TIMES = 20


def slow_stream(records: int = RECORDS) -> bytes:
    """SCHEMA, then RECORDs each followed by ``STATE {"seq": i}``."""
    properties: dict[str, Any] = {"Id": {"type": "integer"}, "Payload": {}}
    for k in range(DATE_TIMES):
        properties[f"D{k}"] = {"type": ["string", "null"], "format": "date-time"}
    lines = [
        {
            "type": "SCHEMA",
            "stream": "Slow",
            "key_properties": ["Id"],
            "schema": {"type": "object", "properties": properties},
        }
    ]
    for i in range(records):
        record: dict[str, Any] = {"Id": i, "Payload": {"a": i, "b": [1, {"c": "x"}]}}
        for k in range(DATE_TIMES):
            record[f"D{k}"] = f"2024-01-{i % 28 + 1:02d} 03:04:{k:02d}.123456789"
        lines.append({"type": "RECORD", "stream": "Slow", "record": record})
        lines.append({"type": "STATE", "value": {"seq": i}})
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


@pytest.fixture(scope="module")
def stream() -> bytes:
    return slow_stream()


def landed_ids(root: Path) -> tuple[set[int], set[int]]:
    """Record ids in complete parts (pyarrow) and through the DuckDB catalog."""
    in_parts: set[int] = set()
    for part in root.glob("zuora/slow/dt=*/*.parquet"):
        in_parts.update(pq.read_table(part, columns=["id"]).column(0).to_pylist())
    in_view: set[int] = set()
    catalog = root / "catalog.duckdb"
    if catalog.exists():
        with duckdb.connect(str(catalog), read_only=True) as connection:
            in_view = {row[0] for row in connection.sql("SELECT id FROM zuora.slow").fetchall()}
    return in_parts, in_view


@dataclass(frozen=True)
class Trial:
    """One run: the signal(s), when, and what came of it."""

    name: str
    signum: int
    outcome: str  # graceful | startup | aborted
    states: int
    covered: int  # records the last STATE covers
    violations: tuple[str, ...]


def coverage_problems(states: list[Any], root: Path) -> list[str]:
    """Each STATE must cover records in complete parts and visible in the catalog."""
    problems = []
    in_parts, in_view = landed_ids(root)
    for state in states:
        covered = set(range(state["seq"] + 1))
        if not covered <= in_parts:
            problems.append(f"STATE {state} printed, {len(covered - in_parts)} records in no part")
        if not covered <= in_view:
            problems.append(f"STATE {state} printed, {len(covered - in_view)} not in the catalog")
    leftovers = [p for p in root.rglob("*") if p.name.startswith(".parts-")]
    leftovers += list(root.rglob("*.tmp"))
    if leftovers:
        problems.append(f"temporary files left: {leftovers}")
    return problems


def outcome_of(result: Any, signum: int, run: Any, signalled_at: float) -> tuple[str, list[str]]:
    """How the run ended, and what is wrong with how it ended."""
    states = result.states
    if result.returncode == -signum and not states and not result.stderr.strip():
        return "startup", []  # before Python ran our code: the default action, silently
    if "during start-up" in result.stderr:
        wrong = result.returncode != 128 + signum or states
        return "startup", [f"start-up stop: exit {result.returncode}, {len(states)} STATEs"] * bool(
            wrong
        )
    if "stopped at once" in result.stderr:
        problems = []
        if result.returncode != 128 + signum:
            problems.append(f"abort: exit {result.returncode}")
        if run.states_until(float("inf")) != run.states_until(signalled_at):
            problems.append("a STATE was printed after the first signal of an abort")
        return "aborted", problems
    problems = []
    if result.returncode != 0:
        problems.append(f"graceful stop: exit {result.returncode}: {result.error_lines}")
    if not states:
        problems.append("a graceful stop printed no STATE")
    return "graceful", problems


def check(name: str, signum: int, run: Any, signalled_at: float) -> Trial:
    """Wait for ``run`` to end, record the trial (for ``test_summary``) and assert it has no
    violation."""
    result = run.wait(timeout=300)
    problems = ["a traceback on stderr"] if "Traceback" in result.stderr else []
    problems += coverage_problems(result.states, result.root)
    outcome, wrong = outcome_of(result, signum, run, signalled_at)
    states = result.states
    covered = states[-1]["seq"] + 1 if states else 0
    trial = Trial(name, signum, outcome, len(states), covered, tuple(problems + wrong))
    TRIALS.append(trial)
    assert not trial.violations, trial
    return trial


def wait_for(condition: Callable[[], bool], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the run did not get there in time")
        time.sleep(0.01)


def said(run: Any, text: str) -> Callable[[], bool]:
    """Whether ``run`` has written ``text`` on stderr yet."""
    return lambda: text in run.stderr_so_far()


SIGNALS = [signal.SIGTERM, signal.SIGINT]
# Input taken before the signal (more than a pipe's 64 KiB buffer: the target is reading).
MID_RUN_BYTES = [256 << 10, 2 << 20, 5 << 20, 9 << 20]
TRIALS: list[Trial] = []


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: signal.Signals(s).name)
@pytest.mark.parametrize("taken", MID_RUN_BYTES, ids=lambda b: f"after-{b >> 10}KiB")
def test_mid_run(start_cli: Any, stream: bytes, signum: int, taken: int) -> None:
    """The signal lands while batches convert (the pipeline blocked on a slow one)."""
    run = start_cli()
    run.feed(stream)
    wait_for(lambda: run.written >= taken)
    at = time.monotonic()
    run.send(signum)
    trial = check(f"mid-run {taken >> 10} KiB", signum, run, at)
    assert trial.outcome == "graceful", trial


@pytest.mark.parametrize("signum", [*SIGNALS, signal.SIGHUP], ids=lambda s: signal.Signals(s).name)
def test_mid_run_between_timer_checkpoints(start_cli: Any, stream: bytes, signum: int) -> None:
    """Timer checkpoints (flush_max_minutes 0.01: 0.6 s) print STATEs between pieces of
    input; then the signal lands mid-piece: every STATE, timer-driven or final, covers
    landed, visible records."""
    run = start_cli({"flush_max_minutes": 0.01})
    lines = stream.splitlines(keepends=True)
    third = len(lines) // 3
    thirds = [
        b"".join(lines[:third]),
        b"".join(lines[third : 2 * third]),
        b"".join(lines[2 * third :]),
    ]
    for piece, printed in zip(thirds[:2], (1, 2), strict=True):
        run.write(piece)

        def enough(printed: int = printed) -> bool:
            return len(run.lines) >= printed

        wait_for(enough)
    run.feed(thirds[2])
    wait_for(lambda: run.written >= len(thirds[0]) + len(thirds[1]) + (1 << 20))
    at = time.monotonic()
    run.send(signum)
    trial = check("mid-run after timer checkpoints", signum, run, at)
    assert trial.outcome == "graceful" and trial.states >= 3, trial


def catches(pid: int, signum: int) -> bool:
    """Whether process ``pid`` has a handler for ``signum`` (``SigCgt`` in /proc)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    mask = next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt"))
    return bool(int(mask, 16) >> (signum - 1) & 1)


@pytest.mark.parametrize("signum", [*SIGNALS, signal.SIGHUP], ids=lambda s: signal.Signals(s).name)
def test_at_start_up(start_cli: Any, stream: bytes, signum: int) -> None:
    """Once the CLI has taken the signals over (its first imports) and before the first line
    is read (singer-sdk and Arrow still loading): non-zero, one line, no traceback, no STATE.

    Earlier still — the first ~30 ms after exec, before Python has run any of our code —
    Python's own defaults apply: SIGTERM and SIGHUP end the process silently; a SIGINT there
    is Python's KeyboardInterrupt during its own start-up (README, Reliability)."""
    run = start_cli()
    run.feed(stream)
    wait_for(lambda: catches(run.process.pid, signal.SIGTERM), timeout=30)
    at = time.monotonic()
    run.send(signum)
    trial = check("start-up", signum, run, at)
    assert trial.outcome in {"startup", "graceful"}, trial


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
def test_right_after_exec(start_cli: Any, stream: bytes, signum: int) -> None:
    """At once after the process starts: whichever handler is in place, no STATE, no
    traceback, non-zero."""
    run = start_cli()
    run.feed(stream)
    at = time.monotonic()
    run.send(signum)
    trial = check("right after exec", signum, run, at)
    assert trial.outcome in {"startup", "graceful"}, trial


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_with_all_input_read_and_stdin_open(start_cli: Any, signum: int) -> None:
    """The tap is silent (stdin open, nothing buffered but not yet landed): everything
    read lands and the final STATE covers it all."""
    records = 2_000
    run = start_cli()
    run.feed(slow_stream(records))
    wait_for(lambda: run.written >= len(slow_stream(records)))
    time.sleep(1.0)
    at = time.monotonic()
    run.send(signum)
    trial = check("idle, stdin open", signum, run, at)
    assert trial.outcome == "graceful" and trial.covered == records, trial


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_second_signal_stops_at_once(start_cli: Any, stream: bytes, signum: int) -> None:
    """A second signal while landing: exit 128+n now, no STATE after the first signal."""
    run = start_cli()
    run.feed(stream)
    wait_for(lambda: run.written >= 5 << 20)
    at = time.monotonic()
    run.send(signum)
    time.sleep(0.2)
    run.send(signum)
    trial = check("second signal while draining", signum, run, at)
    assert trial.outcome in {"aborted", "graceful"}, trial


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_a_signal_after_a_graceful_stop_is_done_only_ends_the_wait(
    start_cli: Any, signum: int
) -> None:
    """After a graceful stop has landed everything and printed its last STATE, the run may
    still wait out the second its transfer timestamp names. A second signal then only ends
    that wait: exit 0, no "stopped at once" (its STATE was printed and is true)."""
    records = 50
    for attempt in range(30):
        # start-up takes about half a second: aim the run's clock at the start of a second
        time.sleep((0.5 + attempt * 0.037 - time.time()) % 1.0)
        run = start_cli()
        run.write(slow_stream(records))  # stdin stays open
        wait_for(said(run, "Skipping parse of env var"))
        time.sleep(0.1)  # reading
        run.send(signum)
        wait_for(said(run, "the tap resumes from there"))
        (part,) = run.root.glob("zuora/slow/dt=*/*.parquet")
        stamp = dt.datetime.strptime(part.stem.split("_")[1], "%Y%m%d%H%M%S")
        left = stamp.replace(tzinfo=dt.UTC) + dt.timedelta(seconds=1) - dt.datetime.now(dt.UTC)
        if left < dt.timedelta(seconds=0.2):
            run.wait()
            continue  # its second is (nearly) over: no wait left to cut short; try again
        time.sleep(0.05)
        run.send(signum)
        result = run.wait(timeout=60)
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr and "stopped at once" not in result.stderr
        assert result.states[-1]["seq"] == records - 1
        assert not coverage_problems(result.states, result.root)
        return
    pytest.fail("no run was still waiting out its second after its graceful stop")


def test_summary() -> None:
    """Runs last in this module: the trials and their violations (printed with -s)."""
    if not TRIALS:
        pytest.skip("run with the trials above")
    outcomes = Counter(t.outcome for t in TRIALS)
    violations = sum(len(t.violations) for t in TRIALS)
    print(f"signal trials: {len(TRIALS)} ({dict(outcomes)}), violations: {violations}")  # noqa: T201
    assert violations == 0
