"""Shared test helpers, offered as fixtures (so test modules never import conftest).

- ``run_cli``: pipe Singer lines through the installed CLI in a subprocess.
- ``start_cli``: start the CLI and talk to it while it runs (feed input in pieces, pause,
  send signals, see when each STATE line arrived).
- ``read_view``: read ``<schema>.<model>`` back from the DuckDB catalog as an Arrow table.
- ``read_parts``: read every Parquet part of a model back with pyarrow.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from target_cli import target_command

CLI_TIMEOUT = 120


@dataclass(frozen=True)
class CliResult:
    """One CLI run: exit code, stdout lines, stderr text, and the output root."""

    returncode: int
    stdout: list[str]
    stderr: str
    root: Path

    @property
    def states(self) -> list[Any]:
        """Every STATE value printed on stdout, in order."""
        return [json.loads(line) for line in self.stdout if line.strip()]

    @property
    def error_lines(self) -> list[str]:
        """stderr lines logged at ERROR level (or bare lines that are not log records)."""
        return [
            line
            for line in self.stderr.splitlines()
            if line.strip() and ("| ERROR" in line or " | " not in line)
        ]


def singer_text(lines: Iterable[Mapping[str, Any] | str | bytes]) -> bytes:
    """Singer input: dicts as JSON lines, strings/bytes as given, each ending in a newline."""
    out = []
    for line in lines:
        if isinstance(line, bytes):
            out.append(line.rstrip(b"\n"))
        elif isinstance(line, str):
            out.append(line.rstrip("\n").encode())
        else:
            out.append(json.dumps(line).encode())
    return b"\n".join(out) + b"\n"


RunCli = Callable[..., CliResult]


def cli_runner(base: Path) -> RunCli:
    """``run(lines, config=None, root=None)``: run the CLI on ``lines``; the default root is
    a fresh directory under ``base`` (``config['local_path']`` wins when given)."""
    counter = iter(range(1_000_000))

    def run(
        lines: Iterable[Mapping[str, Any] | str | bytes] | bytes,
        config: Mapping[str, Any] | None = None,
        root: Path | None = None,
        extra_args: Iterable[str] = (),
    ) -> CliResult:
        config = dict(config or {})
        if root is None:
            root = Path(config["local_path"]) if "local_path" in config else None
        if root is None:
            root = base / f"out{next(counter)}"
        config.setdefault("local_path", str(root))
        config_file = base / f"config{next(counter)}.json"
        config_file.write_text(json.dumps(config))
        data = lines if isinstance(lines, bytes) else singer_text(lines)
        env = {k: v for k, v in os.environ.items() if not k.startswith("TARGET_ATHENA_ZUORA_")}
        completed = subprocess.run(
            [*target_command(), "--config", str(config_file), *extra_args],
            input=data,
            capture_output=True,
            timeout=CLI_TIMEOUT,
            check=False,
            env=env,
        )
        return CliResult(
            completed.returncode,
            completed.stdout.decode().splitlines(),
            completed.stderr.decode(),
            root,
        )

    return run


class LiveRun:
    """A CLI process being fed: its input written on demand, its output collected as it
    comes (each stdout line with the ``time.monotonic()`` it arrived)."""

    def __init__(self, command: list[str], root: Path, env: dict[str, str]) -> None:
        self.root = root
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        self.written = 0  # input bytes the process has taken (writes block on a full pipe)
        self.lines: list[tuple[float, str]] = []
        self._stderr: list[bytes] = []
        self._readers = [
            threading.Thread(target=self._read_stdout, daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append((time.monotonic(), line.decode()))

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._stderr.append(line)

    def write(self, data: bytes, piece: int = 1 << 16) -> bool:
        """Write ``data`` (blocking while the pipe is full); False if the process is gone."""
        stdin = self.process.stdin
        assert stdin is not None
        try:
            for start in range(0, len(data), piece):
                stdin.write(data[start : start + piece])
                stdin.flush()
                self.written += len(data[start : start + piece])
        except (BrokenPipeError, ValueError, OSError):
            return False
        return True

    def feed(self, data: bytes) -> threading.Thread:
        """Write ``data`` on a thread of its own, leaving the input open."""
        writer = threading.Thread(target=self.write, args=(data,), daemon=True)
        writer.start()
        return writer

    def close_input(self) -> None:
        """End of input."""
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()

    def send(self, signum: int) -> None:
        """Send ``signum`` to the process."""
        self.process.send_signal(signum)

    def stderr_so_far(self) -> str:
        """What the process wrote on stderr until now."""
        return b"".join(self._stderr).decode(errors="replace")

    def states_until(self, moment: float) -> list[Any]:
        """STATE values printed before ``moment`` (a ``time.monotonic()`` reading)."""
        return [json.loads(line) for at, line in self.lines if at <= moment and line.strip()]

    def wait(self, timeout: float = CLI_TIMEOUT) -> CliResult:
        """Wait for the exit; the whole run as a ``CliResult``."""
        try:
            self.process.wait(timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
        for reader in self._readers:
            reader.join(10)
        for pipe in (self.process.stdin, self.process.stdout, self.process.stderr):
            if pipe is not None:
                with contextlib.suppress(OSError):  # stdin's buffer into a closed pipe
                    pipe.close()
        stdout = [line.rstrip("\n") for _, line in self.lines]
        stderr = b"".join(self._stderr).decode(errors="replace")
        return CliResult(self.process.returncode, stdout, stderr, self.root)


StartCli = Callable[..., LiveRun]


@pytest.fixture
def start_cli(tmp_path: Path) -> Iterator[StartCli]:
    """``start_cli(config=None, root=None)``: a ``LiveRun`` of the CLI (killed at teardown
    if still running); outputs under ``tmp_path`` as with ``run_cli``."""
    runs: list[LiveRun] = []
    counter = iter(range(1_000_000))

    def start(config: Mapping[str, Any] | None = None, root: Path | None = None) -> LiveRun:
        config = dict(config or {})
        root = root or Path(config.get("local_path") or tmp_path / f"live{next(counter)}")
        config.setdefault("local_path", str(root))
        config_file = tmp_path / f"live-config{next(counter)}.json"
        config_file.write_text(json.dumps(config))
        env = {k: v for k, v in os.environ.items() if not k.startswith("TARGET_ATHENA_ZUORA_")}
        run = LiveRun([*target_command(), "--config", str(config_file)], root, env)
        runs.append(run)
        return run

    yield start
    for run in runs:
        if run.process.poll() is None:
            run.process.kill()
            run.process.wait()


@pytest.fixture
def run_cli(tmp_path: Path) -> RunCli:
    """Run the CLI with outputs under this test's ``tmp_path`` (see ``cli_runner``)."""
    return cli_runner(tmp_path)


