"""The CLI landing Zuora-shaped streams in S3 (moto's server) with Glue tables."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from target_athena_zuora.glue_types import glue_columns

RunCli = Callable[..., Any]
Aws = Callable[[str], Any]

ROLE_ARN = "arn:aws:iam::123456789012:role/zuora-sync"

pytestmark = pytest.mark.aws

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "zuora_sample.singer"
KEY = re.compile(
    r"^(?P<schema>\w+)/(?P<model>[a-z0-9_]+)/dt=(?P<dt>\d{4}-\d{2}-\d{2})/"
    r"(?P<part>\d+)_(?P<ts>\d{14})\.parquet$"
)


def keys(aws: Aws, bucket: str) -> list[str]:
    """The models' parts (each run's _transfer_status part aside: test_transfer_status.py)."""
    listed = aws("s3").list_objects_v2(Bucket=bucket).get("Contents", [])
    return sorted(o["Key"] for o in listed if "/_transfer_status/" not in o["Key"])


def read_model(aws: Aws, bucket: str, prefix: str) -> pa.Table:
    s3 = aws("s3")
    tables = [
        pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))
        for key in keys(aws, bucket)
        if key.startswith(prefix)
    ]
    return pa.concat_tables(tables)


def sample_lines() -> list[dict[str, Any]]:
    return [json.loads(line) for line in SAMPLE.read_text().splitlines() if line.strip()]


def schema(stream: str, properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "SCHEMA",
        "stream": stream,
        "key_properties": ["Id"],
        "schema": {"type": "object", "properties": properties},
    }


def record(stream: str, values: dict[str, Any]) -> dict[str, Any]:
    return {"type": "RECORD", "stream": stream, "record": values}


def test_lands_the_layout_values_and_glue_tables(
    run_cli: RunCli, aws: Aws, aws_config: dict[str, Any], tmp_path: Path
) -> None:
    lines = sample_lines()
    result = run_cli(lines, config=aws_config)
    assert result.returncode == 0, result.stderr
    assert result.states[-1] == [m for m in lines if m["type"] == "STATE"][-1]["value"]

    landed = keys(aws, aws_config["bucket"])
    found = [KEY.match(k) for k in landed]
    matches = [m for m in found if m is not None]
    assert landed and len(matches) == len(landed), landed
    assert {m["schema"] for m in matches} == {aws_config["schema"]}
    assert len({(m["dt"], m["ts"]) for m in matches}) == 1  # one transfer clock

    local = run_cli(lines, config={"local_path": str(tmp_path / "local")})
    assert local.returncode == 0, local.stderr
    glue = aws("glue")
    database = aws_config["schema"]
    for model in sorted({m["model"] for m in matches}):
        in_s3 = read_model(aws, aws_config["bucket"], f"{database}/{model}/")
        on_disk = pa.concat_tables(
            pq.read_table(p) for p in sorted((tmp_path / "local" / "zuora" / model).glob("*/*"))
        )
        assert "dt" not in in_s3.column_names
        assert in_s3.schema.equals(on_disk.schema), model  # same types either destination
        assert in_s3.sort_by("id").equals(on_disk.sort_by("id")), model  # and same values

        table = glue.get_table(DatabaseName=database, Name=model)["Table"]
        assert table["StorageDescriptor"]["Columns"] == glue_columns(in_s3.schema)
        assert table["StorageDescriptor"]["Location"] == (
            f"s3://{aws_config['bucket']}/{database}/{model}/"
        )
        assert table["PartitionKeys"] == [{"Name": "dt", "Type": "string"}]
        assert table["Parameters"]["classification"] == "parquet"
        assert "ParquetHiveSerDe" in table["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"]
        partitions = glue.get_partitions(DatabaseName=database, TableName=model)["Partitions"]
        assert [p["Values"] for p in partitions] == [[matches[0]["dt"]]]
        location = partitions[0]["StorageDescriptor"]["Location"]
        assert location.endswith(f"/{model}/dt={matches[0]['dt']}/")


def test_second_run_adds_a_column_and_keeps_the_first_runs_objects(
    run_cli: RunCli, aws: Aws, aws_config: dict[str, Any]
) -> None:
    v1 = {"Id": {"type": "string"}, "Amount": {"type": ["number", "null"]}}
    first = run_cli(
        [
            schema("Invoice", v1),
            record("Invoice", {"Id": "a", "Amount": 1.5}),
            {"type": "STATE", "value": {"n": 1}},
        ],
        config=aws_config,
    )
    assert first.returncode == 0, first.stderr
    s3 = aws("s3")
    before = {
        k: s3.head_object(Bucket=aws_config["bucket"], Key=k)["ETag"]
        for k in keys(aws, aws_config["bucket"])
    }

    v2 = {**v1, "Status": {"type": ["string", "null"]}}
    second = run_cli(
        [
            schema("Invoice", v2),
            record("Invoice", {"Id": "b", "Amount": 2.0, "Status": "Posted"}),
            {"type": "STATE", "value": {"n": 2}},
        ],
        config=aws_config,
    )
    assert second.returncode == 0, second.stderr
    after = {
        k: s3.head_object(Bucket=aws_config["bucket"], Key=k)["ETag"]
        for k in keys(aws, aws_config["bucket"])
    }
    assert {k: after[k] for k in before} == before  # untouched
    assert len(after) == len(before) + 1
    table = aws("glue").get_table(DatabaseName=aws_config["schema"], Name="invoice")["Table"]
    assert table["StorageDescriptor"]["Columns"] == [
        {"Name": "id", "Type": "string"},
        {"Name": "amount", "Type": "double"},
        {"Name": "status", "Type": "string"},
    ]


def test_a_type_change_against_the_glue_table_is_one_clear_error(
    run_cli: RunCli, aws: Aws, aws_config: dict[str, Any]
) -> None:
    first = run_cli(
        [
            schema("Invoice", {"Id": {"type": "string"}, "Qty": {"type": "integer"}}),
            record("Invoice", {"Id": "a", "Qty": 1}),
        ],
        config=aws_config,
    )
    assert first.returncode == 0, first.stderr
    second = run_cli(
        [
            schema("Invoice", {"Id": {"type": "string"}, "Qty": {"type": "string"}}),
            record("Invoice", {"Id": "b", "Qty": "one"}),
            {"type": "STATE", "value": {"n": 2}},
        ],
        config=aws_config,
    )
    assert second.returncode == 1
    assert second.states == []
    parts = [k for k in keys(aws, aws_config["bucket"]) if "/invoice/" in k]
    assert len(parts) == 1  # the table refused the change before any part of it landed
    (line,) = second.error_lines
    assert "qty" in line and "bigint" in line and "string" in line, line
    assert "Traceback" not in second.stderr


def test_state_only_after_parts_are_in_s3(
    run_cli: RunCli, aws: Aws, aws_config: dict[str, Any]
) -> None:
    lines = [schema("Account", {"Id": {"type": "string"}})]
    for n in range(5):
        lines += [record("Account", {"Id": str(n)}), {"type": "STATE", "value": {"n": n}}]
    result = run_cli(lines, config=aws_config)
    assert result.returncode == 0, result.stderr
    assert result.states == [{"n": 4}]
    landed = read_model(aws, aws_config["bucket"], f"{aws_config['schema']}/account/")
    assert sorted(landed.column("id").to_pylist()) == ["0", "1", "2", "3", "4"]


SECRETS = {
    "aws_access_key_id": "AKIATESTKEYID0000001",
    "aws_secret_access_key": "sEcReT/do-not-log+0123456789abcdefghij",
    "aws_session_token": "SeSsIoNtOkEn-do-not-log-0123456789",
}


def test_access_key_auth_lands_and_logs_no_secret(
    run_cli: RunCli, aws: Aws, aws_config: dict[str, Any]
) -> None:
    config = {**aws_config, **SECRETS}
    result = run_cli(sample_lines(), config=config)
    assert result.returncode == 0, result.stderr
    assert keys(aws, aws_config["bucket"])
    for value in SECRETS.values():
        assert value not in result.stderr and value not in "\n".join(result.stdout)


def test_role_auth_assumes_the_role_with_the_external_id(
    run_cli: RunCli, aws: Aws, aws_config: dict[str, Any]
) -> None:
    external_id = "zuora-external-id-0123456789"
    config = {**aws_config, "role_arn": ROLE_ARN, "external_id": external_id}
    result = run_cli(sample_lines(), config=config, extra_args=["--test"])
    assert result.returncode == 0, result.stdout
    assert any(
        "role auth as arn:aws:sts::123456789012:assumed-role/zuora-sync/target-athena-zuora" in line
        for line in result.stdout
    ), result.stdout
    landed = run_cli(sample_lines(), config=config)
    assert landed.returncode == 0, landed.stderr
    assert external_id not in landed.stderr and external_id not in "\n".join(landed.stdout)


def test_partition_projection_covers_the_runs_own_partition(
    run_cli: RunCli, aws: Aws, aws_config: dict[str, Any]
) -> None:
    config = {**aws_config, "partition_projection": True}
    lines = [schema("Invoice", {"Id": {"type": "string"}}), record("Invoice", {"Id": "a"})]
    result = run_cli(lines, config=config)
    assert result.returncode == 0, result.stderr
    (key,) = keys(aws, aws_config["bucket"])
    match = KEY.match(key)
    assert match is not None, key
    glue = aws("glue")
    table = glue.get_table(DatabaseName=aws_config["schema"], Name="invoice")["Table"]
    parameters = table["Parameters"]
    assert parameters["projection.enabled"] == "true"
    assert parameters["projection.dt.range"] == f"{match['dt']},NOW"
    assert parameters["storage.location.template"] == (
        f"s3://{aws_config['bucket']}/{aws_config['schema']}/invoice/dt=${{dt}}/"
    )
    partitions = glue.get_partitions(DatabaseName=aws_config["schema"], TableName="invoice")
    assert partitions["Partitions"] == []  # projection instead of registered partitions
