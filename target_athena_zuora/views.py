"""The ``<model>_current`` views: one description of "the latest version of each key", its
SQL written once for Athena (Trino), and the DuckDB view derived from that very text.

A model whose stream has key properties gets ``<schema>.<model>_current`` beside
``<schema>.<model>``: one row per key, its latest version, with keys whose latest version is
soft-deleted left out. The plain table keeps every version.

Latest means greatest by, in turn:

1. the version column: the stream's replication key (the SCHEMA's ``bookmark_properties``)
   when the table has it, else ``updated_date`` when the table has it; a version whose value
   is NULL ranks below every version with a value (known beats unknown);
2. the transfer timestamp and then the part number, both parsed as integers from the part's
   file name (``<part>_<transfer_timestamp>.parquet``): landing order, later runs first.

Versions of one key equal in all three (the key twice in one part with the same version
value) are tied, and the view returns one of them: which one is not defined (neither engine
exposes a row's position in its file).

Soft deletes: when the table has a boolean column ``deleted`` (tap-zuora's AQuA streams),
keys whose latest version has ``deleted = true`` are left out; NULL counts as not deleted.

The SQL avoids anything whose meaning differs between the engines or their settings: NULL
ordering is spelt out (``x IS NULL, x DESC``, not the session default), a file name that does
not parse ranks lowest (``coalesce(try_cast(...), -1)``: Trino's ``regexp_extract`` returns
NULL where DuckDB's returns ``''``), and the regular expression has no backslashes.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

import pyarrow as pa

from target_athena_zuora.catalog import PARTITION_KEY

SUFFIX = "_current"
PATH_COLUMN = "$path"  # Athena's pseudo-column: the S3 URI of the row's file
DELETED_COLUMN = "deleted"
FALLBACK_VERSION_COLUMN = "updated_date"
SOURCE_CTE = "$parts"  # DuckDB: the relation standing in for the table (no table has '$')
_PART_NAME = "/([0-9]+)_([0-9]{14})[.]parquet$"  # groups: part number, transfer timestamp
_RANK = "_current_rank"


@dataclass(frozen=True)
class CurrentView:
    """What ``<database>.<table>_current`` selects: described once, printed per engine."""

    database: str
    table: str
    columns: tuple[str, ...]  # the table's data columns, in order (``dt`` is added)
    keys: tuple[str, ...]
    version_column: str | None  # None: landing order alone decides
    deleted: bool  # the table has a boolean ``deleted``

    @property
    def name(self) -> str:
        """The view's name: ``<table>_current``."""
        return f"{self.table}{SUFFIX}"

    @property
    def rank(self) -> str:
        """The helper column numbering each key's versions (never among the table's)."""
        rank = _RANK
        while rank in self.columns:
            rank = f"_{rank}"
        return rank

    def select(self) -> str:
        """The view's query in Athena's dialect (Trino), over ``"<database>"."<table>"``."""
        columns = [*self.columns, PARTITION_KEY]
        listed = ",\n  ".join(_quote(c) for c in columns)
        inner = ",\n    ".join(_quote(c) for c in columns)
        order = ",\n        ".join(self._order())
        where = f"{_quote(self.rank)} = 1"
        if self.deleted:
            where += f" AND NOT coalesce({_quote(DELETED_COLUMN)}, false)"
        # Names are [a-z0-9_] (quoted all the same): nothing to inject.
        return (
            f"SELECT\n  {listed}\nFROM (\n  SELECT\n    {inner},\n"
            f"    row_number() OVER (\n"
            f"      PARTITION BY {', '.join(_quote(k) for k in self.keys)}\n"
            f"      ORDER BY\n        {order}\n"
            f"    ) AS {_quote(self.rank)}\n"
            f"  FROM {_quote(self.database)}.{_quote(self.table)}\n"
            f') AS "versions"\n'
            f"WHERE {where}"
        )

    def _order(self) -> list[str]:
        order = []
        if self.version_column is not None:
            column = _quote(self.version_column)
            order += [f"{column} IS NULL", f"{column} DESC"]
        for group in (2, 1):  # transfer timestamp, then part number
            parsed = f"regexp_extract({_quote(PATH_COLUMN)}, '{_PART_NAME}', {group})"
            order.append(f"coalesce(TRY_CAST({parsed} AS bigint), -1) DESC")
        return order

    def athena_statement(self) -> str:
        """``CREATE OR REPLACE VIEW`` as sent to Athena."""
        return (
            f"CREATE OR REPLACE VIEW {_quote(self.database)}.{_quote(self.name)} AS\n"
            f"{self.select()}"
        )

    def sha256(self) -> str:
        """The fingerprint of the Athena statement: the view is re-created when it changes."""
        return hashlib.sha256(self.athena_statement().encode()).hexdigest()


def describe(
    database: str,
    table: str,
    schema: pa.Schema,
    keys: tuple[str, ...],
    replication_key: str | None,
) -> CurrentView | None:
    """The current view of a table with columns ``schema`` (data columns, no ``dt``), or None
    when the table has no keys (or a key is not among its columns)."""
    names = tuple(schema.names)
    if not keys or any(k not in names for k in keys):
        return None
    version = None
    for candidate in (replication_key, FALLBACK_VERSION_COLUMN):
        if candidate in names and not pa.types.is_nested(schema.field(candidate).type):
            version = candidate
            break
    deleted = DELETED_COLUMN in names and pa.types.is_boolean(schema.field(DELETED_COLUMN).type)
    return CurrentView(database, table, names, keys, version, deleted)


def to_duckdb(trino_sql: str, database: str, table: str, source: str) -> str:
    """The DuckDB query of a current view, derived from its Athena text (``CREATE OR REPLACE
    VIEW ...`` or the bare ``SELECT``): parsed as Trino, ``"<database>"."<table>"`` replaced by
    ``source`` (a DuckDB query giving the table's columns, ``dt`` and ``"$path"``), printed
    as DuckDB."""
    return _to_duckdb(trino_sql, database, table, source)


@functools.lru_cache(maxsize=256)
def _to_duckdb(trino_sql: str, database: str, table: str, source: str) -> str:
    import sqlglot  # noqa: PLC0415 - only the DuckDB catalog needs it, not every run
    from sqlglot import expressions as exp  # noqa: PLC0415

    parsed = sqlglot.parse_one(trino_sql, read="trino")
    if isinstance(parsed, exp.Create):
        parsed = parsed.expression
    if not isinstance(parsed, exp.Query):
        raise TypeError(f"expected a query, got {type(parsed).__name__}")
    found = 0

    def substitute(node: exp.Expression) -> exp.Expression:
        nonlocal found
        if isinstance(node, exp.Table) and (node.db, node.name) == (database, table):
            found += 1
            return exp.Table(
                this=exp.to_identifier(SOURCE_CTE, quoted=True), alias=node.args.get("alias")
            )
        return node

    query = parsed.transform(substitute)
    if found != 1:
        raise ValueError(f"{database}.{table} appears {found} times in the view's query")
    return (
        f"WITH {_quote(SOURCE_CTE)} AS (\n{source}\n)\n{query.sql(dialect='duckdb', pretty=True)}"
    )


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
