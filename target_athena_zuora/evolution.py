"""The one rule for a table's columns over time, applied by every catalog alike.

A table's columns are the union of every column ever landed in it, in first-seen order;
struct fields likewise, at every depth (inside lists too); new ones are appended, never
inserted, and none is ever dropped. Two types are the same when the catalogs print them the
same (``glue_type``: a ``timestamp`` is one type whatever its unit). Anything else — a
column changing type — is refused: readers cannot reconcile both in one table.

Keeping every partition's columns equal to the table's (what Athena needs) follows from it:
the table only ever grows at the end, so older partitions can always be brought up to it.
"""

from __future__ import annotations

import pyarrow as pa

from target_athena_zuora.errors import SchemaError
from target_athena_zuora.glue_types import glue_type


def merge_schemas(table: str, current: pa.Schema | None, new: pa.Schema) -> pa.Schema:
    """``current`` with ``new``'s columns merged in (see the module rule); ``table`` names
    the table in errors. ``current`` None: ``new`` as it is."""
    if current is None:
        return new
    fields = {f.name: f for f in current}
    for field in new:
        old = fields.get(field.name)
        fields[field.name] = field if old is None else _merge_field(table, field.name, old, field)
    return pa.schema(list(fields.values()))


def _merge_field(table: str, path: str, old: pa.Field, new: pa.Field) -> pa.Field:
    merged = _merge_type(table, path, old.type, new.type)
    return old if merged is old.type else pa.field(old.name, merged)


def _merge_type(table: str, path: str, old: pa.DataType, new: pa.DataType) -> pa.DataType:
    if pa.types.is_struct(old) and pa.types.is_struct(new):
        fields = {f.name: f for f in old}
        changed = False
        for field in new:
            previous = fields.get(field.name)
            if previous is None:
                fields[field.name], changed = field, True
                continue
            merged = _merge_field(table, f"{path}.{field.name}", previous, field)
            changed = changed or merged is not previous
            fields[field.name] = merged
        return pa.struct(list(fields.values())) if changed else old
    if pa.types.is_list(old) and pa.types.is_list(new):
        try:
            item = _merge_field(table, f"{path}[]", old.value_field, new.value_field)
        except SchemaError:
            raise _changed(table, path, old, new) from None
        return old if item is old.value_field else pa.list_(item)
    if _same(old, new):
        return old
    raise _changed(table, path, old, new)


def _changed(table: str, path: str, old: pa.DataType, new: pa.DataType) -> SchemaError:
    return SchemaError(
        f"table {table}: column {path} changes type from {_printed(old)} to {_printed(new)}; "
        "readers cannot reconcile both in one table — keep the type or land the new one under "
        "another column name with a stream map"
    )


def _same(old: pa.DataType, new: pa.DataType) -> bool:
    if pa.types.is_nested(old) or pa.types.is_nested(new):
        return bool(old == new)
    return _printed(old) == _printed(new)


def _printed(arrow_type: pa.DataType) -> str:
    try:
        return glue_type(arrow_type)
    except SchemaError:
        return str(arrow_type)


def differs(current: pa.Schema | None, merged: pa.Schema) -> bool:
    """Whether ``merged`` changes the catalog's view of ``current`` (printed types)."""
    if current is None:
        return True
    return [(f.name, _printed(f.type)) for f in current] != [
        (f.name, _printed(f.type)) for f in merged
    ]
