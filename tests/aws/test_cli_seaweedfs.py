"""The CLI landing Zuora-shaped streams in a real S3 server (SeaweedFS: signatures checked,
``If-None-Match`` honoured) while Glue, STS and Athena stay on moto, each service reached
through boto3's own ``AWS_ENDPOINT_URL_<SERVICE>`` variables (no ``endpoint_url`` setting)."""

from __future__ import annotations

import io
import json
import re
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from target_athena_zuora.glue_types import glue_columns

pytestmark = [pytest.mark.aws, pytest.mark.seaweedfs]

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "zuora_sample.singer"
KEY = re.compile(
    r"^(?P<schema>\w+)/(?P<model>[a-z0-9_]+)/dt=(?P<dt>\d{4}-\d{2}-\d{2})/"
    r"(?P<part>\d+)_(?P<ts>\d{14})\.parquet$"
)


@pytest.fixture
def weed_config(
    seaweedfs: Any, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    """A config for a fresh SeaweedFS bucket; S3 -> SeaweedFS, the rest -> moto."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", seaweedfs.endpoint)
    for service in ("GLUE", "STS", "ATHENA"):
        monkeypatch.setenv(f"AWS_ENDPOINT_URL_{service}", moto_endpoint)
    return {
        "bucket": seaweedfs.new_bucket(),
        "region": "us-east-1",
        "schema": f"zuora_{uuid.uuid4().hex[:8]}",
        "aws_access_key_id": seaweedfs.access_key,
        "aws_secret_access_key": seaweedfs.secret_key,
    }


def objects(seaweedfs: Any, bucket: str) -> dict[str, str]:
    """Every key in ``bucket`` with its ETag (each run's _transfer_status part aside)."""
    listed = seaweedfs.client().list_objects_v2(Bucket=bucket).get("Contents", [])
    return {o["Key"]: o["ETag"] for o in listed if "/_transfer_status/" not in o["Key"]}


def read_model(seaweedfs: Any, bucket: str, prefix: str) -> pa.Table:
    client = seaweedfs.client()
    parts = [
        pq.read_table(io.BytesIO(client.get_object(Bucket=bucket, Key=key)["Body"].read()))
        for key in sorted(objects(seaweedfs, bucket))
        if key.startswith(prefix)
    ]
    return pa.concat_tables(parts, promote_options="default")  # older parts lack new columns


def sample() -> list[dict[str, Any]]:
    return [json.loads(line) for line in SAMPLE.read_text().splitlines() if line.strip()]


def test_sample_lands_in_seaweedfs_with_glue_tables_on_moto(
    run_cli: Any, weed_config: dict[str, Any], seaweedfs: Any, aws: Any, tmp_path: Path
) -> None:
    lines = sample()
    result = run_cli(lines, config=weed_config)
    assert result.returncode == 0, result.stderr
    assert result.states[-1] == [m for m in lines if m["type"] == "STATE"][-1]["value"]
    assert weed_config["aws_secret_access_key"] not in result.stderr + "\n".join(result.stdout)

    landed = objects(seaweedfs, weed_config["bucket"])
    matches = [KEY.match(key) for key in landed]
    assert landed and all(matches), landed
    models = sorted({m["model"] for m in matches if m})
    assert len({(m["dt"], m["ts"]) for m in matches if m}) == 1

    local = run_cli(lines, config={"local_path": str(tmp_path / "local")})
    assert local.returncode == 0, local.stderr
    database, glue = weed_config["schema"], aws("glue")
    for model in models:
        in_s3 = read_model(seaweedfs, weed_config["bucket"], f"{database}/{model}/")
        on_disk = pa.concat_tables(
            pq.read_table(p) for p in sorted((tmp_path / "local" / "zuora" / model).glob("*/*"))
        )
        assert in_s3.sort_by("id").equals(on_disk.sort_by("id")), model
        table = glue.get_table(DatabaseName=database, Name=model)["Table"]
        assert table["StorageDescriptor"]["Columns"] == glue_columns(in_s3.schema), model
        assert table["StorageDescriptor"]["Location"] == (
            f"s3://{weed_config['bucket']}/{database}/{model}/"
        )
        partitions = glue.get_partitions(DatabaseName=database, TableName=model)["Partitions"]
        assert [p["Values"] for p in partitions] == [[m["dt"] for m in matches if m][0:1]]


def test_second_run_evolves_the_table_and_overwrites_nothing(
    run_cli: Any, weed_config: dict[str, Any], seaweedfs: Any, aws: Any
) -> None:
    schema = {"Id": {"type": "string"}, "Amount": {"type": ["number", "null"]}}

    def run(properties: dict[str, Any], record: dict[str, Any]) -> None:
        result = run_cli(
            [
                {
                    "type": "SCHEMA",
                    "stream": "Invoice",
                    "key_properties": ["Id"],
                    "schema": {"type": "object", "properties": properties},
                },
                {"type": "RECORD", "stream": "Invoice", "record": record},
                {"type": "STATE", "value": {"at": record["Id"]}},
            ],
            config=weed_config,
        )
        assert result.returncode == 0, result.stderr
        assert result.states == [{"at": record["Id"]}]

    run(schema, {"Id": "a", "Amount": 1.5})
    before = objects(seaweedfs, weed_config["bucket"])
    run({**schema, "Status": {"type": ["string", "null"]}}, {"Id": "b", "Status": "Posted"})
    after = objects(seaweedfs, weed_config["bucket"])
    assert {k: after[k] for k in before} == before  # the same run second: a new part number
    assert len(after) == len(before) + 1
    columns = aws("glue").get_table(DatabaseName=weed_config["schema"], Name="invoice")["Table"]
    assert [c["Name"] for c in columns["StorageDescriptor"]["Columns"]] == [
        "id",
        "amount",
        "status",
    ]
    values = read_model(seaweedfs, weed_config["bucket"], f"{weed_config['schema']}/invoice/")
    assert sorted(values.column("id").to_pylist()) == ["a", "b"]


def test_a_wrong_secret_is_one_clear_error_without_the_secret(
    run_cli: Any, weed_config: dict[str, Any]
) -> None:
    wrong = "wrong-secret-0123456789abcdef/+"
    config = {**weed_config, "aws_secret_access_key": wrong}
    result = run_cli(
        [
            {
                "type": "SCHEMA",
                "stream": "Account",
                "key_properties": ["Id"],
                "schema": {"type": "object", "properties": {"Id": {"type": "string"}}},
            },
            {"type": "RECORD", "stream": "Account", "record": {"Id": "1"}},
            {"type": "STATE", "value": {"n": 1}},
        ],
        config=config,
    )
    assert result.returncode != 0
    assert result.states == []
    assert any("SignatureDoesNotMatch" in line for line in result.error_lines), result.stderr
    assert wrong not in result.stderr + "\n".join(result.stdout)
