"""OS errors injected where the disk is touched — write, fsync, rename — for machines where
tests/e2e/test_reliability.py cannot mount a small filesystem: each is one error line
naming the path and the OS's reason, nothing half-written stays."""

from __future__ import annotations

import datetime as dt
import errno
import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from target_athena_zuora.catalog import TableDefinition
from target_athena_zuora.catalog.duckdb import DuckDBCatalog
from target_athena_zuora.errors import CatalogError, StorageError
from target_athena_zuora.landing import Workspace
from target_athena_zuora.layout import TransferClock
from target_athena_zuora.storage.local import LocalStorage
from target_athena_zuora.writer import ModelWriter, PartOptions

FULL = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
CLOCK = TransferClock(dt.datetime(2024, 3, 4, 5, 6, 7, tzinfo=dt.UTC))


def failing(*_: Any, **__: Any) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("call", ["os.link", "os.fsync"], ids=["rename-by-link", "fsync"])
def test_local_storage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, call: str) -> None:
    source = tmp_path / "part.tmp"
    source.write_bytes(b"PAR1")
    storage = LocalStorage(tmp_path / "root")
    monkeypatch.setattr(call, failing)
    with pytest.raises(StorageError) as raised:
        storage.create("zuora/t/dt=2024-01-01/0_1.parquet", source)
    assert str(raised.value) == (
        f"cannot write {tmp_path / 'root/zuora/t/dt=2024-01-01/0_1.parquet'}: "
        "No space left on device"
    )
    assert not storage.exists("zuora/t/dt=2024-01-01/0_1.parquet")


def test_writer_full_disk_at_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "tmp").mkdir()
    options = PartOptions("zuora", CLOCK, "snappy", 1 << 30, tmp_path / "tmp")
    writer = ModelWriter("invoice", LocalStorage(tmp_path / "root"), options)
    monkeypatch.setattr("pyarrow.parquet.ParquetWriter.write_table", failing)
    writer.write(pa.table({"id": ["a"]}))
    with pytest.raises(StorageError) as raised:
        writer.close_part()
    assert str(raised.value) == (
        f"cannot write {tmp_path / 'tmp/invoice.parquet.tmp'}: No space left on device"
    )
    writer.abort()
    assert list((tmp_path / "tmp").iterdir()) == []


def test_workspace_on_a_read_only_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def read_only(*_: Any, **__: Any) -> None:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr("tempfile.mkdtemp", read_only)
    with pytest.raises(StorageError, match=r"Read-only file system$") as raised:
        Workspace(tmp_path)
    assert str(tmp_path) in str(raised.value)


@pytest.mark.parametrize(
    "call",
    ["shutil.copyfile", "os.fsync", "pathlib.Path.replace"],
    ids=["write", "fsync", "rename"],
)
def test_catalog_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, call: str
) -> None:
    catalog = DuckDBCatalog(tmp_path)
    schema = pa.schema([("id", pa.string())])
    catalog.apply_table(TableDefinition("zuora", "invoice", str(tmp_path) + "/", schema))
    catalog.publish()
    before = (tmp_path / "catalog.duckdb").read_bytes()
    catalog.apply_table(TableDefinition("zuora", "account", str(tmp_path) + "/", schema))
    monkeypatch.setattr(call, failing)
    with pytest.raises(CatalogError) as raised:
        catalog.publish()
    assert (
        str(raised.value) == f"cannot write {tmp_path / 'catalog.duckdb'}: No space left on device"
    )
    monkeypatch.undo()
    assert (tmp_path / "catalog.duckdb").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if ".tmp" in p.name] == []
