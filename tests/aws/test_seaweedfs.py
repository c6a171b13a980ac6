"""SeaweedFS (the session's server from conftest: signatures checked, ``If-None-Match``) as the
target's S3: ``S3Storage`` directly, then the CLI end to end with Glue/STS/Athena on moto,
each service reached only through boto3's ``AWS_ENDPOINT_URL_<SERVICE>`` variables."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from moto.server import ThreadedMotoServer

from target_athena_zuora.aws import Clients
from target_athena_zuora.errors import KeyExistsError, StorageError
from target_athena_zuora.settings import Settings
from target_athena_zuora.storage.s3 import S3Storage

pytestmark = pytest.mark.seaweedfs

CLI = Path(sys.executable).with_name("target-athena-zuora")
BUCKET = "zuora-lake"
KEY = re.compile(r"^zuora/invoice/dt=(\d{4}-\d{2}-\d{2})/(\d+)_(\d{14})\.parquet$")
SCHEMA = {
    "type": "SCHEMA",
    "stream": "Invoice",
    "key_properties": ["Id"],
    "schema": {
        "type": "object",
        "properties": {
            "Id": {"type": "string"},
            "Amount": {"type": ["number", "null"]},
            "UpdatedDate": {"type": ["string", "null"], "format": "date-time"},
            "Deleted": {"type": ["boolean", "null"]},
        },
    },
}
INVOICES = [
    {"Id": "INV-1", "Amount": 120.5, "UpdatedDate": "2024-03-01T10:15:30.123Z", "Deleted": False},
    {"Id": "INV-2", "Amount": -3.25, "UpdatedDate": "2024-03-02T00:00:00+02:00", "Deleted": True},
    {"Id": "INV-3", "Amount": 0.0, "UpdatedDate": "2024-03-03T23:59:59Z", "Deleted": False},
]
ARROW_TYPES = {
    "id": pa.string(),
    "amount": pa.float64(),
    "updated_date": pa.timestamp("ms", tz="UTC"),
    "deleted": pa.bool_(),
}
GLUE_TYPES = [
    ("id", "string"),
    ("amount", "double"),
    ("updated_date", "timestamp"),
    ("deleted", "boolean"),
]


REGION = "us-east-1"
Weed = Any  # the conftest's S3Server: endpoint, access_key, secret_key, client()


@pytest.fixture(scope="module")
def weed(seaweedfs: Weed) -> Weed:
    """The session's SeaweedFS server (tests/aws/conftest.py starts and stops it)."""
    return seaweedfs


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    """A moto server of this module's own (Glue, STS, Athena): database ``zuora`` is ours."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def bucket(weed: Weed) -> str:
    name = f"t-{uuid.uuid4().hex[:12]}"
    weed.client().create_bucket(Bucket=name)
    return name


def storage(weed: Weed, bucket: str, secret: str | None = None) -> S3Storage:
    """``S3Storage`` on a client built by the target's own ``Clients`` (its retry config)."""
    settings = Settings.from_config(
        {
            "bucket": bucket,
            "region": REGION,
            "endpoint_url": weed.endpoint,
            "aws_access_key_id": weed.access_key,
            "aws_secret_access_key": secret or weed.secret_key,
        }
    )
    return S3Storage(Clients(settings).client("s3"), bucket)


def read_object(weed: Weed, bucket: str, key: str) -> bytes:
    body: bytes = weed.client().get_object(Bucket=bucket, Key=key)["Body"].read()
    return body


def test_create_uploads_the_file_whole(weed: Weed, bucket: str, tmp_path: Path) -> None:
    data = os.urandom(300_000)
    (tmp_path / "part").write_bytes(data)
    key = "zuora/x/dt=2024-01-01/1_20240101000000.parquet"
    storage(weed, bucket).create(key, tmp_path / "part")
    assert read_object(weed, bucket, key) == data
    etag = weed.client().head_object(Bucket=bucket, Key=key)["ETag"]
    assert etag.strip('"') == hashlib.md5(data, usedforsecurity=False).hexdigest()


def test_second_create_of_a_key_raises_and_keeps_the_first(
    weed: Weed, bucket: str, tmp_path: Path
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.write_bytes(b"first part")
    second.write_bytes(b"second part, longer")
    target = storage(weed, bucket)
    target.create("k/1.parquet", first)
    with pytest.raises(KeyExistsError, match=f"s3://{bucket}/k/1.parquet already exists"):
        target.create("k/1.parquet", second)
    assert read_object(weed, bucket, "k/1.parquet") == b"first part"
    assert target.exists("k/1.parquet")
    assert not target.exists("k/2.parquet")


def test_a_wrong_secret_is_a_clear_storage_error(weed: Weed, bucket: str, tmp_path: Path) -> None:
    (tmp_path / "part").write_bytes(b"data")
    wrong = f"wrong-{uuid.uuid4().hex}"
    with pytest.raises(StorageError) as raised:
        storage(weed, bucket, secret=wrong).create("k/1.parquet", tmp_path / "part")
    assert not isinstance(raised.value, KeyExistsError)
    message = str(raised.value)
    assert message.startswith(f"s3:PutObject on s3://{bucket}/k/1.parquet: SignatureDoesNotMatch")
    assert wrong not in message
    assert weed.client().list_objects_v2(Bucket=bucket).get("KeyCount") == 0


# --- the CLI end to end ----------------------------------------------------------------------


def cli_env(weed: Weed, moto_url: str, home: Path) -> dict[str, str]:
    """Only boto3's own variables route the clients: S3 -> SeaweedFS, the rest -> moto."""
    (home / "empty").write_text("")
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TARGET_ATHENA_ZUORA_"))
    }
    env.update(
        AWS_ENDPOINT_URL_S3=weed.endpoint,
        AWS_ENDPOINT_URL_GLUE=moto_url,
        AWS_ENDPOINT_URL_STS=moto_url,
        AWS_ENDPOINT_URL_ATHENA=moto_url,
        AWS_ACCESS_KEY_ID=weed.access_key,
        AWS_SECRET_ACCESS_KEY=weed.secret_key,
        AWS_EC2_METADATA_DISABLED="true",
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=str(home / "empty"),
        AWS_SHARED_CREDENTIALS_FILE=str(home / "empty"),
    )
    return env


