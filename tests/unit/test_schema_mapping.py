"""JSON Schema -> Arrow mapping rules (STYLE.md "Types", issue 2), as tables with ids."""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from target_athena_zuora.catalog.duckdb import duckdb_type
from target_athena_zuora.errors import SchemaError
from target_athena_zuora.glue_types import glue_type
from target_athena_zuora.records import Converter, Segment
from target_athena_zuora.schema import Kind, TypeOptions, map_stream, normalise
from target_athena_zuora.settings import Decimal

MS = pa.timestamp("ms", tz="UTC")
US = pa.timestamp("us", tz="UTC")
JSON_TEXT = pa.string()
DEFAULT = TypeOptions()


def column_type(spec: Any, options: TypeOptions = DEFAULT) -> pa.DataType:
    mapped = map_stream("S", {"properties": {"c": spec}}, None, options)
    assert mapped.arrow.names == ["c"]
    return mapped.arrow.field("c").type


TYPE_RULES: list[tuple[str, Any, pa.DataType]] = [
    # scalars
    ("string", {"type": "string"}, pa.string()),
    ("integer", {"type": "integer"}, pa.int64()),
    ("number", {"type": "number"}, pa.float64()),
    ("boolean", {"type": "boolean"}, pa.bool_()),
    ("date-time", {"type": "string", "format": "date-time"}, MS),
    ("date", {"type": "string", "format": "date"}, pa.date32()),
    ("time-is-string", {"type": "string", "format": "time"}, pa.string()),
    ("other-format-is-string", {"type": "string", "format": "email"}, pa.string()),
    # nullable unions, either order, and anyOf / oneOf with null
    ("nullable-type-first", {"type": ["string", "null"]}, pa.string()),
    ("nullable-null-first", {"type": ["null", "string"]}, pa.string()),
    ("nullable-integer", {"type": ["integer", "null"]}, pa.int64()),
    ("nullable-number-null-first", {"type": ["null", "number"]}, pa.float64()),
    ("nullable-boolean", {"type": ["boolean", "null"]}, pa.bool_()),
    (
        "nullable-date-time",
        {"type": ["string", "null"], "format": "date-time"},
        MS,
    ),
    ("nullable-date", {"type": ["null", "string"], "format": "date"}, pa.date32()),
    ("anyOf-null-last", {"anyOf": [{"type": "integer"}, {"type": "null"}]}, pa.int64()),
    (
        "anyOf-date-time-or-any-string-is-plain-string",
        {
            "anyOf": [
                {"type": "string", "format": "date-time"},
                {"type": ["string", "null"]},
            ]
        },
        pa.string(),
    ),
    ("anyOf-null-first", {"anyOf": [{"type": "null"}, {"type": "boolean"}]}, pa.bool_()),
    (
        "anyOf-date-time-and-null",
        {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]},
        MS,
    ),
    ("oneOf-with-null", {"oneOf": [{"type": "null"}, {"type": "number"}]}, pa.float64()),
    ("integer-or-number-is-number", {"type": ["integer", "number", "null"]}, pa.float64()),
    # nested
    (
        "object-with-properties-is-struct",
        {"type": "object", "properties": {"A": {"type": "integer"}, "b": {"type": "string"}}},
        pa.struct([pa.field("a", pa.int64()), pa.field("b", pa.string())]),
    ),
    (
        "nullable-object",
        {"type": ["null", "object"], "properties": {"x": {"type": ["number", "null"]}}},
        pa.struct([pa.field("x", pa.float64())]),
    ),
    (
        "nested-struct-names-normalised",
        {
            "type": "object",
            "properties": {
                "Inner": {"type": "object", "properties": {"SubId": {"type": "string"}}}
            },
        },
        pa.struct([pa.field("inner", pa.struct([pa.field("sub_id", pa.string())]))]),
    ),
    (
        "array-of-strings",
        {"type": "array", "items": {"type": "string"}},
        pa.list_(pa.field("item", pa.string())),
    ),
    (
        "nullable-array-of-nullable-integers",
        {"type": ["array", "null"], "items": {"type": ["integer", "null"]}},
        pa.list_(pa.field("item", pa.int64())),
    ),
    (
        "array-of-structs",
        {"type": "array", "items": {"type": "object", "properties": {"K": {"type": "boolean"}}}},
        pa.list_(pa.field("item", pa.struct([pa.field("k", pa.bool_())]))),
    ),
    (
        "array-of-date-times",
        {"type": "array", "items": {"type": "string", "format": "date-time"}},
        pa.list_(pa.field("item", MS)),
    ),
    # JSON text
    ("empty-schema-is-json", {}, JSON_TEXT),
    ("object-without-properties-is-json", {"type": "object"}, JSON_TEXT),
    ("object-with-empty-properties-is-json", {"type": "object", "properties": {}}, JSON_TEXT),
    ("nullable-object-without-properties-is-json", {"type": ["object", "null"]}, JSON_TEXT),
    ("array-without-items-is-json", {"type": "array"}, JSON_TEXT),
    ("array-with-empty-items-is-json", {"type": "array", "items": {}}, JSON_TEXT),
    ("multi-type-union-is-json", {"type": ["string", "integer"]}, JSON_TEXT),
    ("multi-type-union-with-null-is-json", {"type": ["null", "boolean", "string"]}, JSON_TEXT),
    (
        "anyOf-two-types-is-json",
        {
            "anyOf": [
                {"type": "string"},
                {"type": "object", "properties": {"a": {"type": "string"}}},
            ]
        },
        JSON_TEXT,
    ),
    ("null-only-is-json", {"type": "null"}, JSON_TEXT),
    ("null-only-list-is-json", {"type": ["null"]}, JSON_TEXT),
    (
        "array-item-untyped-is-list-of-json",
        {"type": "array", "items": {"type": ["string", "number"]}},
        pa.list_(pa.field("item", JSON_TEXT)),
    ),
]


