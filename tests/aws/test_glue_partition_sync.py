"""GlueCatalog keeps every registered partition's columns equal to its table's, at the
catalog level (moto's server): runs that overlap, partitions left stale by an earlier
version, many partitions (batches of at most 100, every page of GetPartitions), and none of
it with partition projection.

The client is wrapped in ``LimitedGlue``, which holds the catalog to Glue's real limits that
moto does not enforce (100 partitions per batch create/update, 1000 per batch get) and
serves GetPartitions in small pages, recording every call.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pytest
from botocore.exceptions import ClientError

from target_athena_zuora.catalog import TableDefinition
from target_athena_zuora.catalog.glue import GlueCatalog
from target_athena_zuora.glue_types import glue_columns, storage_descriptor

from .athena_rule import violations
from .landing_runs import glue_partitions, glue_table, plain

pytestmark = pytest.mark.aws

Aws = Callable[[str], Any]
LIMITS = {  # Glue's documented maxima (botocore's model: PartitionInputList max 100, ...)
    "batch_create_partition": ("PartitionInputList", 100),
    "batch_update_partition": ("Entries", 100),
    "batch_get_partition": ("PartitionsToGet", 1000),
}


@dataclass
class LimitedGlue:
    """A Glue client (moto) held to Glue's batch limits, paging GetPartitions by
    ``page_size``; ``calls`` lists ``(operation, batch size)``."""

    client: Any
    page_size: int = 40
    calls: list[tuple[str, int]] = field(default_factory=list)

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.client, name)
        if name not in LIMITS:
            return method
        key, limit = LIMITS[name]

        def limited(**kwargs: Any) -> Any:
            size = len(kwargs[key])
            self.calls.append((name, size))
            if size > limit:
                message = f"{key}: at most {limit}"
                raise ClientError(
                    {"Error": {"Code": "ValidationException", "Message": message}}, name
                )
            return method(**kwargs)

        return limited

    def get_paginator(self, name: str) -> Any:
        assert name == "get_partitions", name
        return _Pages(self)

    def operations(self, name: str) -> list[int]:
        return [size for operation, size in self.calls if operation == name]


@dataclass
class _Pages:
    glue: LimitedGlue

    def paginate(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        everything = self.glue.client.get_partitions(**kwargs)["Partitions"]
        size = self.glue.page_size
        for start in range(0, max(len(everything), 1), size):
            self.glue.calls.append(("get_partitions", 1))
            page: dict[str, Any] = {"Partitions": everything[start : start + size]}
            if start + size < len(everything):
                page["NextToken"] = str(start + size)
            yield page


V1 = pa.schema(
    [("id", pa.string()), ("bill_to", pa.struct([("city", pa.string()), ("zip", pa.int64())]))]
)
V2 = pa.schema(  # street arrives in the middle; status is new
    [
        ("id", pa.string()),
        (
            "bill_to",
            pa.struct([("city", pa.string()), ("street", pa.string()), ("zip", pa.int64())]),
        ),
        ("status", pa.string()),
    ]
)
V3 = pa.schema([("id", pa.string()), ("amount", pa.float64())])  # bill_to, status no longer sent


@dataclass(frozen=True)
class Table:
    glue: Any
    database: str
    name: str = "account"

    def definition(self, schema: pa.Schema) -> TableDefinition:
        location = f"s3://bucket/{self.database}/{self.name}/"
        return TableDefinition(self.database, self.name, location, schema, key_properties=("id",))

    def columns(self) -> list[tuple[str, str]]:
        return plain(
            glue_table(self.glue, self.database, self.name)["StorageDescriptor"]["Columns"]
        )

    def partition_problems(self) -> list[str]:
        table = glue_table(self.glue, self.database, self.name)["StorageDescriptor"]["Columns"]
        problems = []
        for partition in glue_partitions(self.glue, self.database, self.name):
            held = partition["StorageDescriptor"]["Columns"]
            where = f"dt={partition['Values'][0]}"
            if plain(held) != plain(table):
                problems.append(f"{where}: {plain(held)} != table's {plain(table)}")
            problems.extend(f"{where}: {line}" for line in violations(table, held))
        return problems


@pytest.fixture
def table(aws: Aws) -> Table:
    glue = aws("glue")
    database = f"zuora_{uuid.uuid4().hex[:8]}"
    glue.create_database(DatabaseInput={"Name": database})
    return Table(glue, database)


def catalog(table: Table, **options: Any) -> tuple[GlueCatalog, LimitedGlue]:
    limited = LimitedGlue(table.glue)
    return GlueCatalog(limited, **options), limited


def test_a_run_that_applied_an_older_view_registers_its_partition_with_the_tables_columns(
    table: Table,
) -> None:
    """Two overlapping runs: A applies v1, B applies v2, then A registers its partition.
    A's definition is older than the table: the partition must still carry the table's
    columns."""
    a, _ = catalog(table)
    b, _ = catalog(table)
    applied_a = a.apply_table(table.definition(V1))
    b.apply_table(table.definition(V2))
    a.add_partitions(applied_a, ["2026-01-01"])
    assert table.partition_problems() == []


def test_a_partition_is_never_taken_back_to_an_older_view(table: Table) -> None:
    """B evolved the table and brought dt=2026-01-01 up to it; A (still holding v1) then
    registers the same day again: the partition keeps the table's columns."""
    a, _ = catalog(table)
    b, _ = catalog(table)
    applied_a = a.apply_table(table.definition(V1))
    a.add_partitions(applied_a, ["2026-01-01"])
    applied_b = b.apply_table(table.definition(V2))
    b.add_partitions(applied_b, ["2026-01-01"])
    assert table.partition_problems() == []
    a.add_partitions(applied_a, ["2026-01-01"])
    assert table.partition_problems() == []


