"""The Storage and Catalog behaviours (tests/contract/behaviours.py) against the embedded
default: LocalStorage and DuckDBCatalog. To add an implementation, add a param to
``STORAGES`` / ``CATALOGS`` (tests/aws does the same for S3Storage and GlueCatalog)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from contract.behaviours import (
    CATALOG_BEHAVIOURS,
    STORAGE_BEHAVIOURS,
    CatalogUnderTest,
    StorageUnderTest,
)
from target_athena_zuora.catalog import TableDefinition
from target_athena_zuora.catalog.duckdb import DuckDBCatalog, duckdb_type
from target_athena_zuora.errors import SchemaError, StorageError
from target_athena_zuora.storage.local import LocalStorage


def local_storage(tmp_path: Path) -> Iterator[StorageUnderTest]:
    root = tmp_path / "root"
    root.mkdir()
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    storage = LocalStorage(root)
    yield StorageUnderTest(storage, lambda key: (root / key).read_bytes(), scratch)
    storage.close()


def duckdb_catalog(tmp_path: Path) -> Iterator[CatalogUnderTest]:
    root = tmp_path / "root"
    root.mkdir()
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    path = root / "catalog.duckdb"
    catalog = DuckDBCatalog(root)

    def columns(database: str, table: str) -> list[tuple[str, str]]:
        with duckdb.connect(str(path), read_only=True) as connection:
            rows = connection.sql(f'DESCRIBE "{database}"."{table}"').fetchall()
        return [(r[0], r[1]) for r in rows]

    def rows(database: str, table: str) -> list[dict[str, Any]]:
        with duckdb.connect(str(path), read_only=True) as connection:
            query = f'SELECT * FROM "{database}"."{table}"'  # noqa: S608 - test's names
            found: list[dict[str, Any]] = connection.sql(query).to_arrow_table().to_pylist()
        return found

    def type_name(arrow_type: pa.DataType) -> str:  # as DESCRIBE prints duckdb_type's output
        with duckdb.connect() as connection:
            described = connection.sql(
                f"DESCRIBE SELECT CAST(NULL AS {duckdb_type(arrow_type)}) AS c"
            )
            return str(described.fetchall()[0][1])

    yield CatalogUnderTest(catalog, LocalStorage(root), columns, type_name, rows, scratch)
    catalog.close()


STORAGES: list[Any] = [pytest.param(local_storage, id="local")]
CATALOGS: list[Any] = [pytest.param(duckdb_catalog, id="duckdb")]


@pytest.fixture(params=STORAGES)
def storage_impl(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StorageUnderTest]:
    yield from request.param(tmp_path)


@pytest.fixture(params=CATALOGS)
def catalog_impl(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CatalogUnderTest]:
    yield from request.param(tmp_path)


@pytest.mark.parametrize("behaviour", STORAGE_BEHAVIOURS, ids=lambda f: f.__name__)
def test_storage(
    behaviour: Callable[[StorageUnderTest], None], storage_impl: StorageUnderTest
) -> None:
    behaviour(storage_impl)


@pytest.mark.parametrize("behaviour", CATALOG_BEHAVIOURS, ids=lambda f: f.__name__)
def test_catalog(
    behaviour: Callable[[CatalogUnderTest], None], catalog_impl: CatalogUnderTest
) -> None:
    behaviour(catalog_impl)


def test_local_storage_leaves_no_partial_file_on_failure(tmp_path: Path) -> None:
    """A failing create (missing source) leaves nothing at the key."""
    storage = LocalStorage(tmp_path / "root")
    with pytest.raises(StorageError):
        storage.create("zuora/t/dt=2024-01-01/0_x.parquet", tmp_path / "missing")
    assert not storage.exists("zuora/t/dt=2024-01-01/0_x.parquet")


def test_duckdb_catalog_error_names_the_table(tmp_path: Path) -> None:
    catalog = DuckDBCatalog(tmp_path)
    definition = TableDefinition(
        "zuora", "invoice", str(tmp_path) + "/", pa.schema([("id", pa.string())])
    )
    catalog.apply_table(definition)
    changed = TableDefinition(
        "zuora", "invoice", str(tmp_path) + "/", pa.schema([("id", pa.int64())])
    )
    with pytest.raises(SchemaError, match=r"zuora\.invoice"):
        catalog.apply_table(changed)