@pytest.mark.parametrize(("spec", "expected"), [pytest.param(s, e, id=i) for i, s, e in TYPE_RULES])
def test_type_rule(spec: Any, expected: pa.DataType) -> None:
    assert column_type(spec) == expected


def _contains_null_type(arrow_type: pa.DataType) -> bool:
    if pa.types.is_null(arrow_type):
        return True
    if pa.types.is_struct(arrow_type):
        return any(_contains_null_type(f.type) for f in arrow_type)
    if pa.types.is_list(arrow_type):
        return _contains_null_type(arrow_type.value_type)
    return False


@pytest.mark.parametrize("spec", [pytest.param(s, id=i) for i, s, _ in TYPE_RULES])
def test_never_null_type_and_every_field_nullable(spec: Any) -> None:
    mapped = map_stream("S", {"properties": {"c": spec}}, None, DEFAULT)
    assert not _contains_null_type(mapped.arrow.field("c").type)
    assert mapped.arrow.field("c").nullable


OPTION_RULES: list[tuple[str, Any, TypeOptions, pa.DataType]] = [
    (
        "date-time-us",
        {"type": "string", "format": "date-time"},
        TypeOptions(timestamp_unit="us"),
        US,
    ),
    (
        "date-time-ms",
        {"type": ["null", "string"], "format": "date-time"},
        TypeOptions(timestamp_unit="ms"),
        MS,
    ),
    (
        "number-decimal",
        {"type": "number"},
        TypeOptions(decimal=Decimal(18, 2)),
        pa.decimal128(18, 2),
    ),
    (
        "number-decimal-38",
        {"type": ["number", "null"]},
        TypeOptions(decimal=Decimal(38, 9)),
        pa.decimal128(38, 9),
    ),
    (
        "integer-stays-int64-with-decimal",
        {"type": "integer"},
        TypeOptions(decimal=Decimal(18, 2)),
        pa.int64(),
    ),
    (
        "nested-number-decimal",
        {"type": "object", "properties": {"amt": {"type": "number"}}},
        TypeOptions(decimal=Decimal(10, 4)),
        pa.struct([pa.field("amt", pa.decimal128(10, 4))]),
    ),
]


@pytest.mark.parametrize(
    ("spec", "options", "expected"), [pytest.param(s, o, e, id=i) for i, s, o, e in OPTION_RULES]
)
def test_type_rule_with_options(spec: Any, options: TypeOptions, expected: pa.DataType) -> None:
    assert column_type(spec, options) == expected


NAMES = [
    ("InvoiceItem", "invoice_item"),
    ("UpdatedDate", "updated_date"),
    ("SKU", "sku"),
    ("BillToContactId", "bill_to_contact_id"),
    ("test:SpecialChars!in?attributes", "test_special_chars_in_attributes"),
    ("Id", "id"),
    ("already_snake", "already_snake"),
    ("clientName", "client_name"),
    ("HTTPResponseCode", "http_response_code"),
    ("RatePlanCharge", "rate_plan_charge"),
    ("agent:os:version", "agent_os_version"),
    ("Amount__c", "amount_c"),
    ("with space", "with_space"),
    ("MRR", "mrr"),
    ("Account2Id", "account2_id"),
]


@pytest.mark.parametrize(("source", "expected"), NAMES, ids=[s for s, _ in NAMES])
def test_normalise(source: str, expected: str) -> None:
    assert normalise(source) == expected


@pytest.mark.parametrize("source", [s for s, _ in NAMES] + ["_id", "9lives", "ÄÖÜ-x"])
def test_normalised_names_are_athena_safe(source: str) -> None:
    name = normalise(source)
    assert name
    assert all(c in "abcdefghijklmnopqrstuvwxyz0123456789_" for c in name)
    assert not name[0].isdigit()
    assert normalise(name) == name  # idempotent