def test_partitions_left_stale_by_an_earlier_version_are_healed_by_the_next_apply(
    table: Table,
) -> None:
    """An earlier version registered partitions once and never updated them; the next run
    (even one that changes no column) brings them up to the table."""
    glue_catalog, _ = catalog(table)
    applied = glue_catalog.apply_table(table.definition(V2))
    stale = glue_columns(V1)
    table.glue.batch_create_partition(
        DatabaseName=table.database,
        TableName=table.name,
        PartitionInputList=[
            {
                "Values": [day],
                "StorageDescriptor": storage_descriptor(stale, f"{applied.location}dt={day}/"),
            }
            for day in ("2025-12-30", "2025-12-31")
        ],
    )
    assert table.partition_problems()  # the helper sees it
    glue_catalog.apply_table(table.definition(V2))
    assert table.partition_problems() == []


def test_every_partition_across_pages_is_updated_in_batches_of_at_most_100(
    table: Table,
) -> None:
    days = [f"2025-{1 + n // 28:02d}-{1 + n % 28:02d}" for n in range(250)]
    glue_catalog, limited = catalog(table)
    applied = glue_catalog.apply_table(table.definition(V1))
    glue_catalog.add_partitions(applied, days)
    assert all(size <= 100 for size in limited.operations("batch_create_partition"))
    assert len(glue_partitions(table.glue, table.database, table.name)) == 250

    limited.calls.clear()
    glue_catalog.apply_table(table.definition(V2))
    assert table.partition_problems() == []
    assert limited.operations("get_partitions") == [1] * 7  # 250 partitions, pages of 40
    assert limited.operations("batch_update_partition") == [100, 100, 50]

    limited.calls.clear()
    glue_catalog.apply_table(table.definition(V3))
    assert table.partition_problems() == []
    assert limited.operations("batch_update_partition") == [100, 100, 50]
    assert table.columns() == [
        ("id", "string"),
        ("bill_to", "struct<city:string,zip:bigint,street:string>"),
        ("status", "string"),
        ("amount", "double"),
    ]

    limited.calls.clear()
    glue_catalog.apply_table(table.definition(V3))  # nothing changed: nothing rewritten
    assert limited.operations("batch_update_partition") == []


def test_with_projection_no_partition_is_registered_or_read(table: Table) -> None:
    glue_catalog, limited = catalog(table, partition_projection=True, first_date="2026-01-01")
    for schema in (V1, V2, V3):
        applied = glue_catalog.apply_table(table.definition(schema))
        glue_catalog.add_partitions(applied, ["2026-01-02"])
    assert limited.calls == []
    assert glue_partitions(table.glue, table.database, table.name) == []
    parameters = glue_table(table.glue, table.database, table.name)["Parameters"]
    assert parameters["projection.dt.range"] == "2026-01-01,NOW"
    assert parameters["projection.enabled"] == "true"
    assert [name for name, _ in table.columns()] == ["id", "bill_to", "status", "amount"]
