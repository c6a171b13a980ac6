"""Record conversion: values as Arrow holds them, and errors naming stream, field and line."""

from __future__ import annotations

import datetime as dt
import decimal
import json
from typing import Any

import pyarrow as pa
import pytest

from target_athena_zuora.errors import RecordError
from target_athena_zuora.records import Converter, Segment, dumps_record
from target_athena_zuora.schema import TypeOptions, map_stream
from target_athena_zuora.settings import Decimal

UTC = dt.UTC


def convert(
    properties: dict[str, Any],
    records: list[Any],
    *,
    options: TypeOptions | None = None,
    keys: list[str] | None = None,
    first_line: int = 1,
    stream: str = "Invoice",
) -> pa.Table:
    """Records as RECORD lines of one segment starting at input line ``first_line``."""
    schema = map_stream(stream, {"properties": properties}, keys, options or TypeOptions())
    lines = [
        json.dumps({"type": "RECORD", "stream": stream, "record": r}).encode() for r in records
    ]
    segment = Segment(b"\n".join(lines), first_line, list(range(len(lines))))
    return Converter(schema).convert([segment])


def one_column(spec: dict[str, Any], values: list[Any], **kw: Any) -> list[Any]:
    table = convert({"c": spec}, [{"c": v} for v in values], **kw)
    values_back: list[Any] = table.column("c").to_pylist()
    return values_back


DATE_TIME = {"type": ["string", "null"], "format": "date-time"}
US = TypeOptions(timestamp_unit="us")

TIMESTAMPS: list[tuple[str, str, TypeOptions, dt.datetime]] = [
    (
        "zulu-micro",
        "2024-01-31T12:34:56.123456Z",
        US,
        dt.datetime(2024, 1, 31, 12, 34, 56, 123456, UTC),
    ),
    (
        "zulu-micro-truncated-to-ms",
        "2024-01-31T12:34:56.123456Z",
        TypeOptions(),
        dt.datetime(2024, 1, 31, 12, 34, 56, 123000, UTC),
    ),
    ("offset-minus-8", "2024-01-31T20:00:00-08:00", US, dt.datetime(2024, 2, 1, 4, 0, tzinfo=UTC)),
    (
        "offset-plus-0530",
        "2024-01-31T05:30:00+05:30",
        US,
        dt.datetime(2024, 1, 31, 0, 0, tzinfo=UTC),
    ),
    (
        "offset-plus-00",
        "2024-01-31T05:30:00+00:00",
        US,
        dt.datetime(2024, 1, 31, 5, 30, tzinfo=UTC),
    ),
    ("bare-date-midnight-utc", "2024-01-31", US, dt.datetime(2024, 1, 31, tzinfo=UTC)),
    (
        "nanoseconds",
        "2024-01-31T00:00:00.123456789Z",
        US,
        dt.datetime(2024, 1, 31, 0, 0, 0, 123456, UTC),
    ),
    (
        "nanoseconds-with-offset",
        "2024-01-31T00:00:00.1234567+01:00",
        US,
        dt.datetime(2024, 1, 30, 23, 0, 0, 123456, UTC),
    ),
    ("no-zone-is-utc", "2024-01-31T10:11:12", US, dt.datetime(2024, 1, 31, 10, 11, 12, tzinfo=UTC)),
    (
        "space-separator",
        "2024-01-31 10:11:12Z",
        US,
        dt.datetime(2024, 1, 31, 10, 11, 12, tzinfo=UTC),
    ),
    (
        "far-future",
        "9999-12-31T23:59:59.999Z",
        TypeOptions(),
        dt.datetime(9999, 12, 31, 23, 59, 59, 999000, UTC),
    ),
    ("epoch-before", "1900-01-01T00:00:00Z", TypeOptions(), dt.datetime(1900, 1, 1, tzinfo=UTC)),
    ("zuora-date-far-future", "9999-12-31", US, dt.datetime(9999, 12, 31, tzinfo=UTC)),
    (  # truncation is toward the past, also before 1970 (floor, as DuckDB and Python do)
        "pre-epoch-sub-ms-truncated-down",
        "1969-01-01T00:00:00.000001+00:00",
        TypeOptions(),
        dt.datetime(1969, 1, 1, tzinfo=UTC),
    ),
    (
        "pre-epoch-micro",
        "1969-12-31T23:59:59.999999Z",
        US,
        dt.datetime(1969, 12, 31, 23, 59, 59, 999999, UTC),
    ),
]