@pytest.fixture(scope="module")
def run_cli_module(tmp_path_factory: pytest.TempPathFactory) -> RunCli:
    """Like ``run_cli``, for module-scoped fixtures that share one run between tests."""
    return cli_runner(tmp_path_factory.mktemp("cli"))


def view_table(root: Path, schema: str, model: str) -> pa.Table:
    """``SELECT * FROM <schema>.<model>`` in ``<root>/catalog.duckdb``, read-only."""
    with duckdb.connect(str(root / "catalog.duckdb"), read_only=True) as connection:
        result = connection.sql(f'SELECT * FROM "{schema}"."{model}"')  # noqa: S608 - names chosen by the test
        return result.to_arrow_table()


def part_paths(root: Path, schema: str = "zuora", model: str = "*") -> list[Path]:
    """Every Parquet part under ``<root>/<schema>/<model>/dt=*/``, sorted."""
    return sorted(root.glob(f"{schema}/{model}/dt=*/*.parquet"))


def parts_table(root: Path, schema: str, model: str) -> pa.Table:
    """Every part of a model read with pyarrow (each file alone, no hive ``dt`` column),
    concatenated in part order with columns unified (missing ones null)."""
    paths = sorted(
        part_paths(root, schema, model), key=lambda p: (p.parent.name, int(p.name.split("_")[0]))
    )
    tables = [pq.read_table(p) for p in paths]
    if not tables:
        raise AssertionError(f"no parts for {schema}.{model} under {root}")
    return pa.concat_tables(tables, promote_options="default")


@pytest.fixture
def read_view() -> Callable[[Path, str, str], pa.Table]:
    """``read_view(root, schema, model)``: the DuckDB view as an Arrow table."""
    return view_table


@pytest.fixture
def read_parts() -> Callable[[Path, str, str], pa.Table]:
    """``read_parts(root, schema, model)``: every part of a model read with pyarrow."""
    return parts_table


@pytest.fixture
def list_parts() -> Callable[..., list[Path]]:
    """``list_parts(root, schema='zuora', model='*')``: part paths, sorted."""
    return part_paths
