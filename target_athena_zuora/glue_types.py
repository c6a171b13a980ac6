"""Arrow -> Glue/Hive type strings (what Athena sees), printed from the one Arrow schema."""

from __future__ import annotations

import json
import re
from typing import Any

import pyarrow as pa

from target_athena_zuora.catalog import PARTITION_KEY, TableDefinition
from target_athena_zuora.errors import SchemaError

_SIMPLE = {
    pa.int64(): "bigint",
    pa.float64(): "double",
    pa.bool_(): "boolean",
    pa.string(): "string",
    pa.large_string(): "string",
    pa.date32(): "date",
}


def glue_type(arrow_type: pa.DataType) -> str:
    """Print ``arrow_type`` as a Glue column type: ``struct<a:bigint>``, ``decimal(18,2)``..."""
    if arrow_type in _SIMPLE:
        return _SIMPLE[arrow_type]
    if pa.types.is_timestamp(arrow_type):
        return "timestamp"
    if pa.types.is_decimal(arrow_type):
        return f"decimal({arrow_type.precision},{arrow_type.scale})"
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return f"array<{glue_type(arrow_type.value_type)}>"
    if pa.types.is_struct(arrow_type):
        fields = ",".join(f"{f.name}:{glue_type(f.type)}" for f in arrow_type)
        return f"struct<{fields}>"
    msg = f"no Glue type for Arrow type {arrow_type}"
    raise SchemaError(msg)


def glue_columns(schema: pa.Schema) -> list[dict[str, str]]:
    """Glue ``Columns`` for every field of ``schema``."""
    return [{"Name": f.name, "Type": glue_type(f.type)} for f in schema]


_PARSED = {text: arrow for arrow, text in _SIMPLE.items() if arrow != pa.large_string()}
_TOKEN = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*|\d+|[<>(),:])")


def arrow_schema(columns: list[tuple[str, str]], timestamp_unit: str) -> pa.Schema:
    """The Arrow schema of catalog columns ``(name, glue type)`` — the inverse of
    ``glue_columns`` (a ``timestamp`` takes ``timestamp_unit``, in UTC)."""
    fields = []
    for name, text in columns:
        try:
            fields.append(pa.field(name, arrow_type(text, timestamp_unit)))
        except ValueError as error:
            raise SchemaError(
                f"column {name} has type {text!r}, which this target does not write ({error}); "
                "was the table created by another tool?"
            ) from None
    return pa.schema(fields)


def arrow_type(text: str, timestamp_unit: str) -> pa.DataType:
    """Parse a Glue type printed by ``glue_type`` back to Arrow; ValueError otherwise."""
    tokens = _TOKEN.findall(text)
    if "".join(tokens) != re.sub(r"\s+", "", text):
        raise ValueError(f"cannot read {text!r}")
    parsed, rest = _parse(tokens, timestamp_unit)
    if rest:
        raise ValueError(f"unexpected {''.join(rest)!r} in {text!r}")
    return parsed


def _parse(tokens: list[str], unit: str) -> tuple[pa.DataType, list[str]]:
    if not tokens:
        raise ValueError("type expected")
    head, rest = tokens[0].lower(), tokens[1:]
    if head in _PARSED:
        return _PARSED[head], rest
    if head == "timestamp":
        return pa.timestamp(unit, tz="UTC"), rest
    if head == "decimal":
        return _parse_decimal(rest)
    if head == "array":
        _expect(rest, "<")
        item, rest = _parse(rest[1:], unit)
        _expect(rest, ">")
        return pa.list_(item), rest[1:]
    if head == "struct":
        return _parse_struct(rest, unit)
    raise ValueError(f"unknown type {tokens[0]!r}")


def _parse_decimal(rest: list[str]) -> tuple[pa.DataType, list[str]]:
    _expect(rest, "(")
    precision, comma, scale, close = [*rest[1:5], "", "", "", ""][:4]
    if comma != "," or close != ")" or not (precision.isdigit() and scale.isdigit()):
        raise ValueError("decimal(p,s) expected")
    return pa.decimal128(int(precision), int(scale)), rest[5:]


def _parse_struct(rest: list[str], unit: str) -> tuple[pa.DataType, list[str]]:
    _expect(rest, "<")
    fields, rest = [], rest[1:]
    while True:
        if len(rest) < 2 or rest[1] != ":":  # noqa: PLR2004 - a name and a colon
            raise ValueError("struct field name expected")
        name = rest[0]
        kind, rest = _parse(rest[2:], unit)
        fields.append(pa.field(name, kind))
        if rest[:1] != [","]:
            break
        rest = rest[1:]
    _expect(rest, ">")
    return pa.struct(fields), rest[1:]


def _expect(tokens: list[str], token: str) -> None:
    if not tokens or tokens[0] != token:
        raise ValueError(f"{token!r} expected")


KEYS_PARAMETER = "target_athena_zuora.key_properties"  # JSON list of column names
REPLICATION_KEY_PARAMETER = "target_athena_zuora.replication_key"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
PARQUET_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"


def storage_descriptor(columns: list[dict[str, str]], location: str) -> dict[str, Any]:
    """A Glue StorageDescriptor for Parquet parts under ``location``."""
    return {
        "Columns": columns,
        "Location": location,
        "InputFormat": PARQUET_INPUT,
        "OutputFormat": PARQUET_OUTPUT,
        "SerdeInfo": {"SerializationLibrary": PARQUET_SERDE, "Parameters": {}},
        "Compressed": False,
        "StoredAsSubDirectories": False,
    }


def table_input(
    definition: TableDefinition, *, projection_start: str | None = None
) -> dict[str, Any]:
    """The Glue ``TableInput`` for ``definition`` (pure; no API calls).

    The stream's keys go into the table's parameters (for its ``_current`` view);
    ``projection_start`` (``YYYY-MM-DD``) turns on Athena partition projection for ``dt``
    from that date to ``NOW``.
    """
    parameters = {"classification": "parquet", "EXTERNAL": "TRUE", **definition.parameters}
    parameters[KEYS_PARAMETER] = json.dumps(list(definition.key_properties))
    if definition.replication_key:
        parameters[REPLICATION_KEY_PARAMETER] = definition.replication_key
    if projection_start is not None:
        parameters.update(
            {
                "projection.enabled": "true",
                f"projection.{PARTITION_KEY}.type": "date",
                f"projection.{PARTITION_KEY}.format": "yyyy-MM-dd",
                f"projection.{PARTITION_KEY}.range": f"{projection_start},NOW",
                f"projection.{PARTITION_KEY}.interval": "1",
                f"projection.{PARTITION_KEY}.interval.unit": "DAYS",
                "storage.location.template": (
                    f"{definition.location}{PARTITION_KEY}=${{{PARTITION_KEY}}}/"
                ),
            }
        )
    return {
        "Name": definition.name,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": parameters,
        "PartitionKeys": [{"Name": key, "Type": "string"} for key in definition.partition_keys],
        "StorageDescriptor": storage_descriptor(
            glue_columns(definition.schema), definition.location
        ),
    }