@pytest.mark.parametrize(
    ("text", "options", "expected"), [pytest.param(t, o, e, id=i) for i, t, o, e in TIMESTAMPS]
)
def test_date_time_values_in_utc(text: str, options: TypeOptions, expected: dt.datetime) -> None:
    table = convert({"c": DATE_TIME}, [{"c": text}], options=options)
    assert table.schema.field("c").type == pa.timestamp(options.timestamp_unit, tz="UTC")
    assert table.column("c").to_pylist() == [expected]


def test_truncation_is_the_floor_whether_or_not_a_batch_reaches_before_1970() -> None:
    after = ["2024-01-31T12:34:56.999999Z", "1970-01-01T00:00:00.000999Z", None]
    assert one_column(DATE_TIME, after) == [
        dt.datetime(2024, 1, 31, 12, 34, 56, 999000, UTC),
        dt.datetime(1970, 1, 1, tzinfo=UTC),
        None,
    ]
    both = [*after, "1969-12-31T23:59:59.999999Z"]
    assert one_column(DATE_TIME, both)[1:] == [
        dt.datetime(1970, 1, 1, tzinfo=UTC),
        None,
        dt.datetime(1969, 12, 31, 23, 59, 59, 999000, UTC),
    ]
    assert one_column(DATE_TIME, [None, None]) == [None, None]


def test_date_time_mixed_forms_in_one_batch() -> None:
    values = ["2024-01-31T12:00:00Z", "2024-01-31", "2024-01-31T04:00:00-08:00", None]
    got = one_column(DATE_TIME, values, options=US)
    noon = dt.datetime(2024, 1, 31, 12, tzinfo=UTC)
    assert got == [noon, dt.datetime(2024, 1, 31, tzinfo=UTC), noon, None]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-02-29", dt.date(2024, 2, 29)),
        ("9999-12-31", dt.date(9999, 12, 31)),
        ("0001-01-01", dt.date(1, 1, 1)),
    ],
    ids=["leap-day", "9999-12-31", "year-1"],
)
def test_date_values(text: str, expected: dt.date) -> None:
    assert one_column({"type": "string", "format": "date"}, [text, None]) == [expected, None]


def convert_raw(properties: dict[str, Any], raw_records: list[bytes], **kw: Any) -> pa.Table:
    """Records given as raw JSON text (so numbers keep every digit)."""
    options = kw.pop("options", TypeOptions())
    schema = map_stream("Invoice", {"properties": properties}, None, options)
    lines = [b'{"type": "RECORD", "stream": "Invoice", "record": ' + r + b"}" for r in raw_records]
    return Converter(schema).convert([Segment(b"\n".join(lines), 1, list(range(len(lines))))])


def test_decimals_are_exact() -> None:
    raw = [
        b'{"c": 0.1}',
        b'{"c": 12.5}',
        b'{"c": 123456789012345678.123456789}',
        b'{"c": -0.000000001}',
        b'{"c": 7}',
        b'{"c": 99999999999999999999999999999.999999999}',
        b'{"c": null}',
    ]
    table = convert_raw(
        {"c": {"type": ["number", "null"]}}, raw, options=TypeOptions(decimal=Decimal(38, 9))
    )
    assert table.schema.field("c").type == pa.decimal128(38, 9)
    assert table.column("c").to_pylist() == [
        decimal.Decimal("0.1"),
        decimal.Decimal("12.5"),
        decimal.Decimal("123456789012345678.123456789"),
        decimal.Decimal("-0.000000001"),
        decimal.Decimal(7),
        decimal.Decimal("99999999999999999999999999999.999999999"),
        None,
    ]


