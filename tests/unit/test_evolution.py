"""The one rule for a table's columns over time (``evolution.merge_schemas``), which the
DuckDB and Glue catalogs both apply: union in first-seen order, struct fields appended at
every depth (in lists too), nothing dropped, a changed type refused."""

from __future__ import annotations

import pyarrow as pa
import pytest

from target_athena_zuora.errors import SchemaError
from target_athena_zuora.evolution import merge_schemas
from target_athena_zuora.glue_types import arrow_type, glue_type


def s(*fields: tuple[str, pa.DataType]) -> pa.Schema:
    return pa.schema([pa.field(n, t) for n, t in fields])


def test_first_schema_is_taken_as_is() -> None:
    new = s(("id", pa.string()))
    assert merge_schemas("invoice", None, new) == new


def test_added_columns_are_appended_and_none_dropped() -> None:
    old = s(("id", pa.string()), ("amount", pa.float64()))
    new = s(("id", pa.string()), ("status", pa.string()))
    assert merge_schemas("invoice", old, new) == s(
        ("id", pa.string()), ("amount", pa.float64()), ("status", pa.string())
    )


def test_struct_fields_are_merged_additively() -> None:
    old = s(("d", pa.struct([pa.field("a", pa.int64())])))
    new = s(("d", pa.struct([pa.field("b", pa.string()), pa.field("a", pa.int64())])))
    merged = merge_schemas("invoice", old, new)
    assert merged == s(("d", pa.struct([pa.field("a", pa.int64()), pa.field("b", pa.string())])))


@pytest.mark.parametrize(
    ("old", "new", "old_text", "new_text"),
    [
        (pa.int64(), pa.string(), "bigint", "string"),
        (pa.float64(), pa.decimal128(18, 2), "double", "decimal(18,2)"),
        (pa.timestamp("ms", tz="UTC"), pa.date32(), "timestamp", "date"),
        (pa.struct([pa.field("a", pa.int64())]), pa.string(), "struct<a:bigint>", "string"),
        (pa.list_(pa.int64()), pa.list_(pa.string()), "array<bigint>", "array<string>"),
    ],
    ids=[
        "bigint-to-string",
        "double-to-decimal",
        "timestamp-to-date",
        "struct-to-string",
        "list-items",
    ],
)
def test_type_change_is_an_error_naming_column_and_both_types(
    old: pa.DataType, new: pa.DataType, old_text: str, new_text: str
) -> None:
    with pytest.raises(SchemaError) as raised:
        merge_schemas("invoice", s(("id", pa.string()), ("amount", old)), s(("amount", new)))
    message = str(raised.value)
    assert "invoice" in message
    assert "amount" in message
    assert old_text in message
    assert new_text in message


def test_nested_type_change_is_an_error() -> None:
    old = s(("d", pa.struct([pa.field("a", pa.int64())])))
    new = s(("d", pa.struct([pa.field("a", pa.string())])))
    with pytest.raises(SchemaError, match="bigint"):
        merge_schemas("invoice", old, new)


@pytest.mark.parametrize(
    ("old", "new", "merged"),
    [
        ("string", "string", "string"),
        ("bigint", "string", None),
        ("decimal(18,2)", "decimal(18,4)", None),
        ("struct<x:string>", "struct<x:string,y:bigint>", "struct<x:string,y:bigint>"),
        ("struct<x:string>", "struct<x:bigint>", None),
        ("struct<x:string,y:bigint>", "struct<x:string>", "struct<x:string,y:bigint>"),
        (
            "struct<x:string,z:bigint>",
            "struct<y:date,x:string>",
            "struct<x:string,z:bigint,y:date>",
        ),
        (
            "struct<x:struct<a:bigint>>",
            "struct<x:struct<b:date,a:bigint>>",
            "struct<x:struct<a:bigint,b:date>>",
        ),
        ("struct<x:struct<a:bigint>>", "struct<x:struct<a:double>>", None),
        (
            "array<struct<a:string>>",
            "array<struct<b:boolean,a:string>>",
            "array<struct<a:string,b:boolean>>",
        ),
        ("array<string>", "array<bigint>", None),
        ("array<string>", "string", None),
        ("timestamp", "timestamp", "timestamp"),
    ],
    ids=str,
)
def test_rule_on_glue_types(old: str, new: str, merged: str | None) -> None:
    """New fields go to the end at every depth; fields are never dropped; a type change is
    refused — the rule Athena needs (struct fields matched by position)."""
    current = pa.schema([pa.field("c", arrow_type(old, "ms"))])
    incoming = pa.schema([pa.field("c", arrow_type(new, "ms"))])
    if merged is None:
        with pytest.raises(SchemaError, match="column c"):
            merge_schemas("zuora.t", current, incoming)
    else:
        assert glue_type(merge_schemas("zuora.t", current, incoming).field("c").type) == merged


def test_timestamp_units_are_one_type() -> None:
    """A unit change between runs (timestamp_precision) is not a type change for readers."""
    current = pa.schema([pa.field("t", pa.timestamp("ms", tz="UTC"))])
    incoming = pa.schema([pa.field("t", pa.timestamp("us", tz="UTC"))])
    assert merge_schemas("zuora.t", current, incoming) == current


def test_a_column_no_longer_sent_stays_in_place() -> None:
    current = pa.schema([("id", pa.string()), ("deleted", pa.bool_()), ("amount", pa.float64())])
    incoming = pa.schema([("id", pa.string()), ("amount", pa.float64()), ("new", pa.int64())])
    merged = merge_schemas("zuora.t", current, incoming)
    assert merged.names == ["id", "deleted", "amount", "new"]