def test_model_and_nested_names_normalised() -> None:
    mapped = map_stream(
        "InvoiceItem",
        {
            "properties": {
                "BillToContactId": {"type": "string"},
                "Details": {"type": "object", "properties": {"UnitPrice": {"type": "number"}}},
                "Tags": {
                    "type": "array",
                    "items": {"type": "object", "properties": {"TagName": {"type": "string"}}},
                },
            }
        },
        ["BillToContactId"],
        DEFAULT,
    )
    assert mapped.model == "invoice_item"
    assert mapped.stream == "InvoiceItem"
    assert mapped.arrow == pa.schema(
        [
            pa.field("bill_to_contact_id", pa.string()),
            pa.field("details", pa.struct([pa.field("unit_price", pa.float64())])),
            pa.field(
                "tags", pa.list_(pa.field("item", pa.struct([pa.field("tag_name", pa.string())])))
            ),
        ]
    )
    assert [c.source for c in mapped.key_properties] == ["BillToContactId"]
    assert [c.source for c in mapped.columns] == ["BillToContactId", "Details", "Tags"]


COLLISIONS = [
    (
        "top-level",
        {"UpdatedDate": {"type": "string"}, "updated_date": {"type": "string"}},
        ("UpdatedDate", "updated_date"),
    ),
    ("punctuation", {"a:b": {"type": "string"}, "a_b": {"type": "integer"}}, ("a:b", "a_b")),
    ("case", {"SKU": {"type": "string"}, "sku": {"type": "string"}}, ("SKU", "sku")),
    (
        "nested",
        {
            "d": {
                "type": "object",
                "properties": {"AgentType": {"type": "string"}, "agent:type": {"type": "string"}},
            }
        },
        ("AgentType", "agent:type"),
    ),
]


@pytest.mark.parametrize(
    ("properties", "names"), [pytest.param(p, n, id=i) for i, p, n in COLLISIONS]
)
def test_collision_is_an_error_naming_both(properties: Any, names: tuple[str, str]) -> None:
    with pytest.raises(SchemaError) as raised:
        map_stream("Invoice", {"properties": properties}, None, DEFAULT)
    message = str(raised.value)
    assert "Invoice" in message
    for name in names:
        assert name in message


INVALID = [
    ("no-properties", {"type": "object"}, None, "properties"),
    ("properties-not-object", {"properties": ["a"]}, None, "properties"),
    ("unknown-type", {"properties": {"Amount": {"type": "money"}}}, None, "Amount"),
    ("type-not-string-or-list", {"properties": {"Amount": {"type": 3}}}, None, "Amount"),
    ("empty-type-list", {"properties": {"Amount": {"type": []}}}, None, "Amount"),
    ("property-not-object", {"properties": {"Amount": "number"}}, None, "Amount"),
    ("anyOf-entry-not-object", {"properties": {"Amount": {"anyOf": ["number"]}}}, None, "Amount"),
    (
        "nested-unknown-type",
        {"properties": {"D": {"type": "object", "properties": {"X": {"type": "float"}}}}},
        None,
        "D.X",
    ),
    ("name-without-letters", {"properties": {"!!!": {"type": "string"}}}, None, "!!!"),
    ("key-not-in-schema", {"properties": {"Id": {"type": "string"}}}, ["AccountId"], "AccountId"),
]


@pytest.mark.parametrize(
    ("schema", "keys", "mentions"), [pytest.param(s, k, m, id=i) for i, s, k, m in INVALID]
)
def test_invalid_schema_is_an_error(schema: Any, keys: list[str] | None, mentions: str) -> None:
    with pytest.raises(SchemaError) as raised:
        map_stream("Invoice", schema, keys, DEFAULT)
    assert "Invoice" in str(raised.value)
    assert mentions in str(raised.value)


def test_stream_name_without_letters_is_an_error() -> None:
    with pytest.raises(SchemaError, match="stream"):
        map_stream("???", {"properties": {"a": {"type": "string"}}}, None, DEFAULT)


def test_types_come_from_the_schema_only_zuora_shape() -> None:
    """A tap-zuora SCHEMA: nullable types first, `{}` for unsupported, date as date-time."""
    mapped = map_stream(
        "Invoice",
        {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "Id": {"type": "string"},
                "Amount": {"type": ["number", "null"]},
                "InvoiceDate": {"type": ["string", "null"], "format": "date-time"},
                "Deleted": {"type": "boolean"},
                "Body": {},
                "SequenceNumber": {"type": ["integer", "null"]},
            },
        },
        ["Id"],
        DEFAULT,
    )
    assert mapped.arrow == pa.schema(
        [
            ("id", pa.string()),
            ("amount", pa.float64()),
            ("invoice_date", MS),
            ("deleted", pa.bool_()),
            ("body", pa.string()),
            ("sequence_number", pa.int64()),
        ]
    )