def test_int64_bounds() -> None:
    raw = [b'{"c": 9223372036854775807}', b'{"c": -9223372036854775808}']
    table = convert_raw({"c": {"type": "integer"}}, raw)
    assert table.column("c").to_pylist() == [2**63 - 1, -(2**63)]


def test_decimal_with_too_many_decimals_is_an_error() -> None:
    with pytest.raises(RecordError, match=r"stream Invoice, field Amount, input line 2"):
        convert(
            {"Amount": {"type": "number"}},
            [{"Amount": 1.25}, {"Amount": 1.255}],
            options=TypeOptions(decimal=Decimal(10, 2)),
        )


def test_scalars() -> None:
    table = convert(
        {
            "Id": {"type": "string"},
            "Amount": {"type": ["number", "null"]},
            "Quantity": {"type": ["integer", "null"]},
            "Deleted": {"type": "boolean"},
        },
        [
            {"Id": "a", "Amount": 12.5, "Quantity": 9007199254740993, "Deleted": False},
            {"Id": "b", "Amount": 3, "Quantity": -1, "Deleted": True},
            {"Id": "c", "Deleted": False},
        ],
    )
    assert table.to_pylist() == [
        {"id": "a", "amount": 12.5, "quantity": 9007199254740993, "deleted": False},
        {"id": "b", "amount": 3.0, "quantity": -1, "deleted": True},
        {"id": "c", "amount": None, "quantity": None, "deleted": False},
    ]


def test_floats_exact() -> None:
    values = [0.1, 1e-300, 1.7976931348623157e308, -2.5, 123456789.123456789]
    assert one_column({"type": "number"}, values) == values


def test_json_text_columns() -> None:
    values = [{"a": 1, "b": [True, None]}, [1, "x"], "plain", 3, 2.5, False, None]
    got = one_column({}, values)
    assert got[-1] is None
    assert [json.loads(v) for v in got[:-1]] == values[:-1]


def test_json_text_of_strings_only_batch_is_json() -> None:
    """A JSON-text column whose batch holds only strings still stores JSON text."""
    values = ['say "hi"', "back\\slash", "tab\there", "ünïcødé"]
    got = one_column({"type": "object"}, values)
    assert [json.loads(v) for v in got] == values


def test_nested_struct_and_list_names_and_values() -> None:
    table = convert(
        {
            "Info": {
                "type": ["object", "null"],
                "properties": {
                    "ShipTo": {"type": "string"},
                    "At": {"type": "string", "format": "date-time"},
                    "Extra": {},
                },
            },
            "Lines": {
                "type": "array",
                "items": {"type": "object", "properties": {"Qty": {"type": "integer"}}},
            },
        },
        [
            {
                "Info": {"ShipTo": "x", "At": "2024-01-01T01:00:00+01:00", "Extra": {"k": 1}},
                "Lines": [{"Qty": 1}, {"Qty": None}],
            },
            {"Info": None, "Lines": []},
            {},
        ],
    )
    rows = table.to_pylist()
    assert rows[0]["info"]["ship_to"] == "x"
    assert rows[0]["info"]["at"] == dt.datetime(2024, 1, 1, tzinfo=UTC)
    assert json.loads(rows[0]["info"]["extra"]) == {"k": 1}
    assert rows[0]["lines"] == [{"qty": 1}, {"qty": None}]
    assert rows[1] == {"info": None, "lines": []}
    assert rows[2] == {"info": None, "lines": None}


def test_result_schema_is_the_mapped_schema() -> None:
    properties = {
        "A": {"type": "integer"},
        "B": {"type": "object", "properties": {"C": {"type": "string"}}},
    }
    table = convert(properties, [{"A": 1, "B": {"C": "x"}}])
    assert (
        table.schema == map_stream("Invoice", {"properties": properties}, None, TypeOptions()).arrow
    )


