"""GlueCatalog details the shared contract does not cover: the TableInput Athena needs,
partition projection, type changes (also inside structs), and optimistic concurrency."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

import boto3
import pyarrow as pa
import pytest
from botocore.stub import ANY, Stubber

from target_athena_zuora.aws import build_aws_destination
from target_athena_zuora.catalog import TableDefinition
from target_athena_zuora.catalog.glue import GlueCatalog
from target_athena_zuora.errors import CatalogError, SchemaError
from target_athena_zuora.glue_types import glue_columns, table_input
from target_athena_zuora.settings import Settings

SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("amount", pa.decimal128(18, 2)),
        ("updated_date", pa.timestamp("ms", tz="UTC")),
        ("bill_to", pa.struct([("city", pa.string()), ("zip", pa.int64())])),
    ]
)


def definition(schema: pa.Schema = SCHEMA, name: str = "invoice") -> TableDefinition:
    return TableDefinition("zuora", name, f"s3://bkt/zuora/{name}/", schema)


# --- the pure TableInput ------------------------------------------------------------------


def test_table_input_is_a_hive_parquet_table_athena_reads() -> None:
    table = table_input(definition())
    descriptor = table["StorageDescriptor"]
    assert table["Name"] == "invoice"
    assert table["TableType"] == "EXTERNAL_TABLE"
    assert table["Parameters"]["classification"] == "parquet"
    assert table["PartitionKeys"] == [{"Name": "dt", "Type": "string"}]
    assert descriptor["Location"] == "s3://bkt/zuora/invoice/"
    assert descriptor["Columns"] == [
        {"Name": "id", "Type": "string"},
        {"Name": "amount", "Type": "decimal(18,2)"},
        {"Name": "updated_date", "Type": "timestamp"},
        {"Name": "bill_to", "Type": "struct<city:string,zip:bigint>"},
    ]
    assert descriptor["SerdeInfo"]["SerializationLibrary"] == (
        "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
    )
    assert descriptor["InputFormat"] == (
        "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
    )
    assert descriptor["OutputFormat"] == (
        "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
    )
    assert not any(k.startswith("projection") for k in table["Parameters"])


def test_table_input_with_partition_projection() -> None:
    parameters = table_input(definition(), projection_start="2024-01-31")["Parameters"]
    assert {k: v for k, v in parameters.items() if "projection" in k or "template" in k} == {
        "projection.enabled": "true",
        "projection.dt.type": "date",
        "projection.dt.format": "yyyy-MM-dd",
        "projection.dt.range": "2024-01-31,NOW",
        "projection.dt.interval": "1",
        "projection.dt.interval.unit": "DAYS",
        "storage.location.template": "s3://bkt/zuora/invoice/dt=${dt}/",
    }


# --- against moto's Glue ------------------------------------------------------------------


@pytest.mark.aws
def test_changed_type_inside_a_struct_is_refused(moto_settings: Callable[..., Settings]) -> None:
    _, catalog = build_aws_destination(moto_settings())
    catalog.ensure_database("zuora")
    name = f"invoice_{uuid.uuid4().hex[:6]}"
    catalog.apply_table(definition(name=name))
    changed = pa.schema([*list(SCHEMA)[:3], pa.field("bill_to", pa.struct([("city", pa.int64())]))])
    with pytest.raises(SchemaError) as raised:
        catalog.apply_table(definition(changed, name))
    message = str(raised.value)
    assert f"zuora.{name}" in message and "bill_to.city" in message
    assert "from string to bigint" in message


@pytest.mark.aws
def test_evolution_keeps_columns_in_place_and_appends(
    moto_settings: Callable[..., Settings], glue_client: Any
) -> None:
    _, catalog = build_aws_destination(moto_settings())
    catalog.ensure_database("zuora")
    name = f"invoice_{uuid.uuid4().hex[:6]}"
    catalog.apply_table(definition(name=name))
    # A later version of the stream: a field dropped, another new, a struct widened.
    later = pa.schema(
        [
            ("id", pa.string()),
            ("status", pa.string()),
            (
                "bill_to",
                pa.struct([("city", pa.string()), ("zip", pa.int64()), ("x", pa.date32())]),
            ),
        ]
    )
    catalog.apply_table(definition(later, name))
    columns = glue_client.get_table(DatabaseName="zuora", Name=name)["Table"]["StorageDescriptor"]
    assert columns["Columns"] == [
        {"Name": "id", "Type": "string"},
        {"Name": "amount", "Type": "decimal(18,2)"},
        {"Name": "updated_date", "Type": "timestamp"},
        {"Name": "bill_to", "Type": "struct<city:string,zip:bigint,x:date>"},
        {"Name": "status", "Type": "string"},
    ]


@pytest.mark.aws
def test_partition_projection_registers_no_partitions(
    moto_settings: Callable[..., Settings], glue_client: Any
) -> None:
    settings = moto_settings(partition_projection=True)
    _, catalog = build_aws_destination(settings)
    catalog.ensure_database("zuora")
    name = f"invoice_{uuid.uuid4().hex[:6]}"
    table = definition(name=name)
    catalog.apply_table(table)
    catalog.add_partitions(table, ["2024-01-31"])
    found = glue_client.get_table(DatabaseName="zuora", Name=name)["Table"]
    assert found["Parameters"]["projection.enabled"] == "true"
    assert found["Parameters"]["projection.dt.range"].endswith(",NOW")
    assert glue_client.get_partitions(DatabaseName="zuora", TableName=name)["Partitions"] == []


@pytest.mark.aws
def test_partitions_point_at_their_folder(
    moto_settings: Callable[..., Settings], glue_client: Any
) -> None:
    _, catalog = build_aws_destination(moto_settings())
    catalog.ensure_database("zuora")
    name = f"invoice_{uuid.uuid4().hex[:6]}"
    table = definition(name=name)
    catalog.apply_table(table)
    catalog.add_partitions(table, ["2024-01-31", "2024-02-01"])
    catalog.add_partitions(table, ["2024-02-01"])  # already there: fine
    partitions = glue_client.get_partitions(DatabaseName="zuora", TableName=name)["Partitions"]
    assert sorted((p["Values"], p["StorageDescriptor"]["Location"]) for p in partitions) == [
        (["2024-01-31"], f"s3://bkt/zuora/{name}/dt=2024-01-31/"),
        (["2024-02-01"], f"s3://bkt/zuora/{name}/dt=2024-02-01/"),
    ]


# --- optimistic concurrency (moto ignores VersionId, so Glue's answers are stubbed) -------


def glue_table(columns: list[dict[str, str]], version: str) -> dict[str, Any]:
    found = table_input(definition(pa.schema([("id", pa.string())])))
    found["StorageDescriptor"]["Columns"] = columns
    return {"Table": {**found, "DatabaseName": "zuora", "VersionId": version}}


def test_update_carries_the_version_and_retries_a_concurrent_modification() -> None:
    client = boto3.client("glue", region_name="us-east-1")
    ours = pa.schema([("id", pa.string()), ("status", pa.string())])
    theirs = [{"Name": "id", "Type": "string"}, {"Name": "amount", "Type": "double"}]
    with Stubber(client) as stub:
        stub.add_response("get_table", glue_table(theirs[:1], "7"))
        stub.add_client_error(
            "update_table",
            "ConcurrentModificationException",
            expected_params={"DatabaseName": "zuora", "TableInput": ANY, "VersionId": "7"},
        )
        # Another writer added 'amount' meanwhile: re-read, merge, update with its version.
        stub.add_response("get_table", glue_table(theirs, "8"))
        stub.add_response(
            "update_table",
            {},
            expected_params={
                "DatabaseName": "zuora",
                "TableInput": table_input(
                    definition(
                        pa.schema(
                            [("id", pa.string()), ("amount", pa.float64()), ("status", pa.string())]
                        )
                    )
                ),
                "VersionId": "8",
            },
        )
        stub.add_response("get_partitions", {"Partitions": []})  # none to bring up to date
        # ... and the table read again: unchanged since, so no partition was left behind.
        merged = [*theirs, {"Name": "status", "Type": "string"}]
        stub.add_response("get_table", glue_table(merged, "9"))
        GlueCatalog(client).apply_table(definition(ours))
        stub.assert_no_pending_responses()


def test_access_denied_names_the_missing_action_and_the_table() -> None:
    client = boto3.client("glue", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_client_error("get_table", "EntityNotFoundException")
        stub.add_client_error("create_table", "AccessDeniedException", http_status_code=403)
        with pytest.raises(CatalogError) as raised:
            GlueCatalog(client).apply_table(definition())
    assert "glue:CreateTable" in str(raised.value)
    assert "zuora.invoice" in str(raised.value)


def test_glue_columns_are_what_the_table_input_carries() -> None:
    assert table_input(definition())["StorageDescriptor"]["Columns"] == glue_columns(SCHEMA)


@pytest.mark.aws
def test_projection_starts_at_the_transfer_date(
    moto_settings: Callable[..., Settings], glue_client: Any
) -> None:
    _, catalog = build_aws_destination(
        moto_settings(partition_projection=True), first_date="2024-01-31"
    )
    catalog.ensure_database("zuora")
    name = f"invoice_{uuid.uuid4().hex[:6]}"
    catalog.apply_table(definition(name=name))
    found = glue_client.get_table(DatabaseName="zuora", Name=name)["Table"]
    assert found["Parameters"]["projection.dt.range"] == "2024-01-31,NOW"


@pytest.mark.aws
def test_projection_switched_on_later_keeps_earlier_partitions_visible(
    moto_settings: Callable[..., Settings], glue_client: Any
) -> None:
    settings = moto_settings()
    _, registered = build_aws_destination(settings)
    registered.ensure_database("zuora")
    name = f"invoice_{uuid.uuid4().hex[:6]}"
    registered.apply_table(definition(name=name))
    created = glue_client.get_table(DatabaseName="zuora", Name=name)["Table"]["CreateTime"]
    # A later run, with projection on, a "today" after the table's creation day.
    projected = moto_settings(bucket=settings.bucket, partition_projection=True)
    _, catalog = build_aws_destination(projected, first_date="2099-01-01")
    catalog.apply_table(definition(name=name))
    found = glue_client.get_table(DatabaseName="zuora", Name=name)["Table"]
    start = created.astimezone(dt.UTC).strftime("%Y-%m-%d")
    assert found["Parameters"]["projection.dt.range"] == f"{start},NOW"
