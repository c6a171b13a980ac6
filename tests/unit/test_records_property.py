"""Property: any generated schema + conforming records round-trip through the Converter,
a Parquet file, and back (pyarrow and DuckDB) with the same values.

Each generated column carries its JSON Schema, a strategy for conforming values, and the
value we expect to read back for a given input (computed independently of the target:
date-times in UTC truncated to the configured unit, names in lower snake_case, JSON text
for untyped columns). Numbers travel as JSON text written here, so floats and decimals are
compared exactly.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from target_athena_zuora.records import Converter, Segment
from target_athena_zuora.schema import TypeOptions, map_stream
from target_athena_zuora.settings import Decimal

MISSING = object()


@dataclass(frozen=True)
class Col:
    """A generated column: its JSON Schema, conforming values, and the expected read-back."""

    spec: dict[str, Any]
    values: st.SearchStrategy[Any]
    expect: Callable[[Any, TypeOptions], Any]
    nullable: bool


def _same(value: Any, _: TypeOptions) -> Any:
    return value


def _utc(value: str, options: TypeOptions) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    parsed = parsed.astimezone(dt.UTC)
    if options.timestamp_unit == "ms":
        parsed = parsed.replace(microsecond=parsed.microsecond // 1000 * 1000)
    return parsed


def _date(value: str, _: TypeOptions) -> dt.date:
    return dt.date.fromisoformat(value)


def _number(value: Any, options: TypeOptions) -> Any:
    if options.decimal is None:
        return float(value)
    return decimal.Decimal(value)


def _json_text(value: Any, _: TypeOptions) -> Any:
    return ("json", value)  # compared after json.loads of what was read back


_offsets = st.integers(-12 * 4, 14 * 4).map(lambda q: dt.timezone(dt.timedelta(minutes=15 * q)))
_datetimes = st.datetimes(
    min_value=dt.datetime(1902, 1, 1), max_value=dt.datetime(9998, 12, 31), timezones=_offsets
)
_date_time_text = st.one_of(
    _datetimes.map(lambda d: d.isoformat()),  # +hh:mm offsets, 0 or 6 fraction digits
    _datetimes.map(lambda d: d.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")),  # tap-zuora
    st.dates(dt.date(1902, 1, 1), dt.date(9998, 12, 31)).map(lambda d: d.isoformat()),  # bare date
)
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)
_texts = st.text(max_size=12)  # any unicode, control characters included


def _scalar(options: TypeOptions) -> st.SearchStrategy[Col]:
    numbers: st.SearchStrategy[Any]
    if options.decimal is None:
        numbers = st.floats(allow_nan=False, allow_infinity=False).map(repr)
    else:
        numbers = st.decimals(
            min_value=-(10**12),
            max_value=10**12,
            places=options.decimal.scale,
            allow_nan=False,
            allow_infinity=False,
        ).map(str)
    return st.sampled_from(
        [
            Col({"type": "string"}, _texts, _same, False),
            Col({"type": "integer"}, st.integers(-(2**63), 2**63 - 1), _same, False),
            Col({"type": "number"}, numbers.map(RawNumber), lambda v, o: _number(v.text, o), False),
            Col({"type": "boolean"}, st.booleans(), _same, False),
            Col({"type": "string", "format": "date-time"}, _date_time_text, _utc, False),
            Col(
                {"type": "string", "format": "date"},
                st.dates().map(lambda d: d.isoformat()),
                _date,
                False,
            ),
            Col({}, _json_values, _json_text, True),
            Col(
                {"type": "object"},
                st.dictionaries(st.text(max_size=4), _json_values, max_size=3),
                _json_text,
                False,
            ),
        ]
    )


@dataclass(frozen=True)
class RawNumber:
    """A number kept as its JSON text, so every digit reaches the target."""

    text: str


NAMES = [
    "Id",
    "AccountId",
    "UpdatedDate",
    "Amount",
    "SKU",
    "clientName",
    "x",
    "Status2",
    "BillToContactId",
    "agent:type",
]


def _snake(name: str) -> str:  # the expected column names for the pool above
    return {
        "Id": "id",
        "AccountId": "account_id",
        "UpdatedDate": "updated_date",
        "Amount": "amount",
        "SKU": "sku",
        "clientName": "client_name",
        "x": "x",
        "Status2": "status2",
        "BillToContactId": "bill_to_contact_id",
        "agent:type": "agent_type",
    }[name]


def _nullable(col: Col, draw: st.DrawFn) -> Col:
    if col.nullable or not draw(st.booleans()):
        return col
    style = draw(st.sampled_from(["first", "last", "anyOf"]))
    spec = dict(col.spec)
    if style == "anyOf":
        spec = {
            "anyOf": [{"type": "null"}, spec] if draw(st.booleans()) else [spec, {"type": "null"}]
        }
    else:
        types = [spec["type"], "null"] if style == "last" else ["null", spec["type"]]
        spec["type"] = types
    return Col(spec, col.values, col.expect, True)


@st.composite
def columns(draw: st.DrawFn, options: TypeOptions, depth: int = 0) -> Col:
    kind = draw(st.sampled_from(["scalar"] * 4 + (["object", "array"] if depth < 2 else [])))
    if kind == "scalar":
        return _nullable(draw(_scalar(options)), draw)
    if kind == "array":
        item = draw(columns(options, depth + 1))
        if not item.spec:  # items unconstrained: the whole array is JSON text
            return Col(
                {"type": "array", "items": {}}, st.lists(item.values, max_size=3), _json_text, False
            )
        return _nullable(
            Col(
                {"type": "array", "items": item.spec},
                st.lists(_value_or_null(item), max_size=3),
                lambda v, o: [None if x is None else item.expect(x, o) for x in v],
                False,
            ),
            draw,
        )
    fields = draw(
        st.dictionaries(st.sampled_from(NAMES), columns(options, depth + 1), min_size=1, max_size=3)
    )
    return _nullable(
        Col(
            {"type": "object", "properties": {n: c.spec for n, c in fields.items()}},
            _records(fields),
            lambda v, o: _expect_record(fields, v, o),
            False,
        ),
        draw,
    )


def _value_or_null(col: Col) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), col.values) if col.nullable else col.values


@st.composite
def _record(draw: st.DrawFn, fields: dict[str, Col]) -> dict[str, Any]:
    record = {}
    for name, col in fields.items():
        if draw(st.integers(0, 5)) == 0:
            continue  # absent: read back as null
        record[name] = draw(_value_or_null(col))
    return record


def _records(fields: dict[str, Col]) -> st.SearchStrategy[dict[str, Any]]:
    return _record(fields)


def _expect_record(
    fields: dict[str, Col], record: dict[str, Any], options: TypeOptions
) -> dict[str, Any]:
    out = {}
    for name, col in fields.items():
        value = record.get(name)
        out[_snake(name)] = None if value is None else col.expect(value, options)
    return out


def dumps(value: Any) -> str:
    """JSON text with ``RawNumber`` written verbatim."""
    if isinstance(value, RawNumber):
        return value.text
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(dumps(v) for v in value) + "]"
    return json.dumps(value)


def plain(value: Any) -> Any:
    """Input value as JSON-compatible Python (for comparing JSON-text columns)."""
    if isinstance(value, RawNumber):
        return json.loads(value.text)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def same(expected: Any, actual: Any) -> bool:
    """Compare an expectation with a read-back value; ``("json", v)`` matches JSON text of v."""
    if isinstance(expected, tuple) and expected[:1] == ("json",):
        return isinstance(actual, str) and json.loads(actual) == plain(expected[1])
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and expected.keys() == actual.keys()
            and all(same(v, actual[k]) for k, v in expected.items())
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(expected) == len(actual)
            and all(same(e, a) for e, a in zip(expected, actual, strict=True))
        )
    if isinstance(expected, float):
        return type(actual) is float and (actual == expected)
    if isinstance(expected, dt.datetime):
        return (
            isinstance(actual, dt.datetime)
            and actual == expected
            and actual.utcoffset() == dt.timedelta(0)
        )
    return type(actual) is type(expected) and actual == expected


OPTIONS = st.sampled_from(
    [TypeOptions(), TypeOptions(timestamp_unit="us"), TypeOptions(decimal=Decimal(38, 4))]
)


@st.composite
def cases(draw: st.DrawFn) -> tuple[TypeOptions, dict[str, Col], list[dict[str, Any]]]:
    options = draw(OPTIONS)
    fields = draw(st.dictionaries(st.sampled_from(NAMES), columns(options), min_size=1, max_size=5))
    records = draw(st.lists(_record(fields), min_size=1, max_size=8))
    return options, fields, records


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(case=cases())
def test_round_trip_through_parquet_pyarrow_and_duckdb(
    case: tuple[TypeOptions, dict[str, Col], list[dict[str, Any]]], tmp_path: Path
) -> None:
    options, fields, records = case
    json_schema = {"type": "object", "properties": {n: c.spec for n, c in fields.items()}}
    stream = map_stream("Invoice", json_schema, None, options)
    lines = [
        f'{{"type": "RECORD", "stream": "Invoice", "record": {dumps(r)}}}'.encode() for r in records
    ]
    table = Converter(stream).convert([Segment(b"\n".join(lines), 1, list(range(len(lines))))])
    assert table.schema == stream.arrow

    path = tmp_path / "part.parquet"
    path.unlink(missing_ok=True)
    pq.write_table(table, path)
    expected = [_expect_record(fields, r, options) for r in records]

    from_arrow = pq.read_table(path)
    assert from_arrow.schema == stream.arrow
    for want, got in zip(expected, from_arrow.to_pylist(), strict=True):
        assert same(want, got), (want, got)

    with duckdb.connect() as connection:
        connection.execute("SET TimeZone = 'UTC'")
        result = connection.sql(f"SELECT * FROM read_parquet('{path}')")  # noqa: S608 - names chosen by the test
        names = result.columns
        rows = [dict(zip(names, row, strict=True)) for row in result.fetchall()]
    for want, got in zip(expected, rows, strict=True):
        assert same(want, got), (want, got)
