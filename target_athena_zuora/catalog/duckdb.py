"""The embedded default's catalog: a DuckDB file with one view per model over its parts.

Three files under the root (``local_path``):

- ``catalog.json``: what the target knows of each table — its columns (by the one rule of
  ``evolution``, as Glue type strings) and its keys. The source of truth, small, rewritten
  atomically.
- ``catalog.duckdb``: the views, generated from ``catalog.json`` and the root's current
  path, written to a temporary file and renamed over the old one: ``<schema>.<model>`` over
  every part, and for a model with keys ``<schema>.<model>_current`` (``views``: the Athena
  view's very SELECT text, over the same parts with each row's file path as ``"$path"``), so
  both follow schema evolution and rebuilds alike. A reader holding a
  connection (read-only or not) keeps the file it opened — its views still read every part
  as it lands, by glob — and sees new columns when it reconnects; it never blocks a load.
- ``.catalog.lock``: our loads take it (bounded wait, logged) around each update, so two
  loads into one root both land every table.

Both files are derivable from the parts: when ``catalog.json`` is missing or unreadable, or
on ``--rebuild-catalog``, the tables are derived from the parts' own schemas (footers, in
landing order) and the catalog rewritten for the root where it now is — which also makes a
moved or copied output folder queryable again.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import tempfile
import time
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from target_athena_zuora.catalog import PART_METADATA_KEY, PARTITION_KEY, TableDefinition
from target_athena_zuora.errors import CatalogError, SchemaError, first_line
from target_athena_zuora.evolution import merge_schemas
from target_athena_zuora.files import os_errors, os_reason, write_atomically
from target_athena_zuora.glue_types import arrow_schema, glue_columns
from target_athena_zuora.views import PATH_COLUMN, CurrentView, describe

CATALOG_FILE = "catalog.duckdb"
MANIFEST_FILE = "catalog.json"
LOCK_FILE = ".catalog.lock"
LOCK_WAIT_S = 300.0
_FORMAT = 1
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
_PART_NAME = re.compile(r"^(\d+)_(\d{14})\.parquet$")
_GLOB_SPECIAL = re.compile(r"([\[\]*?])")
log = logging.getLogger(__name__)


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


def sql_literal(text: str) -> str:
    """``text`` as a SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def glob_literal(path: str) -> str:
    """``path`` with DuckDB's glob characters matched literally (``out[1]`` -> ``out[[]1[]]``)."""
    return _GLOB_SPECIAL.sub(r"[\1]", path)


