"""The Storage and Catalog behaviour contract, run against S3Storage and GlueCatalog on
moto's server (the same functions tests/contract runs against the local implementations)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from contract.behaviours import (
    CATALOG_BEHAVIOURS,
    STORAGE_BEHAVIOURS,
    CatalogUnderTest,
    StorageUnderTest,
)

from target_athena_zuora.catalog.glue import GlueCatalog
from target_athena_zuora.glue_types import glue_type
from target_athena_zuora.storage.s3 import S3Storage

pytestmark = pytest.mark.aws


@pytest.fixture
def s3_storage(s3_server: Any, tmp_path: Path) -> StorageUnderTest:
    """S3Storage on each S3 server (moto, SeaweedFS) in turn."""
    client, bucket = s3_server.client(), s3_server.new_bucket()

    def read(key: str) -> bytes:
        body: bytes = client.get_object(Bucket=bucket, Key=key)["Body"].read()
        return body

    return StorageUnderTest(S3Storage(client, bucket), read, tmp_path)


@pytest.fixture
def glue_catalog(aws: Callable[[str], Any], moto_s3: Any, tmp_path: Path) -> CatalogUnderTest:
    glue = aws("glue")

    def columns(database: str, table: str) -> list[tuple[str, str]]:
        found = glue.get_table(DatabaseName=database, Name=table)["Table"]
        listed = [*found["StorageDescriptor"]["Columns"], *found["PartitionKeys"]]
        return [(c["Name"], c["Type"]) for c in listed]

    return CatalogUnderTest(
        GlueCatalog(glue),
        S3Storage(moto_s3.client(), moto_s3.new_bucket()),
        columns,
        glue_type,
        None,  # moto cannot run Athena over the parts; values are checked in test_cli_s3
        tmp_path,
        partition_type="string",
    )


@pytest.mark.parametrize("behaviour", STORAGE_BEHAVIOURS, ids=lambda f: f.__name__)
def test_s3_storage(
    behaviour: Callable[[StorageUnderTest], None], s3_storage: StorageUnderTest
) -> None:
    behaviour(s3_storage)


@pytest.mark.parametrize("behaviour", CATALOG_BEHAVIOURS, ids=lambda f: f.__name__)
def test_glue_catalog(
    behaviour: Callable[[CatalogUnderTest], None], glue_catalog: CatalogUnderTest
) -> None:
    behaviour(glue_catalog)