# --- type printers ----------------------------------------------------------------------

STRUCT = pa.struct([pa.field("a", pa.int64()), pa.field("b_c", pa.list_(pa.string()))])
PRINTED: list[tuple[str, pa.DataType, str, str]] = [
    ("int64", pa.int64(), "bigint", "BIGINT"),
    ("float64", pa.float64(), "double", "DOUBLE"),
    ("bool", pa.bool_(), "boolean", "BOOLEAN"),
    ("string", pa.string(), "string", "VARCHAR"),
    ("timestamp-ms", MS, "timestamp", "TIMESTAMPTZ"),
    ("timestamp-us", US, "timestamp", "TIMESTAMPTZ"),
    ("date", pa.date32(), "date", "DATE"),
    ("decimal", pa.decimal128(18, 2), "decimal(18,2)", "DECIMAL(18,2)"),
    ("decimal-38", pa.decimal128(38, 10), "decimal(38,10)", "DECIMAL(38,10)"),
    ("list", pa.list_(pa.int64()), "array<bigint>", "BIGINT[]"),
    ("list-of-decimal", pa.list_(pa.decimal128(9, 3)), "array<decimal(9,3)>", "DECIMAL(9,3)[]"),
    ("struct", STRUCT, "struct<a:bigint,b_c:array<string>>", 'STRUCT("a" BIGINT, "b_c" VARCHAR[])'),
    (
        "list-of-struct",
        pa.list_(pa.struct([pa.field("x", MS), pa.field("y", pa.date32())])),
        "array<struct<x:timestamp,y:date>>",
        'STRUCT("x" TIMESTAMPTZ, "y" DATE)[]',
    ),
    (
        "struct-of-struct",
        pa.struct([pa.field("s", STRUCT)]),
        "struct<s:struct<a:bigint,b_c:array<string>>>",
        'STRUCT("s" STRUCT("a" BIGINT, "b_c" VARCHAR[]))',
    ),
]


@pytest.mark.parametrize(
    ("arrow_type", "glue"), [pytest.param(a, g, id=i) for i, a, g, _ in PRINTED]
)
def test_glue_type(arrow_type: pa.DataType, glue: str) -> None:
    printed = glue_type(arrow_type)
    assert printed == glue
    assert " " not in printed


@pytest.mark.parametrize(
    ("arrow_type", "duck"), [pytest.param(a, d, id=i) for i, a, _, d in PRINTED]
)
def test_duckdb_type(arrow_type: pa.DataType, duck: str) -> None:
    assert duckdb_type(arrow_type) == duck


@pytest.mark.parametrize(
    ("arrow_type", "duck"), [pytest.param(a, d, id=i) for i, a, _, d in PRINTED]
)
def test_duckdb_type_is_what_duckdb_reads_from_parquet(
    arrow_type: pa.DataType, duck: str, tmp_path: Any
) -> None:
    """The printed DuckDB type is the type DuckDB itself reports for such a Parquet column."""
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"c": pa.array([None], type=arrow_type)}), path)
    with duckdb.connect() as connection:
        connection.execute("SET TimeZone = 'UTC'")
        described = connection.sql(f"DESCRIBE SELECT c FROM read_parquet('{path}')").fetchall()  # noqa: S608 - names chosen by the test
    # DESCRIBE prints struct field names unquoted when they need no quoting
    assert described[0][1].replace(" WITH TIME ZONE", "TZ") == duck.replace('"', "")


@pytest.mark.parametrize(
    "arrow_type", [pa.null(), pa.int32(), pa.binary(), pa.map_(pa.string(), pa.int64())], ids=str
)
def test_printers_reject_types_the_mapping_never_makes(arrow_type: pa.DataType) -> None:
    with pytest.raises(SchemaError):
        glue_type(arrow_type)
    with pytest.raises(SchemaError):
        duckdb_type(arrow_type)


def test_union_of_string_formats_lands_as_unquoted_text() -> None:
    """anyOf[date-time, string] (common in SDK taps) is plain text, not quoted JSON text."""
    spec = {"anyOf": [{"type": "string", "format": "date-time"}, {"type": ["string", "null"]}]}
    stream = map_stream("S", {"properties": {"When": spec}}, [], TypeOptions())
    assert stream.columns[0].kind is Kind.PLAIN
    line = b'{"type": "RECORD", "stream": "S", "record": {"When": "2024-01-02T03:04:05Z"}}'
    table = Converter(stream).convert([Segment(line, 1, [0])])
    assert table.column("when").to_pylist() == ["2024-01-02T03:04:05Z"]