def test_unknown_fields_are_ignored() -> None:
    assert convert({"Id": {"type": "string"}}, [{"Id": "a", "Other": 1}]).to_pylist() == [
        {"id": "a"}
    ]


def test_empty_batch() -> None:
    schema = map_stream("S", {"properties": {"a": {"type": "string"}}}, None, TypeOptions())
    table = Converter(schema).convert([])
    assert table.num_rows == 0
    assert table.schema == schema.arrow


def test_dumps_record_matches_fast_path() -> None:
    """The SDK path serialises records (Decimal, datetime) into lines the fast path reads."""
    record = {"Amount": decimal.Decimal("0.10"), "At": dt.datetime(2024, 1, 1, 5, tzinfo=UTC)}
    line = dumps_record(record)
    schema = map_stream(
        "S",
        {
            "properties": {
                "Amount": {"type": "number"},
                "At": {"type": "string", "format": "date-time"},
            }
        },
        None,
        TypeOptions(),
    )
    table = Converter(schema).convert([Segment(line, 1, [0])])
    assert table.to_pylist() == [{"amount": 0.1, "at": dt.datetime(2024, 1, 1, 5, tzinfo=UTC)}]


# --- errors: what, where (stream, field, input line) ------------------------------------

ERRORS: list[tuple[str, dict[str, Any], Any, str, str]] = [
    ("string-for-number", {"Amount": {"type": "number"}}, {"Amount": "12,50"}, "Amount", '"12,50"'),
    ("float-for-integer", {"Qty": {"type": "integer"}}, {"Qty": 1.5}, "Qty", "1.5"),
    (
        "string-for-boolean",
        {"Deleted": {"type": "boolean"}},
        {"Deleted": "yes"},
        "Deleted",
        '"yes"',
    ),
    ("number-for-string", {"Name": {"type": "string"}}, {"Name": 5}, "Name", "5"),
    (
        "bad-date-time",
        {"UpdatedDate": DATE_TIME},
        {"UpdatedDate": "yesterday"},
        "UpdatedDate",
        "yesterday",
    ),
    (
        "bad-month",
        {"UpdatedDate": DATE_TIME},
        {"UpdatedDate": "2024-13-01T00:00:00Z"},
        "UpdatedDate",
        "2024-13-01",
    ),
    (
        "bad-date",
        {"D": {"type": "string", "format": "date"}},
        {"D": "31/01/2024"},
        "D",
        "31/01/2024",
    ),
    ("integer-overflow", {"Qty": {"type": "integer"}}, {"Qty": 2**63}, "Qty", str(2**63)),
    (
        "scalar-for-object",
        {"O": {"type": "object", "properties": {"a": {"type": "string"}}}},
        {"O": 3},
        "O",
        "3",
    ),
    (
        "nested-field",
        {"O": {"type": "object", "properties": {"Qty": {"type": "integer"}}}},
        {"O": {"Qty": "x"}},
        "O.Qty",
        '"x"',
    ),
    (
        "list-item",
        {"L": {"type": "array", "items": {"type": "integer"}}},
        {"L": [1, "two"]},
        "L[1]",
        '"two"',
    ),
    (
        "object-for-array",
        {"L": {"type": "array", "items": {"type": "integer"}}},
        {"L": {"a": 1}},
        "L",
        "{",
    ),
]


@pytest.mark.parametrize(
    ("properties", "bad", "field", "shown"),
    [pytest.param(p, b, f, s, id=i) for i, p, b, f, s in ERRORS],
)
def test_error_names_stream_field_and_line(
    properties: dict[str, Any], bad: Any, field: str, shown: str
) -> None:
    good = dict.fromkeys(properties)
    records = [good] * 6 + [bad] + [good] * 3
    with pytest.raises(RecordError) as raised:
        convert(properties, records, first_line=100)
    message = str(raised.value)
    assert message.startswith(f"stream Invoice, field {field}, input line 106: expected ")
    assert f"got {shown}" in message or shown in message.split("got", 1)[1]
    assert "\n" not in message