@dataclass(frozen=True)
class Table:
    """One table of ``catalog.json``."""

    database: str
    name: str
    columns: tuple[tuple[str, str], ...]  # (name, Glue type), in first-seen order
    key_properties: tuple[str, ...] = ()
    replication_key: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON form kept in ``catalog.json``."""
        return {
            "database": self.database,
            "name": self.name,
            "columns": [list(c) for c in self.columns],
            "key_properties": list(self.key_properties),
            "replication_key": self.replication_key,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Table:
        """Read one ``catalog.json`` entry (``KeyError``/``TypeError``/``ValueError`` if bad)."""
        database, name = str(data["database"]), str(data["name"])
        if not (_IDENTIFIER.match(database) and _IDENTIFIER.match(name)):
            raise ValueError(f"bad table name {database}.{name}")
        columns = tuple((str(n), str(t)) for n, t in data["columns"])
        return cls(
            database,
            name,
            columns,
            tuple(str(k) for k in data.get("key_properties") or ()),
            data.get("replication_key"),
        )


class DuckDBCatalog:
    """Views ``<database>.<table>`` in ``<root>/catalog.duckdb`` (see the module notes)."""

    def __init__(
        self, root: Path, timestamp_unit: str = "ms", *, current_views: bool = True
    ) -> None:
        self.root = root
        self.path = root / CATALOG_FILE
        self.timestamp_unit = timestamp_unit
        self.current_views = current_views

    # --- the Catalog interface --------------------------------------------------------------

    def ensure_database(self, name: str) -> None:
        """Nothing to do: a DuckDB schema is written with its first table."""

    def apply_table(self, definition: TableDefinition) -> TableDefinition:
        """Merge ``definition`` into ``catalog.json`` (visible at the next ``publish``)."""
        with self._locked():
            tables = self._load()
            key = f"{definition.database}.{definition.name}"
            merged = self._merge(tables.get(key), definition)
            if tables.get(key) != merged:
                tables[key] = merged
                self._save(tables)
        return replace(definition, schema=self._schema(merged))

    def add_partitions(self, definition: TableDefinition, values: Sequence[str]) -> None:
        """Nothing to do: the views read every ``dt=`` folder through hive partitioning."""

    def publish(self) -> None:
        """Rewrite ``catalog.duckdb`` from ``catalog.json``, atomically."""
        with self._locked():
            self._write_catalog(self._load())

    def close(self) -> None:
        """Nothing held open between applies."""

    # --- rebuild -------------------------------------------------------------------------

    def rebuild(self) -> list[Table]:
        """Derive every table from the parts under the root (merged into ``catalog.json``
        when it is readable), rewrite both files; return the tables."""
        with self._locked():
            try:
                tables = self._load(derive=False)
            except CatalogError as error:
                log.warning("%s; deriving every table from the parts", error)
                tables = {}
            for key, table in list(tables.items()):  # a folder removed by hand: table gone
                if not (self.root / table.database / table.name).is_dir():
                    log.info("%s has no folder under %s: left out", key, self.root)
                    del tables[key]
            for table in self._derive().values():
                key = f"{table.database}.{table.name}"
                tables[key] = self._union(tables.get(key), table)
            self._save(tables)
            self._write_catalog(tables)
        return list(tables.values())

    # --- catalog.json ----------------------------------------------------------------------

    def _merge(self, current: Table | None, definition: TableDefinition) -> Table:
        name = f"{definition.database}.{definition.name}"
        schema = merge_schemas(name, self._schema(current) if current else None, definition.schema)
        return Table(
            definition.database,
            definition.name,
            tuple((c["Name"], c["Type"]) for c in glue_columns(schema)),
            definition.key_properties,
            definition.replication_key,
        )

    def _union(self, current: Table | None, derived: Table) -> Table:
        if current is None:
            return derived
        merged = merge_schemas(
            f"{derived.database}.{derived.name}", self._schema(current), self._schema(derived)
        )
        columns = tuple((c["Name"], c["Type"]) for c in glue_columns(merged))
        return replace(
            current,
            columns=columns,
            key_properties=current.key_properties or derived.key_properties,
            replication_key=current.replication_key or derived.replication_key,
        )

    def _schema(self, table: Table) -> pa.Schema:
        try:
            return arrow_schema(list(table.columns), self.timestamp_unit)
        except SchemaError as error:
            raise CatalogError(f"{self.root / MANIFEST_FILE}, {table.name}: {error}") from None

    def _load(self, *, derive: bool = True) -> dict[str, Table]:
        """``catalog.json``'s tables; derived from the parts when it is missing or bad."""
        manifest = self.root / MANIFEST_FILE
        try:
            tables = _parse_manifest(manifest.read_text(encoding="utf-8"))
        except FileNotFoundError:
            if not derive:
                return {}
            tables = list(self._derive().values())
            if tables:
                log.warning(
                    "%s is missing: deriving %d tables from the parts under %s",
                    manifest,
                    len(tables),
                    self.root,
                )
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            if not derive:
                raise CatalogError(f"{manifest} is unreadable ({error})") from error
            tables = list(self._derive().values())
            log.warning(
                "%s is unreadable (%s): rebuilding it from the parts under %s",
                manifest,
                first_line(error),
                self.root,
            )
        return {f"{t.database}.{t.name}": t for t in tables}

    def _save(self, tables: dict[str, Table]) -> None:
        data = {"format": _FORMAT, "tables": [t.to_json() for t in tables.values()]}
        path = self.root / MANIFEST_FILE
        with os_errors(path, error=CatalogError):
            write_atomically(path, (json.dumps(data, indent=1) + "\n").encode("utf-8"))

    def _derive(self) -> dict[str, Table]:
        """Tables from the parts' schemas, each merged in landing order."""
        tables: dict[str, Table] = {}
        for (database, model), parts in _parts_by_table(self.root).items():
            schema: pa.Schema | None = None
            keys: tuple[str, ...] = ()
            replication_key = None
            for part in parts:
                try:
                    part_schema = pq.read_schema(part)
                except (OSError, pa.ArrowInvalid) as error:
                    log.warning("skipping unreadable part %s: %s", part, error)
                    continue
                schema = merge_schemas(f"{database}.{model}", schema, _data_schema(part_schema))
                keys, replication_key = _part_keys(part_schema, keys, replication_key)
            if schema is not None:
                columns = tuple((c["Name"], c["Type"]) for c in glue_columns(schema))
                tables[f"{database}.{model}"] = Table(
                    database, model, columns, keys, replication_key
                )
        return tables

    # --- catalog.duckdb --------------------------------------------------------------------

    def _write_catalog(self, tables: dict[str, Table]) -> None:
        if _damaged(self.path):
            log.warning(
                "%s was not a readable DuckDB file (a full disk or a copy cut short?); "
                "writing it again from %s",
                self.path,
                MANIFEST_FILE,
            )
        databases = sorted({t.database for t in tables.values()})
        statements = [f'CREATE SCHEMA IF NOT EXISTS "{database}"' for database in databases]
        names = {(t.database, t.name) for t in tables.values()}
        for table in tables.values():
            taken = {n for d, n in names if d == table.database}
            statements.extend(self.view_statements(table, taken))
        try:
            for leftover in self.root.glob(f".{CATALOG_FILE}.*.tmp*"):
                leftover.unlink(missing_ok=True)  # under the lock: no live run is writing it
            # Built in a scratch folder: DuckDB cannot write a database whose path holds a
            # '?' (it derives the WAL's name as if from a URL), and local_path may.
            with tempfile.TemporaryDirectory(prefix="target-athena-zuora-catalog-") as scratch:
                built = Path(scratch) / CATALOG_FILE
                with duckdb.connect(str(built)) as connection:
                    for statement in statements:
                        connection.execute(statement)
                    connection.execute("CHECKPOINT")
                write_atomically(self.path, built)
        except duckdb.Error as error:
            raise CatalogError(f"DuckDB catalog {self.path}: {first_line(error)}") from error
        except OSError as error:
            raise CatalogError(f"cannot write {self.path}: {os_reason(error)}") from error

    def view_statements(self, table: Table, taken: Collection[str] = ()) -> list[str]:
        """The SQL creating ``table``'s views: ``<database>.<name>`` and, when its stream has
        keys and ``current_views`` is on, ``<database>.<name>_current`` (unless a table of
        that name is in ``taken``, the names of the other tables of its database)."""
        schema = self._schema(table)
        view = f'"{table.database}"."{table.name}"'
        statements = [
            f"CREATE OR REPLACE VIEW {view} AS {self.select(table.database, table.name, schema)}"
        ]
        current = self.current_view(table)
        if current is not None and current.name in taken:
            log.warning("no %s.%s view: a table of that name exists", table.database, current.name)
        elif current is not None:
            source = self.select(table.database, table.name, schema, path_column=PATH_COLUMN)
            statements.append(
                f'CREATE OR REPLACE VIEW "{table.database}"."{current.name}" AS '
                f"{current.duckdb_select(source)}"
            )
        return statements

    def current_view(self, table: Table) -> CurrentView | None:
        """The description of ``table``'s current view, or None (no keys, or turned off)."""
        if not self.current_views:
            return None
        return describe(
            table.database,
            table.name,
            self._schema(table),
            table.key_properties,
            table.replication_key,
        )

    def select(
        self, database: str, name: str, schema: pa.Schema, *, path_column: str | None = None
    ) -> str:
        """Every column of ``schema`` (NULL where a part lacks it) and ``dt`` as DATE, and with
        ``path_column`` each row's file path under that name."""
        typed = [f'CAST(NULL AS {duckdb_type(f.type)}) AS "{f.name}"' for f in schema]
        typed.append(f'CAST(NULL AS DATE) AS "{PARTITION_KEY}"')
        names = [*(f.name for f in schema), PARTITION_KEY]
        options = ""
        if path_column is not None:
            typed.append(f'CAST(NULL AS VARCHAR) AS "{path_column}"')
            names.append(path_column)
            options = f", filename = {sql_literal(path_column)}"
        empty = f"SELECT {', '.join(typed)} WHERE false"
        folder = self.root.resolve() / database / name
        if not any(folder.glob(f"{PARTITION_KEY}=*/*.parquet")):
            return empty
        columns = ", ".join(f'"{n}"' for n in names)
        pattern = glob_literal(f"{folder}/{PARTITION_KEY}=") + "*/*.parquet"
        source = (
            f"read_parquet({sql_literal(pattern)}, hive_partitioning = true, "
            f"union_by_name = true, hive_types = {{'{PARTITION_KEY}': DATE}}{options})"
        )
        # Names are [a-z0-9_] (and '$path') and the path a quoted literal: nothing to inject.
        return f"SELECT {columns} FROM ({empty} UNION ALL BY NAME SELECT * FROM {source})"  # noqa: S608

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with os_errors(self.root / LOCK_FILE, error=CatalogError):
            self.root.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(self.root / LOCK_FILE, os.O_CREAT | os.O_RDWR, 0o644)
        try:
            _lock(descriptor, self.root / LOCK_FILE)
            yield
        finally:
            os.close(descriptor)


