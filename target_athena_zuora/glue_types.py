"""Arrow -> Glue/Hive type strings (what Athena sees), printed from the one Arrow schema."""

from __future__ import annotations

import pyarrow as pa

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
