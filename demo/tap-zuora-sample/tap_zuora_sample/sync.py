"""The Singer messages of one run, in the order and shape tap-zuora 1.6.1 (AQuA) writes them.

Per stream: a STATE naming it ``current_stream``, its SCHEMA, a STATE with the export's
``file_ids``, then every RECORD followed by a STATE whose bookmark is that record's
``UpdatedDate``, and two STATEs closing the file (``file_ids`` ``[]``, then ``null``). A
final STATE has ``current_stream: null``. Bookmarks: ``{"version", "UpdatedDate",
"file_ids"}`` per stream; lines are ``json.dumps`` of the message (singer-python's format).
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from tap_zuora_sample import history

START_DATE = "2020-01-01T00:00:00Z"  # the bookmark of a stream never synced (tap's start_date)


def first_run(limit: int | None) -> Iterator[str]:
    """A run without STATE: the bundled sample as it is (at most ``limit`` RECORDs each)."""
    return limit_records(history.sample().lines, limit)


def limit_records(lines: Iterable[str], limit: int | None) -> Iterator[str]:
    """Drop RECORDs past ``limit`` per stream, and the per-record STATE that follows each."""
    if limit is None:
        yield from lines
        return
    counts: dict[str, int] = {}
    skipping = False
    for line in lines:
        message = json.loads(line)
        if message["type"] == "RECORD":
            stream = message["stream"]
            counts[stream] = counts.get(stream, 0) + 1
            skipping = counts[stream] > limit
        elif message["type"] == "STATE" and skipping:
            skipping = False
            continue
        else:
            skipping = False
        if not skipping:
            yield line


def has_bookmarks(state: Mapping[str, Any] | None) -> bool:
    """True when ``state`` carries at least one stream bookmark (a run after the first)."""
    return bool(state and isinstance(state.get("bookmarks"), dict) and state["bookmarks"])


def incremental_run(state: Mapping[str, Any], limit: int | None) -> Iterator[str]:
    """A run after ``state``: per stream, what the export after its bookmark returns."""
    value: dict[str, Any] = {
        "bookmarks": copy.deepcopy(dict(state.get("bookmarks") or {})),
        "current_stream": None,
    }
    bookmarks: dict[str, dict[str, Any]] = value["bookmarks"]
    for stream in history.STREAMS:
        bookmark = bookmarks.setdefault(
            stream, {"version": history.sample().version, "UpdatedDate": START_DATE}
        )
        since = bookmark.get("UpdatedDate")
        round_ = history.horizon(since)
        rows = history.export(stream, since)[:limit]
        value["current_stream"] = stream
        yield _state_line(value)
        yield history.sample().schema_lines[stream] + "\n"
        bookmark["file_ids"] = [_file_id(stream, round_)]
        yield _state_line(value)
        bookmark["file_ids"] = []  # the tap pops the file id before streaming its rows
        extracted = history.time_extracted(round_)
        for row in rows:
            yield _record_line(stream, row, extracted)
            bookmark["UpdatedDate"] = row["UpdatedDate"]
            yield _state_line(value)
        yield _state_line(value)
        bookmark["file_ids"] = None
        yield _state_line(value)
    value["current_stream"] = None
    yield _state_line(value)


def run_lines(state: Mapping[str, Any] | None, limit: int | None) -> Iterator[str]:
    """Every line of a run given the STATE Meltano passed (``None`` or ``{}``: the first)."""
    if state is not None and has_bookmarks(state):
        return incremental_run(state, limit)
    return first_run(limit)


def _file_id(stream: str, round_: int) -> str:
    return hashlib.sha256(f"tap-zuora-sample:file:{stream}:{round_}".encode()).hexdigest()[:32]


def _state_line(value: Mapping[str, Any]) -> str:
    return json.dumps({"type": "STATE", "value": value}) + "\n"


def _record_line(stream: str, row: Mapping[str, Any], extracted: str) -> str:
    message = {"type": "RECORD", "stream": stream, "record": row, "time_extracted": extracted}
    return json.dumps(message) + "\n"