def singer_lines(invoices: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """SCHEMA, then each RECORD followed by a STATE."""
    lines: list[dict[str, Any]] = [SCHEMA]
    for number, invoice in enumerate(invoices, 1):
        lines.append({"type": "RECORD", "stream": "Invoice", "record": invoice})
        lines.append({"type": "STATE", "value": {"bookmarks": {"Invoice": number}}})
    return lines


def run_cli(lines: list[dict[str, Any]], env: dict[str, str], tmp_path: Path) -> list[str]:
    """Run the CLI (config: bucket and region only); assert exit 0; stdout lines."""
    config = tmp_path / f"config-{uuid.uuid4().hex[:6]}.json"
    config.write_text(json.dumps({"bucket": BUCKET, "region": REGION}))
    completed = subprocess.run(
        [str(CLI), "--config", str(config)],
        input="".join(json.dumps(line) + "\n" for line in lines).encode(),
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr.decode()[-3000:]
    return completed.stdout.decode().splitlines()


def landed(weed: Weed) -> dict[str, bytes]:
    """Every object of the bucket with its bytes (the run's _transfer_status part aside)."""
    client = weed.client()
    listed = client.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    return {
        o["Key"]: read_object(weed, BUCKET, o["Key"])
        for o in listed
        if "/_transfer_status/" not in o["Key"]
    }


def read_parts(parts: dict[str, bytes]) -> pa.Table:
    return pa.concat_tables(pq.read_table(io.BytesIO(data)) for data in parts.values())


def check_values(table: pa.Table, invoices: list[dict[str, Any]]) -> None:
    assert {f.name: f.type for f in table.schema} == ARROW_TYPES  # no dt column in the file
    rows = sorted(table.to_pylist(), key=lambda row: row["id"])
    assert [r["id"] for r in rows] == [i["Id"] for i in invoices]
    assert [r["amount"] for r in rows] == [i["Amount"] for i in invoices]
    assert [r["deleted"] for r in rows] == [i["Deleted"] for i in invoices]
    expected = [dt.datetime.fromisoformat(i["UpdatedDate"]) for i in invoices]
    assert [r["updated_date"] for r in rows] == expected


def check_glue(moto_url: str, days: set[str]) -> None:
    glue = boto3.client("glue", endpoint_url=moto_url, region_name=REGION)
    table = glue.get_table(DatabaseName="zuora", Name="invoice")["Table"]
    columns = table["StorageDescriptor"]["Columns"]
    assert [(c["Name"], c["Type"]) for c in columns] == GLUE_TYPES
    assert table["StorageDescriptor"]["Location"] == f"s3://{BUCKET}/zuora/invoice/"
    assert [k["Name"] for k in table["PartitionKeys"]] == ["dt"]
    partitions = glue.get_partitions(DatabaseName="zuora", TableName="invoice")["Partitions"]
    assert {p["Values"][0] for p in partitions} == days


def test_cli_lands_in_seaweedfs_with_glue_on_moto_through_env_endpoints(
    weed: Weed, moto_url: str, tmp_path: Path
) -> None:
    weed.client().create_bucket(Bucket=BUCKET)
    env = cli_env(weed, moto_url, tmp_path)
    before = dt.datetime.now(dt.UTC).date()
    lines = singer_lines(INVOICES[:2])
    stdout = run_cli(lines, env, tmp_path)
    assert json.loads(stdout[-1]) == lines[-1]["value"]

    first = landed(weed)
    matches = [KEY.match(key) for key in first]
    assert first and all(matches), sorted(first)
    days = {m[1] for m in matches if m}
    assert {dt.date.fromisoformat(d) for d in days} <= {before, dt.datetime.now(dt.UTC).date()}
    check_values(read_parts(first), INVOICES[:2])
    check_glue(moto_url, days)

    stdout = run_cli(singer_lines(INVOICES[2:]), env, tmp_path)
    assert json.loads(stdout[-1]) == {"bookmarks": {"Invoice": 1}}
    both = landed(weed)
    assert {k: both[k] for k in first} == first  # the first run's parts, byte for byte
    added = {k: v for k, v in both.items() if k not in first}
    assert added and all(KEY.match(k) for k in added), sorted(added)
    check_values(read_parts(added), INVOICES[2:])
    check_values(read_parts(both), INVOICES)
    check_glue(moto_url, days | {m[1] for m in map(KEY.match, added) if m})
