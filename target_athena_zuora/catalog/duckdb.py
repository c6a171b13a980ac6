"""The embedded default's catalog: a DuckDB file with one view per model over its parts."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb
import pyarrow as pa

from target_athena_zuora.catalog import PARTITION_KEY, TableDefinition
from target_athena_zuora.errors import CatalogError, SchemaError


def duckdb_type(arrow_type: pa.DataType) -> str:
    """Print ``arrow_type`` as the DuckDB type DuckDB reads from our Parquet."""
    simple = {
        pa.int64(): "BIGINT",
        pa.float64(): "DOUBLE",
        pa.bool_(): "BOOLEAN",
        pa.string(): "VARCHAR",
        pa.date32(): "DATE",
    }
    if arrow_type in simple:
        return simple[arrow_type]
    if pa.types.is_timestamp(arrow_type):
        return "TIMESTAMPTZ" if arrow_type.tz else "TIMESTAMP"
    if pa.types.is_decimal(arrow_type):
        return f"DECIMAL({arrow_type.precision},{arrow_type.scale})"
    if pa.types.is_list(arrow_type):
        return f"{duckdb_type(arrow_type.value_type)}[]"
    if pa.types.is_struct(arrow_type):
        return "STRUCT(" + ", ".join(f'"{f.name}" {duckdb_type(f.type)}' for f in arrow_type) + ")"
    raise SchemaError(f"no DuckDB type for Arrow type {arrow_type}")


class DuckDBCatalog:
    """Views ``<database>.<table>`` in a DuckDB file; opened only while applying."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def ensure_database(self, name: str) -> None:
        """Create the DuckDB schema when missing."""
        self._execute([f'CREATE SCHEMA IF NOT EXISTS "{name}"'], name)

    def apply_table(self, definition: TableDefinition) -> None:
        """(Re)create the view: every column, ``dt`` as DATE, null where a part lacks one.

        A column whose type differs from the existing view's (an earlier run's parts) is a
        ``CatalogError``: DuckDB could not read both kinds of part as one column.
        """
        name = f"{definition.database}.{definition.name}"
        view = f'"{definition.database}"."{definition.name}"'
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with duckdb.connect(str(self.path)) as connection:
                _check_types(connection, definition)
                connection.execute(f"CREATE OR REPLACE VIEW {view} AS {_select(definition)}")
        except duckdb.Error as error:
            raise CatalogError(f"DuckDB catalog {self.path}, {name}: {error}") from error

    def add_partitions(self, definition: TableDefinition, values: Sequence[str]) -> None:
        """Nothing to do: the view reads every ``dt=`` folder through hive partitioning."""

    def close(self) -> None:
        """Nothing held open between applies."""

    def _execute(self, statements: list[str], what: str) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with duckdb.connect(str(self.path)) as connection:
                for statement in statements:
                    connection.execute(statement)
        except duckdb.Error as error:
            raise CatalogError(f"DuckDB catalog {self.path}, {what}: {error}") from error


def _check_types(connection: duckdb.DuckDBPyConnection, definition: TableDefinition) -> None:
    existing = dict(
        connection.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name = ?",
            [definition.database, definition.name],
        ).fetchall()
    )
    for field in definition.schema:
        old = existing.get(field.name)
        if old is None:
            continue
        new = connection.execute(f"SELECT typeof(CAST(NULL AS {duckdb_type(field.type)}))")
        new_type = str(new.fetchone()[0])  # type: ignore[index]
        if old != new_type and not (old.startswith("STRUCT") and new_type.startswith("STRUCT")):
            raise CatalogError(
                f"DuckDB view {definition.database}.{definition.name}: column {field.name} is "
                f"{old} in earlier parts but {new_type} now; readers cannot reconcile both — "
                "keep the type or land it under another column name"
            )


def _select(definition: TableDefinition) -> str:
    pattern = f"{definition.location}{PARTITION_KEY}=*/*.parquet"
    files = sorted(Path(definition.location).glob(f"{PARTITION_KEY}=*/*.parquet"))
    if not files:
        columns = [f'CAST(NULL AS {duckdb_type(f.type)}) AS "{f.name}"' for f in definition.schema]
        columns.append(f'CAST(NULL AS DATE) AS "{PARTITION_KEY}"')
        return f"SELECT {', '.join(columns)} WHERE false"
    source = (
        f"read_parquet('{_quote(pattern)}', hive_partitioning = true, union_by_name = true, "
        f"hive_types = {{'{PARTITION_KEY}': DATE}})"
    )
    present = _columns_in_parts(source)
    columns = [
        f'"{f.name}"' if f.name in present else f'CAST(NULL AS {duckdb_type(f.type)}) AS "{f.name}"'
        for f in definition.schema
    ]
    columns.append(f'"{PARTITION_KEY}"')
    # Identifiers are normalised to [a-z0-9_] and the path is quoted: nothing to inject.
    return f"SELECT {', '.join(columns)} FROM {source}"  # noqa: S608


def _columns_in_parts(source: str) -> set[str]:
    with duckdb.connect() as connection:
        rows = connection.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()  # noqa: S608
        return {row[0] for row in rows}


def _quote(text: str) -> str:
    return text.replace("'", "''")
