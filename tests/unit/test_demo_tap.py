"""The demo tap (demo/tap-zuora-sample) behaves like tap-zuora's AQuA mode across runs.

First run: the bundled sample. Each later run, given the previous run's STATE: per stream,
the bookmarked row again plus the next round of the change log (updated, new and
soft-deleted rows), with STATE shaped as tap-zuora writes it (see shared/ZUORA.md).
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import io
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # no stubs installed
import pytest
from file_modules import import_file

REPO = Path(__file__).parents[2]
DEMO_ROOT = REPO / "demo" / "tap-zuora-sample"
PACKAGE = DEMO_ROOT / "tap_zuora_sample"
SAMPLE = PACKAGE / "sample.singer"
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
STREAMS = ("Account", "Invoice", "InvoiceItem", "Subscription")
TAP_MAIN = (  # the console script's code, run from the demo's folder
    f"import sys; sys.path.insert(0, {str(DEMO_ROOT)!r}); "
    "import tap_zuora_sample; tap_zuora_sample.main()"
)


def tap() -> ModuleType:
    """The demo tap, imported from its folder (it is installed in Meltano's venv, not ours)."""
    return import_file("tap_zuora_sample", PACKAGE)


def history() -> ModuleType:
    tap()
    return importlib.import_module("tap_zuora_sample.history")


def run_tap(tmp_path: Path, state: dict[str, Any] | None = None, **config: Any) -> str:
    args: list[str] = []
    if state is not None:
        state_file = tmp_path / "state.json"
        state_file.write_text(json.dumps(state))
        args += ["--state", str(state_file)]
    if config:
        config_file = tmp_path / "config.json"
        config_file.write_text(json.dumps(config))
        args += ["--config", str(config_file)]
    out = io.StringIO()
    assert tap().run(args, out) == 0
    return out.getvalue()


def messages(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def records(text: str, stream: str) -> list[dict[str, Any]]:
    return [m["record"] for m in messages(text) if m["type"] == "RECORD" and m["stream"] == stream]


def final_state(text: str) -> dict[str, Any]:
    state: dict[str, Any] = [m for m in messages(text) if m["type"] == "STATE"][-1]["value"]
    return state


@functools.cache
def schemas() -> dict[str, dict[str, Any]]:
    found = {}
    for line in SAMPLE.read_text(encoding="utf-8").splitlines():
        message = json.loads(line)
        if message["type"] == "SCHEMA":
            found[message["stream"]] = message["schema"]
    return found


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Six runs in a row, each given the final STATE of the one before (run 1: none)."""
    tmp = tmp_path_factory.mktemp("runs")
    outputs = [run_tap(tmp)]
    for _ in range(5):
        outputs.append(run_tap(tmp, final_state(outputs[-1])))
    return outputs


@pytest.mark.parametrize("state", [None, {}, {"bookmarks": {}}], ids=["none", "empty", "no-bm"])
def test_first_run_is_the_sample_byte_for_byte(tmp_path: Path, state: Any) -> None:
    assert run_tap(tmp_path, state) == SAMPLE.read_text(encoding="utf-8")


@pytest.mark.parametrize("stream", STREAMS)
def test_second_run_sends_the_bookmarked_row_and_round_one(runs: list[str], stream: str) -> None:
    sample = records(runs[0], stream)
    sent = records(runs[1], stream)
    assert sent[0] == sample[-1], "AQuA filters UpdatedDate >= bookmark: the last row again"
    changes = history().changes(stream, 1)
    assert sent[1:] == [change.row for change in changes]
    assert Counter(change.kind for change in changes) == {"updated": 3, "new": 2, "deleted": 1}
    sample_ids = {r["Id"] for r in sample}
    for change in changes:
        assert (change.row["Id"] in sample_ids) is (change.kind != "new"), change
        assert change.row["Deleted"] is (change.kind == "deleted"), change
        assert change.row["UpdatedDate"] > sample[-1]["UpdatedDate"]


@pytest.mark.parametrize("stream", STREAMS)
def test_each_later_run_finds_the_next_round(runs: list[str], stream: str) -> None:
    for number in range(2, len(runs)):
        previous, sent = records(runs[number - 1], stream), records(runs[number], stream)
        assert sent[0] == previous[-1], f"run {number + 1} starts with the bookmarked row"
        assert sent[1:] == [c.row for c in history().changes(stream, number)], number
        bookmark = final_state(runs[number - 1])["bookmarks"][stream]["UpdatedDate"]
        assert all(r["UpdatedDate"] >= bookmark for r in sent)


def test_an_updated_row_changes_what_the_change_log_says(runs: list[str]) -> None:
    before = {r["Id"]: r for r in records(runs[0], "Invoice")}
    for change in history().changes("Invoice", 1):
        if change.kind == "updated":
            old = before[change.row["Id"]]
            differing = {k for k in old if old[k] != change.row[k]}
            assert "UpdatedDate" in differing
            assert differing - {"UpdatedDate"}, "an update changes a value, not only the date"


def test_state_is_shaped_as_tap_zuoras(runs: list[str]) -> None:
    for text in runs[1:]:
        sent = messages(text)
        assert sent[0]["type"] == "STATE"
        assert sent[0]["value"]["current_stream"] == "Account"
        assert [m["stream"] for m in sent if m["type"] == "SCHEMA"] == list(STREAMS)
        for index, message in enumerate(sent):
            if message["type"] == "STATE":
                bookmarks = message["value"]["bookmarks"]
                assert set(bookmarks) == set(STREAMS)
                for bookmark in bookmarks.values():
                    assert set(bookmark) == {"version", "UpdatedDate", "file_ids"}
                    assert bookmark["version"] == 1736148600
            if message["type"] == "RECORD":
                after = sent[index + 1]
                assert after["type"] == "STATE", "a STATE after every record"
                bookmark = after["value"]["bookmarks"][message["stream"]]
                assert bookmark["UpdatedDate"] == message["record"]["UpdatedDate"]
                assert bookmark["file_ids"] == []
        assert sent[-1]["value"]["current_stream"] is None
        assert all(b["file_ids"] is None for b in sent[-1]["value"]["bookmarks"].values())


def test_a_stream_submits_an_export_file_before_its_rows(runs: list[str]) -> None:
    sent = messages(runs[1])
    schema_at = next(i for i, m in enumerate(sent) if m.get("stream") == "Invoice")
    submitted = sent[schema_at + 1]["value"]["bookmarks"]["Invoice"]["file_ids"]
    assert isinstance(submitted, list)
    assert len(submitted) == 1
    assert re.fullmatch(r"[0-9a-f]{32}", submitted[0])


@pytest.mark.parametrize("stream", STREAMS)
def test_records_conform_to_the_sample_schema(runs: list[str], stream: str) -> None:
    validator = jsonschema.Draft7Validator(schemas()[stream])
    properties = schemas()[stream]["properties"]
    for text in runs[1:]:
        for record in records(text, stream):
            validator.validate(record)
            assert re.fullmatch(r"[0-9a-f]{32}", record["Id"])
            for name, value in record.items():
                if properties[name].get("format") == "date-time" and value is not None:
                    assert DATETIME.match(value), (name, value)
        extracted = {m["time_extracted"] for m in messages(text) if m["type"] == "RECORD"}
        assert len(extracted) == 1


def test_ids_and_numbers_of_new_rows_are_unique(runs: list[str]) -> None:
    ids = [r["Id"] for text in runs for r in records(text, "Account")]
    numbers = {r["Id"]: r["AccountNumber"] for text in runs for r in records(text, "Account")}
    assert len(set(numbers.values())) == len(numbers) == len(set(ids))


def test_a_deleted_row_is_never_changed_again(runs: list[str]) -> None:
    deleted: set[str] = set()
    for round_ in range(1, 8):
        for change in history().changes("Subscription", round_):
            assert change.row["Id"] not in deleted
            if change.kind == "deleted":
                deleted.add(change.row["Id"])
    assert len(deleted) == 7


def test_a_stream_without_bookmark_starts_from_the_sample(tmp_path: Path, runs: list[str]) -> None:
    state = final_state(runs[1])
    del state["bookmarks"]["Invoice"]
    sent = run_tap(tmp_path, state)
    assert records(sent, "Invoice") == records(runs[0], "Invoice")
    assert records(sent, "Account")[1:] == [c.row for c in history().changes("Account", 2)]


def test_same_state_same_bytes_in_a_fresh_process(tmp_path: Path, runs: list[str]) -> None:
    state_file = tmp_path / "state.json"
    state_file.write_text(json.dumps(final_state(runs[2])))
    completed = subprocess.run(
        [sys.executable, "-c", TAP_MAIN, "--state", str(state_file)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert completed.stdout == runs[3]


def test_records_limit_applies_to_every_run(tmp_path: Path, runs: list[str]) -> None:
    first = run_tap(tmp_path, records_limit=2)
    assert Counter(m["stream"] for m in messages(first) if m["type"] == "RECORD") == dict.fromkeys(
        STREAMS, 2
    )
    later = run_tap(tmp_path, final_state(runs[0]), records_limit=3)
    assert records(later, "Invoice") == records(runs[1], "Invoice")[:3]


def test_about() -> None:
    out = io.StringIO()
    assert tap().run(["--about"], out) == 0
    assert out.getvalue().startswith("tap-zuora-sample ")


def test_a_state_that_is_not_an_object_is_refused(tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    state_file.write_text("[1, 2]")
    with pytest.raises(SystemExit, match="must hold a JSON object"):
        tap().run(["--state", str(state_file)], io.StringIO())


@pytest.mark.parametrize("state", [False, True], ids=["first-run", "incremental"])
def test_closed_pipe_stops_quietly(tmp_path: Path, runs: list[str], state: bool) -> None:
    """The reader (a target stopped on a bad setting) closes the pipe: no traceback, exit 141."""
    args = []
    if state:
        # Only Account bookmarked: the other streams send the whole sample again, so the
        # output is far larger than a pipe's buffer and the tap must meet the closed pipe.
        bookmarks = final_state(runs[0])["bookmarks"]
        state_file = tmp_path / "state.json"
        state_file.write_text(json.dumps({"bookmarks": {"Account": bookmarks["Account"]}}))
        args = ["--state", str(state_file)]
    with subprocess.Popen(
        [sys.executable, "-c", TAP_MAIN, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        assert process.stdout.readline().startswith(b'{"type": "STATE"')
        process.stdout.close()
        stderr = process.stderr.read()
        returncode = process.wait(timeout=60)
    assert stderr == b""
    assert returncode == tap().EXIT_CLOSED_PIPE == 141
