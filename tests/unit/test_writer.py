"""Parts: schema evolution, exclusive creation, size-based rotation."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from target_athena_zuora.layout import TransferClock, part_key
from target_athena_zuora.storage.local import LocalStorage
from target_athena_zuora.writer import ModelWriter, PartOptions

CLOCK = TransferClock(dt.datetime(2024, 3, 4, 5, 6, 7, tzinfo=dt.UTC))


# --- parts -------------------------------------------------------------------------------


def writer(root: Path, tmp: Path, part_size_bytes: int = 1 << 30) -> ModelWriter:
    tmp.mkdir(exist_ok=True)
    options = PartOptions("zuora", CLOCK, "snappy", part_size_bytes, tmp)
    return ModelWriter("invoice", LocalStorage(root), options)


def table(start: int, n: int) -> pa.Table:
    return pa.table({"id": pa.array([f"id-{i:04d}" for i in range(start, start + n)])})


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_part_path_and_contents(tmp_path: Path) -> None:
    w = writer(tmp_path / "root", tmp_path / "tmp")
    w.write(table(0, 3))
    w.write(table(3, 2))
    w.close_part()
    expected = tmp_path / "root" / "zuora/invoice/dt=2024-03-04/0_20240304050607.parquet"
    assert sorted((tmp_path / "root").rglob("*.parquet")) == [expected]
    assert pq.read_table(expected).column("id").to_pylist() == [f"id-{i:04d}" for i in range(5)]
    assert w.stats.parts == 1
    assert w.stats.records == 5
    assert w.stats.bytes == expected.stat().st_size
    assert not list((tmp_path / "tmp").iterdir())  # the temporary file is gone


def test_close_without_data_writes_nothing(tmp_path: Path) -> None:
    w = writer(tmp_path / "root", tmp_path / "tmp")
    w.close_part()
    assert not (tmp_path / "root").exists() or not list((tmp_path / "root").rglob("*.parquet"))
    assert w.stats.parts == 0


def test_existing_part_is_untouched_and_next_number_taken(tmp_path: Path) -> None:
    root = tmp_path / "root"
    taken = root / part_key("zuora", "invoice", CLOCK, 0)
    taken.parent.mkdir(parents=True)
    taken.write_bytes(b"not ours")
    before = (digest(taken), taken.stat().st_mtime_ns)
    w = writer(root, tmp_path / "tmp")
    w.write(table(0, 2))
    w.close_part()
    w.write(table(2, 2))
    w.close_part()
    assert (digest(taken), taken.stat().st_mtime_ns) == before
    part1 = root / part_key("zuora", "invoice", CLOCK, 1)
    part2 = root / part_key("zuora", "invoice", CLOCK, 2)
    assert pq.read_table(part1).column("id").to_pylist() == ["id-0000", "id-0001"]
    assert pq.read_table(part2).column("id").to_pylist() == ["id-0002", "id-0003"]
    assert w.stats.parts == 2


def test_part_numbers_increase_per_close(tmp_path: Path) -> None:
    root = tmp_path / "root"
    w = writer(root, tmp_path / "tmp")
    for i in range(3):
        w.write(table(i, 1))
        w.close_part()
    names = sorted(p.name for p in root.rglob("*.parquet"))
    assert names == [f"{i}_20240304050607.parquet" for i in range(3)]


def test_part_rotates_at_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Once a written row group takes the file past the part size, the part is closed."""
    one_write = table(0, 10).nbytes  # a row group per write
    monkeypatch.setattr("target_athena_zuora.writer.ROW_GROUP_BYTES", one_write)
    monkeypatch.setattr("target_athena_zuora.writer._MIN_ROW_GROUP_BYTES", one_write)
    root = tmp_path / "root"
    w = writer(root, tmp_path / "tmp", part_size_bytes=1)
    for i in range(3):
        w.write(table(i * 10, 10))
    assert w.stats.parts == 3
    parts = sorted(root.rglob("*.parquet"))
    assert [pq.read_table(p).num_rows for p in parts] == [10, 10, 10]


def test_part_stays_open_below_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    one_write = table(0, 10).nbytes
    monkeypatch.setattr("target_athena_zuora.writer.ROW_GROUP_BYTES", one_write)
    monkeypatch.setattr("target_athena_zuora.writer._MIN_ROW_GROUP_BYTES", one_write)
    root = tmp_path / "root"
    w = writer(root, tmp_path / "tmp", part_size_bytes=1 << 30)
    for i in range(3):
        w.write(table(i * 10, 10))
    assert w.stats.parts == 0
    w.close_part()
    (part,) = root.rglob("*.parquet")
    assert pq.ParquetFile(part).metadata.num_row_groups == 3
    assert pq.read_table(part).num_rows == 30


def test_schema_change_closes_the_open_part(tmp_path: Path) -> None:
    root = tmp_path / "root"
    w = writer(root, tmp_path / "tmp")
    w.write(table(0, 2))
    wider = pa.table({"id": ["x"], "status": ["Posted"]})
    w.write(wider)
    w.close_part()
    parts = sorted(root.rglob("*.parquet"))
    assert len(parts) == 2
    assert pq.read_table(parts[0]).column_names == ["id"]
    assert pq.read_table(parts[1]).to_pylist() == [{"id": "x", "status": "Posted"}]


def test_abort_drops_the_open_part(tmp_path: Path) -> None:
    root = tmp_path / "root"
    w = writer(root, tmp_path / "tmp")
    w.write(table(0, 2))
    w.abort()
    w.close_part()
    assert not list(root.rglob("*.parquet")) if root.exists() else True
    assert not list((tmp_path / "tmp").iterdir())