def test_error_reports_the_first_bad_line() -> None:
    records = [{"Qty": 1}] * 3 + [{"Qty": "a"}] + [{"Qty": 2}] + [{"Qty": "b"}]
    with pytest.raises(RecordError, match=r"field Qty, input line 4:"):
        convert({"Qty": {"type": "integer"}}, records)


def test_error_line_numbers_across_segments() -> None:
    schema = map_stream(
        "Invoice", {"properties": {"Qty": {"type": "integer"}}}, None, TypeOptions()
    )
    good = b'{"type":"RECORD","stream":"Invoice","record":{"Qty":1}}'
    bad = b'{"type":"RECORD","stream":"Invoice","record":{"Qty":"x"}}'
    segments = [
        Segment(b"\n".join([good, good]), 10, [0, 2]),  # lines 10, 12 (a STATE was at 11)
        Segment(b"\n".join([good, bad]), 20, [0, 3]),  # lines 20, 23
    ]
    with pytest.raises(RecordError, match=r"stream Invoice, field Qty, input line 23:"):
        Converter(schema).convert(segments)


def test_missing_key_property_names_stream_field_and_line() -> None:
    records = [{"Id": "a"}, {"Id": "b"}, {"Other": 1}]
    with pytest.raises(RecordError) as raised:
        convert(
            {"Id": {"type": "string"}, "Other": {"type": "integer"}},
            records,
            keys=["Id"],
            first_line=7,
        )
    assert str(raised.value).startswith("stream Invoice, field Id, input line 9:")


def test_null_key_property_is_an_error() -> None:
    with pytest.raises(RecordError, match=r"field Id, input line 2:"):
        convert({"Id": {"type": ["string", "null"]}}, [{"Id": "a"}, {"Id": None}], keys=["Id"])


def test_record_not_an_object_is_an_error() -> None:
    schema = map_stream("Invoice", {"properties": {"Id": {"type": "string"}}}, None, TypeOptions())
    lines = [
        b'{"type":"RECORD","stream":"Invoice","record":{"Id":"a"}}',
        b'{"type":"RECORD","stream":"Invoice","record":[1]}',
    ]
    with pytest.raises(RecordError, match=r"stream Invoice, input line 6"):
        Converter(schema).convert([Segment(b"\n".join(lines), 5, [0, 1])])


def test_error_with_json_text_column_present() -> None:
    """The per-record path (taken when a JSON-text column holds non-strings) also pinpoints."""
    records = [{"Body": {"a": 1}, "Qty": 1}, {"Body": [1], "Qty": "x"}]
    with pytest.raises(RecordError, match=r"field Qty, input line 2:"):
        convert({"Body": {}, "Qty": {"type": "integer"}}, records)


def test_error_shows_a_huge_integer_as_sent() -> None:
    """An integer beyond 64 bits is shown as sent, not as a rounded float."""
    with pytest.raises(RecordError) as raised:
        convert_raw({"Qty": {"type": "integer"}}, [b'{"Qty": 18446744073709551616}'])
    assert str(raised.value).endswith("got 18446744073709551616")


def test_error_names_the_bad_field_not_a_valid_decimal_before_it() -> None:
    """With number_type decimal, values read exactly (Decimal) still fit their column."""
    properties = {
        "Id": {"type": "string"},
        "Amount": {"type": "number"},
        "Qty": {"type": "integer"},
    }
    stream = map_stream("Invoice", {"properties": properties}, ["Id"], TypeOptions(Decimal(18, 2)))
    line = b'{"type": "RECORD", "record": {"Id": "a", "Amount": 1.5, "Qty": "x"}}'
    with pytest.raises(RecordError) as raised:
        Converter(stream).convert([Segment(line, 7, [0])])
    assert (
        str(raised.value) == 'stream Invoice, field Qty, input line 7: expected an integer, got "x"'
    )
