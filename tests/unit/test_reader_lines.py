"""The reader checks every STATE line of a chunk (not only the latest) and the UTF-8 of
every chunk, naming the first bad input line."""

from __future__ import annotations

from typing import Any

import pytest

from target_athena_zuora.errors import InputError
from target_athena_zuora.jsontext import MAX_DEPTH
from target_athena_zuora.reader import SHORTEST_TOO_DEEP_STATE, FastSingerReader, first_bad_utf8

RECORD = b'{"type": "RECORD", "stream": "Invoice", "record": {"Id": "a"}}'
STATE = b'{"type": "STATE", "value": {"bookmarks": {"Invoice": {"n": 1}}}}'


class Sink:
    """Takes a fast stream's RECORD lines."""

    stream_name = "Invoice"

    def __init__(self) -> None:
        self.taken: list[tuple[bytes, int, Any]] = []

    def take(self, data: bytes, first_line: int, offsets: Any) -> None:
        self.taken.append((data, first_line, list(offsets)))


def reader() -> tuple[FastSingerReader, Sink]:
    fast = FastSingerReader()
    sink = Sink()
    fast._current = sink  # type: ignore[assignment]
    fast._prefix = b'{"type": "RECORD", "stream": "Invoice", '
    return fast, sink


def deep_state(levels: int) -> bytes:
    """A STATE line nested ``levels`` deep (the message is level 1, its value level 2)."""
    arrays = levels - 2
    return b'{"type": "STATE", "value": {"x": ' + b"[" * arrays + b"]" * arrays + b"}}"


def test_a_chunk_of_records_and_good_states_is_taken_whole() -> None:
    fast, sink = reader()
    lines = [RECORD, STATE, RECORD, STATE, deep_state(MAX_DEPTH)]
    assert fast._whole_chunk(lines, 100)
    assert sink.taken == [(RECORD + b"\n" + RECORD, 101, [0, 2])]
    assert fast._pending_state == (lines[-1], 105)


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        (b'{"type": "STATE", "value": {"n": ', "not valid JSON"),
        (b'{"type": "STATE", "values": {}}', "STATE has no 'value'"),
        (b'{"type": "STATE", "value": 5}', "STATE 'value' must be an object, got 5"),
        (b'{"type": "STATE", "value": {"n": NaN}}', "NaN is not valid JSON (at value.n)"),
        (deep_state(MAX_DEPTH + 1), f"nested deeper than {MAX_DEPTH} levels"),
        (deep_state(2000), f"nested deeper than {MAX_DEPTH} levels"),
    ],
    ids=["not-json", "no-value", "value-not-object", "nan", "one-level-too-deep", "very-deep"],
)
def test_a_bad_state_fails_even_when_later_states_follow(bad: bytes, expected: str) -> None:
    fast, _ = reader()
    lines = [RECORD, STATE, RECORD, bad, RECORD, STATE, STATE]
    with pytest.raises(InputError) as raised:
        fast._whole_chunk(lines, 10)
    assert str(raised.value).startswith("input line 14: "), raised.value
    assert expected in str(raised.value)


def test_the_first_bad_state_is_named() -> None:
    fast, _ = reader()
    lines = [STATE, deep_state(MAX_DEPTH + 5), b'{"type": "STATE", "value": [', STATE]
    with pytest.raises(InputError, match=r"^input line 2: nested deeper"):
        fast._whole_chunk(lines, 0)


def test_short_state_lines_cannot_be_too_deep() -> None:
    compact = b'{"type":"STATE","value":{"":' + b"[" * (MAX_DEPTH - 1) + b"]" * (MAX_DEPTH - 1)
    assert len(compact + b"}}") == SHORTEST_TOO_DEEP_STATE
    fast, _ = reader()
    fast._state_prefix = b'{"type":"STATE"'
    with pytest.raises(InputError, match="nested deeper"):
        fast._whole_chunk([compact + b"}}"], 0)


def test_first_bad_utf8_line() -> None:
    assert first_bad_utf8(b"ascii\nonly\n") is None
    assert first_bad_utf8("caf\u00e9\nok\n".encode()) is None
    assert first_bad_utf8(b"ok\ncaf\xc3\nok\n") == 1
    assert first_bad_utf8(b"a\nb\nc\n\xff\n") == 3
