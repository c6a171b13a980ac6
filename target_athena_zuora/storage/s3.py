"""Parts in S3: one conditional PUT per part, never overwriting."""

from __future__ import annotations

import hashlib
import typing as t
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from target_athena_zuora.aws_errors import aws_error, error_code
from target_athena_zuora.errors import KeyExistsError, StorageError

MAX_SINGLE_PUT = 5 * 1024**3  # S3's limit for one PUT
_CONFLICT = {"PreconditionFailed", "ConditionalRequestConflict"}

# IAM actions this module calls (iam.py builds the policy from these lists).
IAM_ACTIONS = ("s3:PutObject", "s3:GetObject", "s3:ListBucket")


class S3Storage:
    """Parts as objects in ``bucket``; thread-safe (boto3 clients are)."""

    def __init__(
        self, client: t.Any, bucket: str, *, sse: str = "none", kms_key_id: str | None = None
    ) -> None:
        self.client = client
        self.bucket = bucket
        self._extra: dict[str, str] = {}
        if sse != "none":
            self._extra["ServerSideEncryption"] = sse
        if kms_key_id and sse == "aws:kms":
            self._extra["SSEKMSKeyId"] = kms_key_id

    def create(self, key: str, source: Path) -> None:
        """Upload ``source`` in one PUT with ``If-None-Match: *``: whole, and never over an
        existing object (botocore retries; a failed PUT leaves no object)."""
        size = source.stat().st_size
        if size > MAX_SINGLE_PUT:
            raise StorageError(f"{self.uri(key)}: {size} bytes exceed one PUT; lower part_size_mb")
        try:
            with source.open("rb") as body:
                self.client.put_object(
                    Bucket=self.bucket, Key=key, Body=body, IfNoneMatch="*", **self._extra
                )
        except ClientError as error:
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status == 412 or error_code(error) in _CONFLICT:  # noqa: PLR2004 - HTTP status
                if _retried(error) and self._holds(key, source):
                    return  # our own earlier attempt landed; its answer was lost
                raise KeyExistsError(f"{self.uri(key)} already exists") from error
            raise aws_error(error, "s3:PutObject", self.uri(key), StorageError) from error
        except BotoCoreError as error:
            raise aws_error(error, "s3:PutObject", self.uri(key), StorageError) from error

    def _holds(self, key: str, source: Path) -> bool:
        """Whether the object at ``key`` has ``source``'s bytes (the ETag of a one-PUT,
        non-KMS object is its MD5; otherwise this says no and a new part is taken)."""
        try:
            etag = str(self.client.head_object(Bucket=self.bucket, Key=key)["ETag"])
        except (ClientError, BotoCoreError):
            return False
        digest = hashlib.md5(usedforsecurity=False)
        with source.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        return etag.strip('"') == digest.hexdigest()

    def uri(self, key: str) -> str:
        """``s3://bucket/key``."""
        return f"s3://{self.bucket}/{key}"

    def exists(self, key: str) -> bool:
        """Whether an object exists at ``key``."""
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if error_code(error) in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise aws_error(error, "s3:GetObject", self.uri(key), StorageError) from error
        except BotoCoreError as error:
            raise aws_error(error, "s3:GetObject", self.uri(key), StorageError) from error
        return True

    def close(self) -> None:
        """Nothing held open."""


def _retried(error: ClientError) -> bool:
    """Whether botocore sent the request more than once before this answer."""
    return bool(error.response.get("ResponseMetadata", {}).get("RetryAttempts", 0))
