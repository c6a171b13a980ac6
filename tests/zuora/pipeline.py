"""The real tap-zuora 1.6.1, against ``FakeZuora``, piped into the target's CLI.

``ensure_tap_venv()``: the python of the tap's own virtualenv, ``<repo>/.venv-tap-zuora``,
created with the suite's interpreter from ``requirements-tap.txt`` the first time, and again
whenever that file or the interpreter changes.

``TapZuora.run(target_config, state=...)`` does what ``meltano run tap-zuora
target-athena-zuora`` does: discovers, selects every stream and field, then runs
``tap | tee | target`` as three OS processes joined by pipes (``tee`` keeps a copy of
everything the tap sent) and returns a ``PipelineRun``; its ``final_state`` (the target's last
STATE) is the ``state`` of the next run.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import fcntl
import itertools
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from target_cli import target_command

from zuora.data import START_DATE
from zuora.fake_api import FakeZuora, RecordedRequest, ServedFile

REPO = Path(__file__).parents[2]
TAP_VENV = REPO / ".venv-tap-zuora"
REQUIREMENTS = Path(__file__).with_name("requirements-tap.txt")
LAUNCHER = Path(__file__).with_name("run_tap.py")
INSTALL_TIMEOUT_S = 900
RUN_TIMEOUT_S = 300
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")

Json = dict[str, Any]


def ensure_tap_venv(venv: Path = TAP_VENV) -> Path:
    """The tap venv's python, creating the venv first when missing or out of date."""
    python = venv / "bin" / "python"
    stamp = venv / "requirements.stamp"
    wanted = f"{sys.version}\n{REQUIREMENTS.read_text()}"
    with _exclusive(venv.with_name(venv.name + ".lock")):
        if python.exists() and stamp.exists() and stamp.read_text() == wanted:
            return python
        shutil.rmtree(venv, ignore_errors=True)
        for command in (
            [sys.executable, "-m", "venv", str(venv)],
            [str(python), "-m", "pip", "install", "--quiet", "-r", str(REQUIREMENTS)],
        ):
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S, check=False
            )
            if done.returncode != 0:
                raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-4000:]}")
        stamp.write_text(wanted)
        return python


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """One pytest session at a time builds the venv (others wait, then reuse it)."""
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def select_all(catalog: Json) -> Json:
    """The catalog with every stream and every field selected, the way tap-zuora reads it:
    ``selected: true`` in each stream's ``breadcrumb: []`` metadata and in each field's
    (``automatic`` fields are queried anyway; ``unsupported`` ones are left alone)."""
    selected = copy.deepcopy(catalog)
    for stream in selected["streams"]:
        for entry in stream["metadata"]:
            metadata = entry["metadata"]
            if not entry["breadcrumb"] or metadata.get("inclusion") != "unsupported":
                metadata["selected"] = True
    return selected


@dataclasses.dataclass(frozen=True)
class PipelineRun:
    """A finished ``tap | tee | target`` run and what the fake saw during it."""

    workdir: Path
    tap_config: Json
    catalog: Json
    state_in: Json | None
    tap_returncode: int
    target_returncode: int
    tap_stderr: str
    target_stderr: str
    target_stdout: list[str]
    tap_output: list[str]
    requests: list[RecordedRequest]
    downloads: list[ServedFile]

    @property
    def ok(self) -> bool:
        return self.tap_returncode == 0 and self.target_returncode == 0

    def raise_for_failure(self) -> None:
        if not self.ok:
            raise AssertionError(
                f"tap exited {self.tap_returncode}, target exited {self.target_returncode} "
                f"(files in {self.workdir})\n--- tap stderr (tail) ---\n{self.tap_stderr[-3000:]}"
                f"\n--- target stderr (tail) ---\n{self.target_stderr[-3000:]}"
            )

    @property
    def tap_messages(self) -> list[Json]:
        """Every Singer message the tap wrote, parsed."""
        return [json.loads(line) for line in self.tap_output if line.strip()]

    @property
    def tap_states(self) -> list[Json]:
        return [m["value"] for m in self.tap_messages if m["type"] == "STATE"]

    @property
    def target_states(self) -> list[Json]:
        """Every STATE value the target printed on stdout, in order."""
        return [json.loads(line) for line in self.target_stdout if line.strip()]

    @property
    def final_state(self) -> Json | None:
        """The target's last STATE: what Meltano would store and hand to the next run."""
        states = self.target_states
        return states[-1] if states else None

    def records(self, stream: str) -> list[Json]:
        return [
            m["record"]
            for m in self.tap_messages
            if m["type"] == "RECORD" and m["stream"] == stream
        ]

    def schema(self, stream: str) -> Json:
        """The (last) SCHEMA the tap sent for ``stream``."""
        schemas = [
            m["schema"]
            for m in self.tap_messages
            if m["type"] == "SCHEMA" and m["stream"] == stream
        ]
        if not schemas:
            raise AssertionError(f"the tap sent no SCHEMA for {stream}")
        schema: Json = schemas[-1]
        return schema

    def start_bookmark(self, stream: str) -> str:
        """The ``UpdatedDate`` bookmark the tap started ``stream`` from (STATE or start_date)."""
        bookmark = ((self.state_in or {}).get("bookmarks") or {}).get(stream) or {}
        start: str = bookmark.get("UpdatedDate") or self.tap_config["start_date"]
        return start


