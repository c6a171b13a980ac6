"""Arrow -> Glue/Hive type strings (what Athena sees), printed from the one Arrow schema."""

from __future__ import annotations

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
    definition: TableDefinition,
    columns: list[dict[str, str]] | None = None,
    *,
    projection_start: str | None = None,
) -> dict[str, Any]:
    """The Glue ``TableInput`` for ``definition`` (pure; no API calls).

    ``columns`` overrides the columns printed from the Arrow schema (an evolved table keeps
    its existing columns first). ``projection_start`` (``YYYY-MM-DD``) turns on Athena
    partition projection for ``dt`` from that date to ``NOW``.
    """
    parameters = {"classification": "parquet", "EXTERNAL": "TRUE", **definition.parameters}
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
            columns if columns is not None else glue_columns(definition.schema),
            definition.location,
        ),
    }
