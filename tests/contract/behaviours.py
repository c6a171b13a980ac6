"""Behaviour tests every Storage and Catalog implementation must pass, as plain functions.

Each takes the implementation wrapped with a way to read back what it did, so the same
behaviours run against LocalStorage/DuckDBCatalog (tests/contract) and S3Storage/GlueCatalog
(tests/aws). Import with ``from contract.behaviours import ...`` (``tests/`` is on sys.path
because the root ``tests/conftest.py`` lives there), then call every function listed in
``STORAGE_BEHAVIOURS`` / ``CATALOG_BEHAVIOURS`` from a test parametrised over them.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from target_athena_zuora.catalog import Catalog, TableDefinition
from target_athena_zuora.errors import CatalogError, KeyExistsError, SchemaError, StorageError
from target_athena_zuora.storage import Storage


@dataclass
class StorageUnderTest:
    """A storage, plus how to read back the bytes stored at a key."""

    storage: Storage
    read: Callable[[str], bytes]
    scratch: Path  # a local directory for source files


@dataclass
class CatalogUnderTest:
    """A catalog, the storage its tables' parts live in, and how to read the catalog back.

    ``columns(database, table)``: the table's (name, type) pairs in order, partition key(s)
    last, types as this catalog prints them (``type_name`` prints an Arrow type that way).
    ``rows(database, table)``: the table's rows as dicts, or None when the catalog cannot
    be queried here (then row behaviours only check the definition).
    ``partition_type``: how this catalog types ``dt`` when not as a date (Glue: ``string``).
    """

    catalog: Catalog
    storage: Storage
    columns: Callable[[str, str], list[tuple[str, str]]]
    type_name: Callable[[pa.DataType], str]
    rows: Callable[[str, str], list[dict[str, Any]]] | None
    scratch: Path
    partition_type: str | None = None


def _unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def _source(scratch: Path, data: bytes) -> Path:
    path = scratch / f"{uuid.uuid4().hex}.src"
    path.write_bytes(data)
    return path


# --- storage --------------------------------------------------------------------------------


def storage_creates_and_reads_back(sut: StorageUnderTest) -> None:
    key = f"zuora/{_unique('invoice')}/dt=2024-01-31/0_20240131120000.parquet"
    data = b"PAR1" + bytes(range(256)) * 10 + b"PAR1"
    assert not sut.storage.exists(key)
    sut.storage.create(key, _source(sut.scratch, data))
    assert sut.storage.exists(key)
    assert sut.read(key) == data


def storage_never_overwrites(sut: StorageUnderTest) -> None:
    key = f"zuora/{_unique('invoice')}/dt=2024-01-31/0_20240131120000.parquet"
    sut.storage.create(key, _source(sut.scratch, b"first"))
    try:
        sut.storage.create(key, _source(sut.scratch, b"second"))
    except KeyExistsError:
        pass
    else:
        raise AssertionError("creating an existing key must raise KeyExistsError")
    assert sut.read(key) == b"first"


def storage_key_exists_error_is_a_storage_error(sut: StorageUnderTest) -> None:
    key = f"zuora/{_unique('t')}/k"
    sut.storage.create(key, _source(sut.scratch, b"x"))
    try:
        sut.storage.create(key, _source(sut.scratch, b"y"))
    except StorageError as error:  # callers may catch the family
        assert key.rsplit("/", 1)[-1] in str(error) or "exists" in str(error)
    else:
        raise AssertionError("expected an error")


def storage_keys_are_independent(sut: StorageUnderTest) -> None:
    prefix = f"zuora/{_unique('m')}/dt=2024-01-31/"
    for part in range(3):
        sut.storage.create(
            f"{prefix}{part}_20240131120000.parquet", _source(sut.scratch, bytes([part]))
        )
    for part in range(3):
        assert sut.read(f"{prefix}{part}_20240131120000.parquet") == bytes([part])
    assert not sut.storage.exists(f"{prefix}3_20240131120000.parquet")


def storage_uri_of_key_and_prefix(sut: StorageUnderTest) -> None:
    key = "zuora/invoice/dt=2024-01-31/0_20240131120000.parquet"
    uri = sut.storage.uri(key)
    assert uri.endswith(key)
    assert uri != key  # absolute: a path or s3:// URI, not the bare key
    assert sut.storage.uri("zuora/invoice/").endswith("zuora/invoice/")
    assert sut.storage.uri(key).startswith(sut.storage.uri("zuora/"))


STORAGE_BEHAVIOURS: list[Callable[[StorageUnderTest], None]] = [
    storage_creates_and_reads_back,
    storage_never_overwrites,
    storage_key_exists_error_is_a_storage_error,
    storage_keys_are_independent,
    storage_uri_of_key_and_prefix,
]


# --- catalog --------------------------------------------------------------------------------

SCHEMA_V1 = pa.schema(
    [
        ("id", pa.string()),
        ("amount", pa.float64()),
        ("updated_date", pa.timestamp("ms", tz="UTC")),
        ("bill_to", pa.struct([pa.field("city", pa.string())])),
        ("tags", pa.list_(pa.string())),
    ]
)
SCHEMA_V2 = pa.schema([*SCHEMA_V1, pa.field("status", pa.string()), pa.field("due", pa.date32())])


def _definition(
    sut: CatalogUnderTest, database: str, table: str, schema: pa.Schema
) -> TableDefinition:
    location = sut.storage.uri(f"{database}/{table}/")
    return TableDefinition(database=database, name=table, location=location, schema=schema)


def _write_part(
    sut: CatalogUnderTest, definition: TableDefinition, table: pa.Table, part: int
) -> None:
    source = sut.scratch / f"{uuid.uuid4().hex}.parquet"
    pq.write_table(table, source)
    key = f"{definition.database}/{definition.name}/dt=2024-01-31/{part}_20240131120000.parquet"
    sut.storage.create(key, source)


def _apply(sut: CatalogUnderTest, definition: TableDefinition) -> TableDefinition:
    applied = sut.catalog.apply_table(definition)
    sut.catalog.publish()
    return applied


def _expected_columns(sut: CatalogUnderTest, schema: pa.Schema) -> list[tuple[str, str]]:
    partition_type = sut.partition_type or sut.type_name(pa.date32())
    return [(f.name, sut.type_name(f.type)) for f in schema] + [("dt", partition_type)]


def catalog_creates_database_idempotently(sut: CatalogUnderTest) -> None:
    database = _unique("db")
    sut.catalog.ensure_database(database)
    sut.catalog.ensure_database(database)
    table = _unique("invoice")
    _apply(sut, _definition(sut, database, table, SCHEMA_V1))
    assert sut.columns(database, table)


def catalog_table_has_the_definition_columns(sut: CatalogUnderTest) -> None:
    database, table = _unique("db"), _unique("invoice")
    sut.catalog.ensure_database(database)
    _apply(sut, _definition(sut, database, table, SCHEMA_V1))
    assert sut.columns(database, table) == _expected_columns(sut, SCHEMA_V1)


def catalog_apply_is_idempotent(sut: CatalogUnderTest) -> None:
    database, table = _unique("db"), _unique("invoice")
    sut.catalog.ensure_database(database)
    definition = _definition(sut, database, table, SCHEMA_V1)
    _apply(sut, definition)
    _apply(sut, definition)
    assert sut.columns(database, table) == _expected_columns(sut, SCHEMA_V1)


def catalog_evolves_additively(sut: CatalogUnderTest) -> None:
    database, table = _unique("db"), _unique("invoice")
    sut.catalog.ensure_database(database)
    v1 = _definition(sut, database, table, SCHEMA_V1)
    _apply(sut, v1)
    _write_part(
        sut, v1, pa.table({"id": ["old"], "amount": [1.5]}).cast(pa.schema(list(SCHEMA_V1)[:2])), 0
    )
    v2 = _definition(sut, database, table, SCHEMA_V2)
    _apply(sut, v2)
    sut.catalog.add_partitions(v2, ["2024-01-31"])
    sut.catalog.publish()
    assert sut.columns(database, table) == _expected_columns(sut, SCHEMA_V2)
    if sut.rows is not None:
        (row,) = sut.rows(database, table)
        assert row["id"] == "old"
        assert row["status"] is None and row["due"] is None  # older parts: nulls in new columns


def catalog_reads_parts_with_dt_from_the_path(sut: CatalogUnderTest) -> None:
    database, table = _unique("db"), _unique("invoice")
    sut.catalog.ensure_database(database)
    definition = _definition(sut, database, table, SCHEMA_V1)
    data = pa.table(
        {"id": ["a", "b"], "amount": [1.0, None]}, schema=pa.schema(list(SCHEMA_V1)[:2])
    )
    _write_part(sut, definition, data, 0)
    _write_part(sut, definition, data.slice(0, 1), 1)
    _apply(sut, definition)
    sut.catalog.add_partitions(definition, ["2024-01-31"])
    sut.catalog.add_partitions(definition, ["2024-01-31"])  # registering again is fine
    sut.catalog.publish()
    if sut.rows is not None:
        rows = sut.rows(database, table)
        assert sorted(r["id"] for r in rows) == ["a", "a", "b"]
        assert {r["dt"] for r in rows} == {dt.date(2024, 1, 31)}


def catalog_empty_table_is_queryable(sut: CatalogUnderTest) -> None:
    database, table = _unique("db"), _unique("payment")
    sut.catalog.ensure_database(database)
    _apply(sut, _definition(sut, database, table, SCHEMA_V1))
    assert sut.columns(database, table) == _expected_columns(sut, SCHEMA_V1)
    if sut.rows is not None:
        assert sut.rows(database, table) == []


def catalog_refuses_a_changed_column_type(sut: CatalogUnderTest) -> None:
    database, table = _unique("db"), _unique("invoice")
    sut.catalog.ensure_database(database)
    _apply(sut, _definition(sut, database, table, SCHEMA_V1))
    changed = pa.schema([pa.field("id", pa.int64()), *list(SCHEMA_V1)[1:]])
    try:
        _apply(sut, _definition(sut, database, table, changed))
    except (CatalogError, SchemaError) as error:
        assert "id" in str(error), error
    else:
        raise AssertionError("a column changing type must be refused")
    assert sut.columns(database, table) == _expected_columns(sut, SCHEMA_V1)  # unchanged


def catalog_keeps_every_column_ever_landed(sut: CatalogUnderTest) -> None:
    """A column a later version stops sending stays, in place, reading NULL for new rows;
    new columns and struct fields go to the end (the one rule, ``evolution``)."""
    database, table = _unique("db"), _unique("account")
    sut.catalog.ensure_database(database)
    v1 = pa.schema(
        [
            ("id", pa.string()),
            ("deleted", pa.bool_()),
            ("bill_to", pa.struct([("city", pa.string()), ("zip", pa.int64())])),
        ]
    )
    first = _apply(sut, _definition(sut, database, table, v1))
    assert first.schema == v1
    _write_part(sut, first, pa.table({"id": ["a"], "deleted": [True]}), 0)
    sut.catalog.add_partitions(first, ["2024-01-31"])
    v2 = pa.schema(
        [
            ("id", pa.string()),
            ("bill_to", pa.struct([("street", pa.string()), ("city", pa.string())])),
            ("name", pa.string()),
        ]
    )
    second = _apply(sut, _definition(sut, database, table, v2))
    expected = pa.schema(
        [
            ("id", pa.string()),
            ("deleted", pa.bool_()),
            (
                "bill_to",
                pa.struct([("city", pa.string()), ("zip", pa.int64()), ("street", pa.string())]),
            ),
            ("name", pa.string()),
        ]
    )
    assert second.schema == expected
    assert sut.columns(database, table) == _expected_columns(sut, expected)
    if sut.rows is not None:
        (row,) = sut.rows(database, table)
        assert row["id"] == "a" and row["deleted"] is True and row["name"] is None


CATALOG_BEHAVIOURS: list[Callable[[CatalogUnderTest], None]] = [
    catalog_keeps_every_column_ever_landed,
    catalog_refuses_a_changed_column_type,
    catalog_creates_database_idempotently,
    catalog_table_has_the_definition_columns,
    catalog_apply_is_idempotent,
    catalog_evolves_additively,
    catalog_reads_parts_with_dt_from_the_path,
    catalog_empty_table_is_queryable,
]
