"""The ``<model>_current`` views: one description of "the latest version of each key" and its
SQL, written once for Athena (Trino) and run by DuckDB as the very same text.

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

One text: the SELECT is the same string in both engines, only the relation it reads
differs — the table ``"<schema>"."<model>"`` in Athena (whose pseudo-column ``"$path"`` names
each row's file), and in DuckDB a relation over the same parts exposing each row's file path
as ``"$path"`` (``SOURCE_CTE``). The text keeps to what both read alike, and the tests prove
it: sqlglot parses it as Trino and as DuckDB into the same tree, and the Athena text,
transpiled by sqlglot, returns the DuckDB view's rows over the same parts. NULL ordering is
spelt out (``x IS NULL, x DESC``, not a session default), a file name that does not parse
ranks lowest (``coalesce(TRY_CAST(...), -1)``: Trino's ``regexp_extract`` returns NULL where
DuckDB's returns ``''``), and the regular expression has no backslashes.
"""

from __future__ import annotations

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

    def select(self, relation: str | None = None) -> str:
        """The view's query (Trino, and DuckDB alike) over ``relation`` (quoted SQL), by
        default the table ``"<database>"."<table>"``."""
        if relation is None:
            relation = f"{_quote(self.database)}.{_quote(self.table)}"
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
            f"  FROM {relation}\n"
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

    def duckdb_select(self, source: str) -> str:
        """The DuckDB view's query: ``select()``'s very text over ``source`` (a DuckDB query
        giving the table's columns, ``dt`` and ``"$path"``) in place of the table."""
        return f"WITH {_quote(SOURCE_CTE)} AS (\n{source}\n)\n{self.select(_quote(SOURCE_CTE))}"

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


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
