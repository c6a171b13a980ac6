"""The batch conversion refuses what is not JSON or not Unicode wherever it reads, and the
per-record path's lines (``dumps_record`` of ``loads_record``) fail with the same message."""

from __future__ import annotations

from typing import Any

import pytest

from target_athena_zuora.errors import RecordError
from target_athena_zuora.jsontext import loads_record
from target_athena_zuora.records import Converter, Segment, dumps_record
from target_athena_zuora.schema import TypeOptions, map_stream

PROPERTIES: dict[str, Any] = {
    "Id": {"type": "string"},
    "Amount": {"type": ["number", "null"]},
    "Tiers": {"type": "array", "items": {"type": "number"}},
    "BillTo": {"type": "object", "properties": {"Zip": {"type": "integer"}, "Lat": {}}},
    "Custom": {},
}
GOOD = b'{"Id": "a", "Amount": 1.5, "Tiers": [1, 2], "BillTo": {"Zip": 1}, "Custom": "x"}'


def converter() -> Converter:
    return Converter(map_stream("Invoice", {"properties": PROPERTIES}, ["Id"], TypeOptions()))


def raw_line(record_text: bytes, tail: bytes = b"") -> bytes:
    return b'{"type": "RECORD", "stream": "Invoice", "record": ' + record_text + tail + b"}"


def convert_lines(lines: list[bytes], first_line: int = 10) -> Any:
    segment = Segment(b"\n".join(lines), first_line, list(range(len(lines))))
    return converter().convert([segment])


def fast_error(bad: bytes) -> str:
    """The error of a batch whose third line is ``bad`` (a whole RECORD line)."""
    with pytest.raises(RecordError) as raised:
        convert_lines([raw_line(GOOD), raw_line(GOOD), bad, raw_line(GOOD)])
    return str(raised.value)


def plain_error(bad: bytes) -> str:
    """The same line through the per-record path: parsed for the SDK, written back."""
    record = loads_record(bad).value["record"]
    with pytest.raises(RecordError) as raised:
        converter().convert([Segment(dumps_record(record), 12, [0])])
    return str(raised.value)


BAD: list[tuple[str, bytes, str]] = [
    ("nan-number", raw_line(b'{"Id": "b", "Amount": NaN}'), "field Amount, input line 12: NaN"),
    ("infinity-in-list", raw_line(b'{"Id": "b", "Tiers": [1, Infinity]}'), "field Tiers[1]"),
    ("nan-in-struct", raw_line(b'{"Id": "b", "BillTo": {"Zip": NaN}}'), "field BillTo.Zip"),
    ("nan-in-json-text", raw_line(b'{"Id": "b", "Custom": {"x": NaN}}'), "field Custom.x"),
    ("nan-undeclared", raw_line(b'{"Id": "b", "Extra": NaN}'), "field Extra, input line 12: NaN"),
    ("nan-envelope", raw_line(b'{"Id": "b"}', b', "version": NaN'), "NaN is not valid JSON (at v"),
    ("out-of-range", raw_line(b'{"Id": "b", "Amount": -1e999}'), "number -1e999 is out of range"),
    ("big-int-in-float", raw_line(b'{"Id": "b", "Amount": 1' + b"0" * 320 + b"}"), "out of range"),
    ("surrogate", raw_line(b'{"Id": "b\\udfff"}'), 'field Id, input line 12: "b\\udfff" holds'),
    (
        "too-deep-json-text",
        raw_line(b'{"Id": "b", "Custom": ' + b"[" * 70 + b"]" * 70 + b"}"),
        "64",
    ),
    ("too-deep-undeclared", raw_line(b'{"Id": "b", "X": ' + b"[" * 70 + b"]" * 70 + b"}"), "64"),
]


@pytest.mark.parametrize(("bad", "expected"), [pytest.param(b, e, id=i) for i, b, e in BAD])
def test_refused_with_stream_field_and_line(bad: bytes, expected: str) -> None:
    message = fast_error(bad)
    assert message.startswith("stream Invoice, "), message
    assert "input line 12" in message
    assert expected in message, message


