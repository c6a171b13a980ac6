"""S3Storage beyond the shared contract, on moto and SeaweedFS: concurrent creates of one
key (exactly one wins, whole), many parts uploaded from threads at once, encryption headers,
and errors that name the object."""

from __future__ import annotations

import hashlib
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from target_athena_zuora.aws import build_aws_destination
from target_athena_zuora.errors import KeyExistsError, StorageError
from target_athena_zuora.settings import Settings
from target_athena_zuora.storage.s3 import S3Storage

pytestmark = [pytest.mark.aws, pytest.mark.seaweedfs]

WRITERS = 8
KEY = "zuora/invoice/dt=2024-01-31/0_x.parquet"


def storage_on(server: Any, bucket: str, **settings: Any) -> S3Storage:
    config = {
        "bucket": bucket,
        "region": "us-east-1",
        "endpoint_url": server.endpoint,
        "aws_access_key_id": server.access_key,
        "aws_secret_access_key": server.secret_key,
        **settings,
    }
    storage, _ = build_aws_destination(Settings.from_config(config))
    assert isinstance(storage, S3Storage)
    return storage


def sources(tmp_path: Path, count: int, size: int = 256 * 1024) -> list[Path]:
    paths = []
    for index in range(count):
        path = tmp_path / f"{index}.parquet"
        path.write_bytes(bytes([index]) * size)
        paths.append(path)
    return paths


def test_racing_creates_of_one_key_leave_exactly_one_whole_object(
    s3_server: Any, tmp_path: Path
) -> None:
    bucket = s3_server.new_bucket()
    storage = storage_on(s3_server, bucket)
    key = f"zuora/invoice/dt=2024-01-31/0_{uuid.uuid4().hex[:6]}.parquet"

    def create(source: Path) -> str:
        try:
            storage.create(key, source)
        except KeyExistsError:
            return "exists"
        return "created"

    files = sources(tmp_path, WRITERS)
    with ThreadPoolExecutor(WRITERS) as pool:
        outcomes = list(pool.map(create, files))
    assert sorted(outcomes) == ["created"] + ["exists"] * (WRITERS - 1)
    stored = s3_server.client().get_object(Bucket=bucket, Key=key)["Body"].read()
    winner = files[outcomes.index("created")].read_bytes()
    assert hashlib.sha256(stored).digest() == hashlib.sha256(winner).digest()


def test_parts_upload_from_threads_at_once(s3_server: Any, tmp_path: Path) -> None:
    bucket = s3_server.new_bucket()
    storage = storage_on(s3_server, bucket)
    files = sources(tmp_path, WRITERS)
    keys = [f"zuora/account/dt=2024-01-31/{n}_20240131120000.parquet" for n in range(WRITERS)]
    with ThreadPoolExecutor(WRITERS) as pool:
        list(pool.map(storage.create, keys, files))
    client = s3_server.client()
    for key, source in zip(keys, files, strict=True):
        assert client.get_object(Bucket=bucket, Key=key)["Body"].read() == source.read_bytes()


def test_sse_aes256_is_requested_for_every_part(moto_s3: Any, tmp_path: Path) -> None:
    bucket = moto_s3.new_bucket()
    storage = storage_on(moto_s3, bucket, sse="AES256")
    (source,) = sources(tmp_path, 1)
    storage.create(KEY, source)
    head = moto_s3.client().head_object(
        Bucket=bucket, Key="zuora/invoice/dt=2024-01-31/0_x.parquet"
    )
    assert head["ServerSideEncryption"] == "AES256"


def test_sse_kms_names_the_key(moto_s3: Any, tmp_path: Path) -> None:
    bucket = moto_s3.new_bucket()
    storage = storage_on(moto_s3, bucket, sse="aws:kms", kms_key_id="alias/zuora-parts")
    (source,) = sources(tmp_path, 1)
    storage.create(KEY, source)
    head = moto_s3.client().head_object(
        Bucket=bucket, Key="zuora/invoice/dt=2024-01-31/0_x.parquet"
    )
    assert head["ServerSideEncryption"] == "aws:kms"
    assert "zuora-parts" in head["SSEKMSKeyId"]


def test_a_missing_bucket_is_a_storage_error_naming_the_object(
    s3_server: Any, tmp_path: Path
) -> None:
    storage = storage_on(s3_server, "no-such-bucket-here")
    (source,) = sources(tmp_path, 1)
    with pytest.raises(StorageError) as raised:
        storage.create("zuora/invoice/dt=2024-01-31/0_x.parquet", source)
    assert not isinstance(raised.value, KeyExistsError)
    assert "s3://no-such-bucket-here/zuora/invoice/dt=2024-01-31/0_x.parquet" in str(raised.value)
    assert "NoSuchBucket" in str(raised.value)
