"""Catalog interface: make a stream's parts queryable as a table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import pyarrow as pa

from target_athena_zuora.errors import CatalogError

__all__ = ["Catalog", "CatalogError", "TableDefinition"]

PARTITION_KEY = "dt"


@dataclass(frozen=True)
class TableDefinition:
    """A table over one model's parts.

    ``location`` is the storage URI of the model's folder (ending in ``/``); ``schema`` holds
    the data columns (the union of every version seen, in order of first appearance); the
    partition key ``dt`` (a ``YYYY-MM-DD`` string in the path) is not among them.
    """

    database: str
    name: str
    location: str
    schema: pa.Schema
    partition_keys: tuple[str, ...] = (PARTITION_KEY,)
    parameters: Mapping[str, str] = field(default_factory=dict)


class Catalog(Protocol):
    """A catalog that can hold databases of tables over Parquet parts."""

    def ensure_database(self, name: str) -> None:
        """Create the database when missing."""
        ...

    def apply_table(self, definition: TableDefinition) -> None:
        """Create the table, or evolve it additively to ``definition`` (never drop columns)."""
        ...

    def add_partitions(self, definition: TableDefinition, values: Sequence[str]) -> None:
        """Register ``dt`` partitions (values like ``2024-01-31``); existing ones are fine."""
        ...

    def close(self) -> None:
        """Release resources."""
        ...
