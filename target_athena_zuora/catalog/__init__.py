"""Catalog interface: make a stream's parts queryable as a table."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import pyarrow as pa

from target_athena_zuora.errors import CatalogError

__all__ = ["Catalog", "CatalogError", "TableDefinition"]

PARTITION_KEY = "dt"
PART_METADATA_KEY = b"target_athena_zuora"  # JSON in each part's schema metadata


@dataclass(frozen=True)
class TableDefinition:
    """A table over one model's parts.

    ``location`` is the storage URI of the model's folder (ending in ``/``); ``schema`` holds
    the data columns (the union of every version seen, in order of first appearance); the
    partition key ``dt`` (a ``YYYY-MM-DD`` string in the path) is not among them.
    ``key_properties`` (column names) and ``replication_key`` (a column name, or None) are
    the stream's, kept with the table for its ``_current`` view.
    """

    database: str
    name: str
    location: str
    schema: pa.Schema
    partition_keys: tuple[str, ...] = (PARTITION_KEY,)
    parameters: Mapping[str, str] = field(default_factory=dict)
    key_properties: tuple[str, ...] = ()
    replication_key: str | None = None


class Catalog(Protocol):
    """A catalog that can hold databases of tables over Parquet parts."""

    def ensure_database(self, name: str) -> None:
        """Create the database when missing."""
        ...

    def apply_table(self, definition: TableDefinition) -> TableDefinition:
        """Create the table, or merge ``definition``'s columns into it by the one rule
        (``evolution.merge_schemas``: union in first-seen order, never dropped); return the
        table as it now is. A column changing type raises ``SchemaError`` and changes
        nothing."""
        ...

    def add_partitions(self, definition: TableDefinition, values: Sequence[str]) -> None:
        """Register ``dt`` partitions (values like ``2024-01-31``) with the table's columns;
        existing ones are fine."""
        ...

    def publish(self) -> None:
        """Make everything applied so far visible to readers."""
        ...

    def close(self) -> None:
        """Release resources."""
        ...


def part_metadata(definition: TableDefinition) -> dict[bytes, bytes]:
    """What each part carries of its table beyond the columns (its keys), so that the table
    can be derived from the parts alone (``--rebuild-catalog``)."""
    data = {
        "key_properties": list(definition.key_properties),
        "replication_key": definition.replication_key,
    }
    return {PART_METADATA_KEY: json.dumps(data).encode()}
