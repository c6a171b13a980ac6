"""What an operator meets over years of runs into one local_path: full disks, read-only
filesystems, a notebook holding the catalog open, two loads at once, leftovers of killed
runs, small parts, odd folder names, a moved output folder, damaged catalog files.

Full and read-only disks are real: a small tmpfs mounted for the test (root is needed; the
test is skipped elsewhere, and ``tests/unit/test_os_errors.py`` injects the same errors).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest

pytestmark = pytest.mark.slow


def schema(stream: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    properties: dict[str, Any] = {"Id": {"type": "integer"}, "Text": {"type": ["string", "null"]}}
    properties.update(extra or {})
    return {
        "type": "SCHEMA",
        "stream": stream,
        "key_properties": ["Id"],
        "schema": {"type": "object", "properties": properties},
    }


def stream_lines(stream: str, first: int, count: int, text_bytes: int = 20) -> list[Any]:
    """SCHEMA, RECORDs (``Text`` of ``text_bytes`` hex digits that compress poorly, as real
    ids and numbers do), a STATE after each."""
    lines: list[Any] = [schema(stream)]
    for i in range(first, first + count):
        digest = hashlib.blake2b(str(i).encode(), digest_size=32).hexdigest()
        text = (digest * (text_bytes // 64 + 1))[:text_bytes]
        lines.append({"type": "RECORD", "stream": stream, "record": {"Id": i, "Text": text}})
        lines.append({"type": "STATE", "value": {"bookmarks": {stream: i}}})
    return lines


def view_ids(root: Path, model: str) -> list[int]:
    with duckdb.connect(str(root / "catalog.duckdb"), read_only=True) as connection:
        rows = connection.sql(f"SELECT id FROM zuora.{model} ORDER BY id").fetchall()  # noqa: S608
    return [r[0] for r in rows]


def part_ids(root: Path, model: str) -> set[int]:
    found: set[int] = set()
    for part in root.glob(f"zuora/{model}/dt=*/*.parquet"):
        found.update(pq.read_table(part, columns=["id"]).column(0).to_pylist())
    return found


def temporary_files(root: Path) -> list[Path]:
    return [
        p
        for p in root.rglob("*")
        if p.name.startswith(".parts-") or ".tmp" in p.name or p.name.endswith(".wal")
    ]


def assert_states_covered(result: Any, model: str) -> None:
    """Every STATE printed covers records that are in parts and in the catalog."""
    if not result.states:
        return
    last = result.states[-1]["bookmarks"][model.capitalize()]
    assert set(range(last + 1)) <= part_ids(result.root, model)
    assert set(range(last + 1)) <= set(view_ids(result.root, model))


# --- full and read-only filesystems -------------------------------------------------------


@contextlib.contextmanager
def small_filesystem(path: Path, size: str) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(path: Path, leave_bytes: int) -> Path:
    """Fill the filesystem of ``path`` until about ``leave_bytes`` are free."""
    filler = path / "filler"
    free = shutil.disk_usage(path).free
    with filler.open("wb") as handle, contextlib.suppress(OSError):
        handle.write(b"\0" * max(0, free - leave_bytes))
    return filler


def test_disk_full_while_writing_a_part(run_cli: Any, tmp_path: Path) -> None:
    with small_filesystem(tmp_path / "fs", "3m") as root:
        result = run_cli(stream_lines("Invoice", 0, 100_000, 64), root=root)
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        (error,) = result.error_lines
        assert "No space left on device" in error and str(root) in error, error
        assert_states_covered(result, "invoice")
        assert temporary_files(root) == []


def test_disk_full_while_writing_the_catalog_keeps_the_old_one(
    run_cli: Any, tmp_path: Path
) -> None:
    with small_filesystem(tmp_path / "fs", "4m") as root:
        first = run_cli(stream_lines("Invoice", 0, 100), root=root)
        assert first.returncode == 0, first.stderr
        before = (root / "catalog.duckdb").read_bytes()
        filler = fill(root, 64 << 10)  # room for a small part, not for a new catalog file

        second = run_cli(stream_lines("Account", 0, 10), root=root)
        assert second.returncode == 1
        (error,) = second.error_lines
        assert "No space left on device" in error and "catalog" in error, error
        assert second.states == []
        assert (root / "catalog.duckdb").read_bytes() == before  # untouched, still valid
        assert view_ids(root, "invoice") == list(range(100))
        assert temporary_files(root) == []

        filler.unlink()  # space freed: the next run lands and the catalog is whole again
        third = run_cli(stream_lines("Account", 0, 10), root=root)
        assert third.returncode == 0, third.stderr
        # The failed run's complete part stays (insert-only): its rows may show twice.
        assert set(view_ids(root, "account")) == set(range(10))
        assert view_ids(root, "invoice") == list(range(100))


def test_read_only_filesystem_is_one_line(run_cli: Any, tmp_path: Path) -> None:
    with small_filesystem(tmp_path / "fs", "4m") as root:
        assert run_cli(stream_lines("Invoice", 0, 10), root=root).returncode == 0
        subprocess.run(["mount", "-o", "remount,ro", str(root)], check=True)
        result = run_cli(stream_lines("Invoice", 10, 10), root=root)
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        (error,) = result.error_lines
        assert "Read-only file system" in error and str(root) in error, error
        assert result.states == []
        assert view_ids(root, "invoice") == list(range(10))


# --- a busy catalog, two loads at once -----------------------------------------------------


@pytest.mark.parametrize("read_only", [True, False], ids=["read-only", "read-write"])
def test_a_connection_held_open_never_fails_a_load(
    run_cli: Any, tmp_path: Path, read_only: bool
) -> None:
    """A notebook holding ``duckdb.connect(".../catalog.duckdb")`` (the README's own
    example, read-write) or a read-only one: the load succeeds; the held connection keeps
    its catalog (its views still read every part by glob); a new one sees the new tables."""
    root = tmp_path / "out"
    assert run_cli(stream_lines("Invoice", 0, 10), root=root).returncode == 0
    held = duckdb.connect(str(root / "catalog.duckdb"), read_only=read_only)
    try:
        assert held.sql("SELECT count(*) FROM zuora.invoice").fetchall() == [(10,)]
        result = run_cli(stream_lines("Invoice", 10, 10) + stream_lines("Account", 0, 5), root=root)
        assert result.returncode == 0, result.stderr
        assert held.sql("SELECT count(*) FROM zuora.invoice").fetchall() == [(20,)]
    finally:
        held.close()
    assert view_ids(root, "invoice") == list(range(20))
    assert view_ids(root, "account") == list(range(5))


def test_two_loads_into_one_local_path_at_once(start_cli: Any, tmp_path: Path) -> None:
    """Pairs of concurrent runs, the same and different streams: all succeed, every record
    of both visible afterwards, no part overwritten."""
    root = tmp_path / "shared"
    expected: dict[str, set[int]] = {"invoice": set(), "account": set()}
    for pair in range(5):
        runs = []
        for side, stream in enumerate(("Invoice", "Account" if pair % 2 else "Invoice")):
            first = (pair * 2 + side) * 1000
            run = start_cli({"local_path": str(root)})
            feeder = run.feed(
                "".join(json.dumps(m) + "\n" for m in stream_lines(stream, first, 1000)).encode()
            )
            runs.append((run, feeder))
            expected[stream.lower()].update(range(first, first + 1000))
        for run, feeder in runs:
            feeder.join()
            run.close_input()
        for run, _ in runs:
            result = run.wait()
            assert result.returncode == 0, result.stderr
    for model, ids in expected.items():
        assert sorted(view_ids(root, model)) == sorted(ids), model
        assert part_ids(root, model) == ids
    assert temporary_files(root) == []


# --- leftovers and sizes ---------------------------------------------------------------------


def test_leftovers_of_ended_runs_go_and_a_live_runs_stay(run_cli: Any, tmp_path: Path) -> None:
    root = tmp_path / "out"
    root.mkdir()
    dead = root / ".parts-dead"  # a killed run's workspace: its lock is free
    dead.mkdir()
    (dead / ".alive").write_text("")
    (dead / "invoice.parquet.tmp").write_bytes(b"x" * 1000)
    live = root / ".parts-live"  # a concurrent run's: locked by a live process
    live.mkdir()
    (live / ".alive").write_text("")
    (live / "invoice.parquet.tmp").write_bytes(b"y" * 1000)
    holder = subprocess.Popen(
        ["flock", str(live / ".alive"), "sleep", "60"], stdout=subprocess.DEVNULL
    )
    try:
        time.sleep(0.3)
        result = run_cli(stream_lines("Invoice", 0, 5), root=root)
        assert result.returncode == 0, result.stderr
        assert not dead.exists()
        assert (live / "invoice.parquet.tmp").read_bytes() == b"y" * 1000
    finally:
        holder.kill()
        holder.wait()


def test_a_killed_runs_temporary_files_are_removed_by_the_next(
    start_cli: Any, run_cli: Any, tmp_path: Path
) -> None:
    root = tmp_path / "out"
    run = start_cli({"local_path": str(root)})
    run.feed("".join(json.dumps(m) + "\n" for m in stream_lines("Invoice", 0, 50_000)).encode())
    deadline = time.monotonic() + 60
    while not list(root.glob(".parts-*/*.tmp")) and time.monotonic() < deadline:
        time.sleep(0.05)
    run.send(signal.SIGKILL)
    run.wait()
    assert list(root.glob(".parts-*")), "the killed run left its workspace"
    result = run_cli(stream_lines("Account", 0, 5), root=root)
    assert result.returncode == 0, result.stderr
    assert temporary_files(root) == []


def test_parts_honour_part_size_mb_from_1_mb(run_cli: Any, tmp_path: Path) -> None:
    result = run_cli(stream_lines("Invoice", 0, 120_000, 64), config={"part_size_mb": 1})
    assert result.returncode == 0, result.stderr
    sizes = sorted(
        (p.stat().st_size for p in result.root.glob("zuora/invoice/dt=*/*.parquet")), reverse=True
    )
    assert len(sizes) >= 5, sizes
    for size in sizes[1:-1] if len(sizes) > 2 else sizes:  # the last part holds the rest
        assert 0.75 * (1 << 20) <= size <= 1.25 * (1 << 20), sizes
    assert max(sizes) <= 1.25 * (1 << 20), sizes
    assert len(part_ids(result.root, "invoice")) == 120_000


# --- odd paths, a moved folder, damaged catalog files ----------------------------------------


@pytest.mark.parametrize(
    "folder", ["out[1]", "it's *here*?", 'say "cheese"'], ids=["brackets", "quote-star", "dq"]
)
def test_paths_with_glob_and_quote_characters(run_cli: Any, tmp_path: Path, folder: str) -> None:
    root = tmp_path / folder
    for first in (0, 10):
        result = run_cli(stream_lines("Invoice", first, 10), root=root)
        assert result.returncode == 0, result.stderr
    assert view_ids(root, "invoice") == list(range(20))


def test_a_moved_output_folder_is_queryable_after_rebuild(run_cli: Any, tmp_path: Path) -> None:
    old = tmp_path / "old"
    assert run_cli(stream_lines("Invoice", 0, 10), root=old).returncode == 0
    new = tmp_path / "new"
    shutil.copytree(old, new)
    shutil.rmtree(old)
    with pytest.raises(duckdb.Error):  # the views hold the old absolute path
        view_ids(new, "invoice")
    result = run_cli([], root=new, extra_args=["--rebuild-catalog"])
    assert result.returncode == 0, result.stderr
    assert "zuora.invoice" in "\n".join(result.stdout)
    assert view_ids(new, "invoice") == list(range(10))


def test_rebuild_leaves_out_a_table_whose_folder_was_removed(run_cli: Any, tmp_path: Path) -> None:
    """Removing a table by hand: delete its folder, then --rebuild-catalog (a damaged
    catalog.json on the way is no obstacle: the parts are the truth)."""
    root = tmp_path / "out"
    assert run_cli(stream_lines("Invoice", 0, 5) + stream_lines("Account", 0, 5), root=root)
    shutil.rmtree(root / "zuora" / "invoice")
    (root / "catalog.json").write_text("not json")
    result = run_cli([], root=root, extra_args=["--rebuild-catalog"])
    assert result.returncode == 0, result.stderr
    with duckdb.connect(str(root / "catalog.duckdb"), read_only=True) as connection:
        views = {r[0] for r in connection.sql("SELECT view_name FROM duckdb_views()").fetchall()}
    assert "invoice" not in views and "invoice_current" not in views
    assert view_ids(root, "account") == list(range(5))


def test_damaged_catalog_files_are_rebuilt_with_a_warning(run_cli: Any, tmp_path: Path) -> None:
    root = tmp_path / "out"
    lines = stream_lines("Invoice", 0, 10)
    lines[0] = schema("Invoice", {"Old": {"type": ["string", "null"]}})
    assert run_cli(lines, root=root).returncode == 0
    (root / "catalog.duckdb").write_bytes((root / "catalog.duckdb").read_bytes()[:1000])
    (root / "catalog.json").write_text('{"format": 1, "tables": [')  # cut short
    result = run_cli(stream_lines("Invoice", 10, 10), root=root)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "WARNING" in line]
    assert any("catalog.json" in w and "rebuilding" in w for w in warnings), warnings
    assert any("catalog.duckdb" in w for w in warnings), warnings
    assert view_ids(root, "invoice") == list(range(20))
    with duckdb.connect(str(root / "catalog.duckdb"), read_only=True) as connection:
        columns = [r[0] for r in connection.sql("DESCRIBE zuora.invoice").fetchall()]
    assert columns == ["id", "text", "old", "dt"]  # derived from the parts: 'old' kept


def test_the_lock_file_is_our_own(tmp_path: Path, run_cli: Any) -> None:
    """A load waits (bounded, logged) for another load's catalog update, never for a
    reader: here a process holds the load lock for 1.5 s and the load waits it out."""
    root = tmp_path / "out"
    root.mkdir()
    lock = os.open(root / ".catalog.lock", os.O_CREAT | os.O_RDWR)
    fcntl.flock(lock, fcntl.LOCK_EX)
    release = subprocess.Popen(["sleep", "1.5"])
    try:
        started = time.monotonic()
        run = subprocess.Popen(["true"])  # placeholder so the sleep overlaps the run below
        run.wait()

        def unlock() -> None:
            release.wait()
            fcntl.flock(lock, fcntl.LOCK_UN)

        import threading  # noqa: PLC0415 - only this test

        threading.Thread(target=unlock, daemon=True).start()
        result = run_cli(stream_lines("Invoice", 0, 5), root=root)
        assert result.returncode == 0, result.stderr
        assert time.monotonic() - started >= 1.4
        assert "waiting for another load" in result.stderr
    finally:
        os.close(lock)
    assert view_ids(root, "invoice") == list(range(5))