REPEATED: list[tuple[str, bytes, str]] = [
    ("top", b'{"Id": "b", "Amount": 1, "Amount": 2}', "field Amount, input line 12: key 'Amount'"),
    ("nested", b'{"Id": "b", "BillTo": {"Zip": 1, "Zip": 2}}', "field BillTo.Zip, input line 12"),
    ("json-text", b'{"Id": "b", "Custom": {"k": [{"q": 1, "q": 2}]}}', "field Custom.k[0].q,"),
    ("json-in-struct", b'{"Id": "b", "BillTo": {"Lat": {"a": 1, "a": 1}}}', "field BillTo.Lat.a"),
]


@pytest.mark.parametrize(("bad", "expected"), [pytest.param(b, e, id=i) for i, b, e in REPEATED])
def test_repeated_keys_same_error_on_both_paths(bad: bytes, expected: str) -> None:
    fast = fast_error(raw_line(bad))
    assert expected in fast, fast
    assert "appears twice in one object" in fast
    assert plain_error(raw_line(bad)) == fast


def test_repeated_key_where_nothing_is_read_is_ignored_on_both_paths() -> None:
    """A field the SCHEMA does not declare is never read: its repeats do not matter."""
    line = raw_line(b'{"Id": "b", "Extra": {"k": 1, "k": 2}}')
    assert convert_lines([raw_line(GOOD), line]).num_rows == 2
    record = loads_record(line).value["record"]
    assert converter().convert([Segment(dumps_record(record), 1, [0])]).num_rows == 1


def test_repeated_key_in_json_text_when_another_record_makes_the_batch_per_record() -> None:
    lines = [
        raw_line(b'{"Id": "a", "Custom": {"a": 1}}'),
        raw_line(b'{"Id": "b", "Amount": 1, "Amount": 2}'),
    ]
    with pytest.raises(RecordError, match=r"field Amount, input line 11: key 'Amount'"):
        convert_lines(lines)


def test_undeclared_keys_switch_to_lenient_reads_with_line_checks() -> None:
    conv = converter()
    good = [raw_line(GOOD, b', "time_extracted": "t"'), raw_line(GOOD)]
    assert conv.convert([Segment(b"\n".join(good), 1, [0, 1])]).num_rows == 2
    assert not conv._undeclared  # declared envelope keys only
    extra = [raw_line(b'{"Id": "c", "Extra": [1]}'), raw_line(GOOD, b', "other": 1')]
    assert conv.convert([Segment(b"\n".join(extra), 3, [0, 1])]).num_rows == 2
    assert conv._undeclared
    bad = [raw_line(GOOD), raw_line(b'{"Id": "d", "Extra": [NaN]}')]
    with pytest.raises(RecordError, match=r"field Extra\[0\], input line 6: NaN"):
        conv.convert([Segment(b"\n".join(bad), 5, [0, 1])])


def test_repeated_undeclared_envelope_key_is_refused() -> None:
    line = raw_line(b'{"Id": "b"}', b', "other": 1, "other": 2')
    message = fast_error(line)
    assert message == "stream Invoice, input line 12: key 'other' appears twice in one object"


def test_finite_numbers_and_nan_text_pass() -> None:
    lines = [
        raw_line(b'{"Id": "a", "Amount": 1.7976931348623157e308, "Custom": "NaN"}'),
        raw_line(b'{"Id": "b", "Amount": 1.7976931348623157e308, "Tiers": [1e308, 1e308]}'),
    ]
    table = convert_lines(lines)
    assert table.column("amount").to_pylist() == [1.7976931348623157e308] * 2
    assert table.column("custom").to_pylist() == ['"NaN"', None]


def test_repeated_stream_refused_in_lenient_reads_too() -> None:
    line = raw_line(b'{"Id": "b", "Extra": 1}', b', "stream": "Payment"')
    message = fast_error(line)
    assert message == "stream Invoice, input line 12: key 'stream' appears twice in one object"
