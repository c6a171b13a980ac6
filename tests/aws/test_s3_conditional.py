"""S3Storage beyond the shared contract, on moto and SeaweedFS: concurrent creates of one
key (exactly one wins, whole), many parts uploaded from threads at once, encryption headers,
and errors that name the object."""

from __future__ import annotations

import hashlib
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from target_athena_zuora.aws import build_aws_destination
from target_athena_zuora.errors import KeyExistsError, StorageError
from target_athena_zuora.settings import Settings
from target_athena_zuora.storage.s3 import S3Storage

pytestmark = [pytest.mark.aws, pytest.mark.seaweedfs]  # the stubbed tests need neither

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


# --- a retried PUT whose first attempt landed (the answer was lost on the way back) -------


def stubbed_conflict(tmp_path: Path, retries: int, etag: str | None) -> None:
    """create() against S3 answering 412 after ``retries`` retries, the key holding ``etag``."""
    client = boto3.client("s3", region_name="us-east-1")
    (source,) = sources(tmp_path, 1)
    with Stubber(client) as stub:
        stub.add_client_error(
            "put_object",
            "PreconditionFailed",
            http_status_code=412,
            response_meta={"RetryAttempts": retries},
        )
        if etag is not None:
            stub.add_response("head_object", {"ETag": f'"{etag}"'})
        S3Storage(client, "bkt").create(KEY, source)
        stub.assert_no_pending_responses()


def md5_of(path: Path) -> str:
    return hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()


def test_a_retry_finding_its_own_object_is_success(tmp_path: Path) -> None:
    (source,) = sources(tmp_path, 1)
    stubbed_conflict(tmp_path, retries=1, etag=md5_of(source))


def test_a_retry_finding_another_object_is_a_conflict(tmp_path: Path) -> None:
    with pytest.raises(KeyExistsError):
        stubbed_conflict(tmp_path, retries=1, etag="0" * 32)


def test_a_first_attempt_conflict_is_a_conflict_without_looking(tmp_path: Path) -> None:
    with pytest.raises(KeyExistsError):
        stubbed_conflict(tmp_path, retries=0, etag=None)