class TapZuora:
    """Runs the real tap (via ``run_tap.py`` in its venv) against one ``FakeZuora``.

    ``poll_interval`` replaces the tap's 60 s between status checks of an unfinished export
    (``None`` keeps 60 s); it matters only when ``fake.delay_jobs`` is used.
    """

    def __init__(
        self, python: Path, fake: FakeZuora, workdir: Path, poll_interval: float | None = None
    ) -> None:
        self.python = python
        self.fake = fake
        self.workdir = workdir
        self.poll_interval = poll_interval
        self._counter = itertools.count(1)

    def config(self, **overrides: Any) -> Json:
        """A tap config for the fake: AQuA, OAuth, its credentials and partner id."""
        return {
            "username": self.fake.username,
            "password": self.fake.password,
            "partner_id": self.fake.partner_id,
            "api_type": "AQUA",
            "auth_type": "OAUTH",
            "start_date": START_DATE,
            **overrides,
        }

    @staticmethod
    def local_target(root: Path, schema: str = "zuora") -> Json:
        """A target config for the local destination under ``root``."""
        return {"local_path": str(root), "schema": schema}

    def tap_command(self, *tap_args: str) -> list[str]:
        poll = [] if self.poll_interval is None else ["--poll-interval", str(self.poll_interval)]
        return [str(self.python), str(LAUNCHER), self.fake.url, *poll, "--", *tap_args]

    def discover(self, config: Json | None = None) -> Json:
        """``tap-zuora --discover``: the catalog (raises with the tap's stderr on failure)."""
        directory = self._next_dir("discover")
        config_file = _write_json(directory / "tap.json", config or self.config())
        done = subprocess.run(
            self.tap_command("--config", str(config_file), "--discover"),
            capture_output=True,
            timeout=RUN_TIMEOUT_S,
            check=False,
            env=tap_env(),
        )
        (directory / "discover.stderr").write_bytes(done.stderr)
        if done.returncode != 0:
            raise AssertionError(
                f"tap-zuora --discover exited {done.returncode}:\n{done.stderr.decode()[-3000:]}"
            )
        catalog: Json = json.loads(done.stdout)
        return catalog

    def run(
        self,
        target_config: Json,
        *,
        config: Json | None = None,
        state: Json | None = None,
        catalog: Json | None = None,
        check: bool = True,
    ) -> PipelineRun:
        """Discover (unless ``catalog`` is given), select everything, and run
        ``tap --config --catalog [--state] | tee | target --config``."""
        config = config or self.config()
        catalog = catalog if catalog is not None else select_all(self.discover(config))
        directory = self._next_dir("run")
        tap_args = [
            "--config",
            str(_write_json(directory / "tap.json", config)),
            "--catalog",
            str(_write_json(directory / "catalog.json", catalog)),
        ]
        if state is not None:
            tap_args += ["--state", str(_write_json(directory / "state.json", state))]
        target_args = ["--config", str(_write_json(directory / "target.json", target_config))]
        requests_before, downloads_before = len(self.fake.requests), len(self.fake.downloads)
        returncodes, stdout = _pipeline(
            self.tap_command(*tap_args), [*target_command(), *target_args], directory
        )
        run = PipelineRun(
            workdir=directory,
            tap_config=config,
            catalog=catalog,
            state_in=state,
            tap_returncode=returncodes[0],
            target_returncode=returncodes[1],
            tap_stderr=_read(directory / "tap.stderr"),
            target_stderr=_read(directory / "target.stderr"),
            target_stdout=stdout.decode().splitlines(),
            tap_output=_read(directory / "tap.stdout").splitlines(),
            requests=self.fake.requests[requests_before:],
            downloads=self.fake.downloads[downloads_before:],
        )
        if check:
            run.raise_for_failure()
        return run

    def _next_dir(self, kind: str) -> Path:
        directory = self.workdir / f"{next(self._counter):02d}-{kind}"
        directory.mkdir(parents=True)
        return directory


def tap_env() -> dict[str, str]:
    """The environment without proxies (requests honours them even for 127.0.0.1)."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in PROXY_VARIABLES}
    env["NO_PROXY"] = "127.0.0.1,localhost"
    return env


def target_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("TARGET_ATHENA_ZUORA_")}


def _pipeline(tap: list[str], target: list[str], directory: Path) -> tuple[tuple[int, int], bytes]:
    """``tap | tee <dir>/tap.stdout | target``; stderr of each in ``<dir>/<name>.stderr``.
    Returns the tap's and the target's exit codes and the target's stdout."""
    with contextlib.ExitStack() as stack:
        tap_err = stack.enter_context((directory / "tap.stderr").open("wb"))
        tee_err = stack.enter_context((directory / "tee.stderr").open("wb"))
        target_err = stack.enter_context((directory / "target.stderr").open("wb"))
        tap_process = subprocess.Popen(tap, stdout=subprocess.PIPE, stderr=tap_err, env=tap_env())
        processes = [tap_process]
        try:
            tee = subprocess.Popen(
                ["tee", str(directory / "tap.stdout")],
                stdin=tap_process.stdout,
                stdout=subprocess.PIPE,
                stderr=tee_err,
            )
            processes.append(tee)
            target_process = subprocess.Popen(
                target,
                stdin=tee.stdout,
                stdout=subprocess.PIPE,
                stderr=target_err,
                env=target_env(),
            )
            processes.append(target_process)
            for pipe in (tap_process.stdout, tee.stdout):  # the children hold their own ends
                if pipe is not None:
                    pipe.close()
            stdout, _ = target_process.communicate(timeout=RUN_TIMEOUT_S)
            tap_process.wait(timeout=RUN_TIMEOUT_S)
            tee.wait(timeout=RUN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"tap | target did not finish within {RUN_TIMEOUT_S} s (files in {directory})"
            ) from None
        finally:
            for process in processes:
                if process.poll() is None:
                    process.kill()
                process.wait()
                if process.stdout is not None:
                    process.stdout.close()
        return (tap_process.returncode, target_process.returncode), stdout


def _write_json(path: Path, value: Mapping[str, Any]) -> Path:
    path.write_text(json.dumps(value, indent=1))
    return path


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
