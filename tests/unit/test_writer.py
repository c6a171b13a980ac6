"""Parts: schema evolution, exclusive creation, size-based rotation."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from target_athena_zuora.errors import SchemaError
from target_athena_zuora.layout import TransferClock, part_key
from target_athena_zuora.storage.local import LocalStorage
from target_athena_zuora.writer import ModelWriter, PartOptions, merge_schemas

CLOCK = TransferClock(dt.datetime(2024, 3, 4, 5, 6, 7, tzinfo=dt.UTC))


# --- schema evolution ----------------------------------------------------------------------


def s(*fields: tuple[str, pa.DataType]) -> pa.Schema:
    return pa.schema([pa.field(n, t) for n, t in fields])


def test_first_schema_is_taken_as_is() -> None:
    new = s(("id", pa.string()))
    assert merge_schemas("invoice", None, new) == new


def test_added_columns_are_appended_and_none_dropped() -> None:
    old = s(("id", pa.string()), ("amount", pa.float64()))
    new = s(("id", pa.string()), ("status", pa.string()))
    assert merge_schemas("invoice", old, new) == s(
        ("id", pa.string()), ("amount", pa.float64()), ("status", pa.string())
    )


def test_struct_fields_are_merged_additively() -> None:
    old = s(("d", pa.struct([pa.field("a", pa.int64())])))
    new = s(("d", pa.struct([pa.field("b", pa.string()), pa.field("a", pa.int64())])))
    merged = merge_schemas("invoice", old, new)
    assert merged == s(("d", pa.struct([pa.field("a", pa.int64()), pa.field("b", pa.string())])))


@pytest.mark.parametrize(
    ("old", "new", "old_text", "new_text"),
    [
        (pa.int64(), pa.string(), "bigint", "string"),
        (pa.float64(), pa.decimal128(18, 2), "double", "decimal(18,2)"),
        (pa.timestamp("ms", tz="UTC"), pa.date32(), "timestamp", "date"),
        (pa.struct([pa.field("a", pa.int64())]), pa.string(), "struct<a:bigint>", "string"),
        (pa.list_(pa.int64()), pa.list_(pa.string()), "array<bigint>", "array<string>"),
    ],
    ids=[
        "bigint-to-string",
        "double-to-decimal",
        "timestamp-to-date",
        "struct-to-string",
        "list-items",
    ],
)
def test_type_change_is_an_error_naming_column_and_both_types(
    old: pa.DataType, new: pa.DataType, old_text: str, new_text: str
) -> None:
    with pytest.raises(SchemaError) as raised:
        merge_schemas("invoice", s(("id", pa.string()), ("amount", old)), s(("amount", new)))
    message = str(raised.value)
    assert "invoice" in message
    assert "amount" in message
    assert old_text in message
    assert new_text in message


def test_nested_type_change_is_an_error() -> None:
    old = s(("d", pa.struct([pa.field("a", pa.int64())])))
    new = s(("d", pa.struct([pa.field("a", pa.string())])))
    with pytest.raises(SchemaError, match="bigint"):
        merge_schemas("invoice", old, new)


# --- parts -------------------------------------------------------------------------------


def writer(root: Path, tmp: Path, part_size_bytes: int = 1 << 30) -> ModelWriter:
    tmp.mkdir(exist_ok=True)
    options = PartOptions("zuora", CLOCK, "snappy", part_size_bytes, tmp)
    return ModelWriter("invoice", LocalStorage(root), options)


def table(start: int, n: int) -> pa.Table:
    return pa.table({"id": pa.array([f"id-{i}" for i in range(start, start + n)])})


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_part_path_and_contents(tmp_path: Path) -> None:
    w = writer(tmp_path / "root", tmp_path / "tmp")
    w.evolve(table(0, 1).schema)
    w.write(table(0, 3))
    w.write(table(3, 2))
    w.close_part()
    expected = tmp_path / "root" / "zuora/invoice/dt=2024-03-04/0_20240304050607.parquet"
    assert sorted((tmp_path / "root").rglob("*.parquet")) == [expected]
    assert pq.read_table(expected).column("id").to_pylist() == [f"id-{i}" for i in range(5)]
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
    assert pq.read_table(part1).column("id").to_pylist() == ["id-0", "id-1"]
    assert pq.read_table(part2).column("id").to_pylist() == ["id-2", "id-3"]
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
    monkeypatch.setattr("target_athena_zuora.writer.ROW_GROUP_BYTES", 1)  # a row group per write
    root = tmp_path / "root"
    w = writer(root, tmp_path / "tmp", part_size_bytes=1)
    for i in range(3):
        w.write(table(i * 10, 10))
    assert w.stats.parts == 3
    parts = sorted(root.rglob("*.parquet"))
    assert [pq.read_table(p).num_rows for p in parts] == [10, 10, 10]


def test_part_stays_open_below_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("target_athena_zuora.writer.ROW_GROUP_BYTES", 1)
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