def _lock(descriptor: int, path: Path) -> None:
    deadline = time.monotonic() + LOCK_WAIT_S
    waited = False
    while True:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise CatalogError(
                    f"{path}: another load held the catalog lock for {LOCK_WAIT_S:.0f} s; "
                    "is a run stuck? (the lock is released when its process ends)"
                ) from None
            if not waited:
                log.info("waiting for another load to finish updating %s", path.parent)
                waited = True
            time.sleep(0.05)
        else:
            return


def _damaged(path: Path) -> bool:
    """Whether ``path`` exists but is not a DuckDB database (its header's magic bytes)."""
    try:
        with path.open("rb") as handle:
            header = handle.read(12)
    except FileNotFoundError:
        return False
    except OSError:
        return True
    return header[8:12] != b"DUCK"


def _parse_manifest(text: str) -> list[Table]:
    data = json.loads(text)
    if data.get("format") != _FORMAT:
        raise ValueError(f"format {data.get('format')!r}")
    return [Table.from_json(t) for t in data["tables"]]


def _parts_by_table(root: Path) -> dict[tuple[str, str], list[Path]]:
    """``<root>/<database>/<model>/dt=*/<n>_<ts>.parquet`` by table, in landing order."""
    found: dict[tuple[str, str], list[tuple[str, str, int, Path]]] = {}
    for part in root.glob(f"*/*/{PARTITION_KEY}=*/*.parquet"):
        database, model = part.parts[-4], part.parts[-3]
        match = _PART_NAME.match(part.name)
        if not (match and _IDENTIFIER.match(database) and _IDENTIFIER.match(model)):
            continue
        date = part.parent.name.partition("=")[2]
        found.setdefault((database, model), []).append(
            (match.group(2), date, int(match.group(1)), part)
        )
    return {key: [p for *_, p in sorted(parts)] for key, parts in sorted(found.items())}


def _data_schema(schema: pa.Schema) -> pa.Schema:
    return pa.schema([f for f in schema if f.name != PARTITION_KEY]).remove_metadata()


def _part_keys(
    schema: pa.Schema, keys: tuple[str, ...], replication_key: str | None
) -> tuple[tuple[str, ...], str | None]:
    raw = (schema.metadata or {}).get(PART_METADATA_KEY)
    if not raw:
        return keys, replication_key
    try:
        data = json.loads(raw)
        return tuple(data.get("key_properties") or ()), data.get("replication_key")
    except (ValueError, AttributeError):
        return keys, replication_key
