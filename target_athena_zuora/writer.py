"""Parts: an open Parquet writer per model, closed into a complete, never-overwriting part.

A model keeps one open part while batches arrive; the part is closed when it reaches the
configured size, when its schema changes, or when the target needs data to be durable
(before STATE is emitted). Closing hands the finished file to the Storage, which creates it
exclusively; on a conflict the next part number is taken.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from target_athena_zuora.errors import KeyExistsError, SchemaError, StorageError
from target_athena_zuora.glue_types import glue_type
from target_athena_zuora.layout import TransferClock, part_key
from target_athena_zuora.storage import Storage

_MAX_KEY_ATTEMPTS = 1000
ROW_GROUP_BYTES = 16 * 1024 * 1024  # Arrow bytes gathered into one Parquet row group
T = TypeVar("T")


@dataclass
class ModelStats:
    """What one model landed in this run."""

    records: int = 0
    parts: int = 0
    bytes: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class PartOptions:
    """How parts are written."""

    schema: str
    clock: TransferClock
    compression: str
    part_size_bytes: int
    tmp_dir: Path


def merge_schemas(model: str, current: pa.Schema | None, new: pa.Schema) -> pa.Schema:
    """Additive evolution: keep every column, append new ones; a changed type is an error."""
    if current is None:
        return new
    fields = {f.name: f for f in current}
    for field in new:
        old = fields.get(field.name)
        fields[field.name] = field if old is None else _merge_field(model, old, field)
    return pa.schema(list(fields.values()))


def _merge_field(model: str, old: pa.Field, new: pa.Field) -> pa.Field:
    if old.type == new.type:
        return old
    if pa.types.is_struct(old.type) and pa.types.is_struct(new.type):
        merged = merge_schemas(model, pa.schema(list(old.type)), pa.schema(list(new.type)))
        return pa.field(old.name, pa.struct(list(merged)))
    raise SchemaError(
        f"stream for table {model}: column {old.name} changes type from {glue_type(old.type)} "
        f"to {glue_type(new.type)}; readers cannot reconcile both in one table — keep the type "
        "or land the new one under another column name with a stream map"
    )


def dictionary_columns(table: pa.Table) -> list[str]:
    """Flat columns worth dictionary-encoding: at most half their values distinct.

    Dictionary encoding of near-unique columns (ids, timestamps) costs time and bytes before
    Parquet gives up on it; a part's first batch decides for the whole part.
    """
    limit = max(1, table.num_rows // 2)
    return [
        field.name
        for field, column in zip(table.schema, table.columns, strict=True)
        if not pa.types.is_nested(field.type) and pc.count_distinct(column).as_py() <= limit
    ]


class ModelWriter:
    """One model's parts in this run: the open part, the part counter, the table's columns."""

    def __init__(self, model: str, storage: Storage, options: PartOptions) -> None:
        self.model = model
        self.storage = storage
        self.options = options
        self.table_schema: pa.Schema | None = None  # union of every version seen
        self.stats = ModelStats()
        self.catalog_stale = True
        self._writer: pq.ParquetWriter | None = None
        self._row_group: list[pa.Table] = []
        self._row_group_bytes = 0
        self._tmp = options.tmp_dir / f"{model}.parquet.tmp"
        self._next_part = 0

    def evolve(self, schema: pa.Schema) -> None:
        """Take a (new) stream schema into the table's columns."""
        merged = merge_schemas(self.model, self.table_schema, schema)
        if self.table_schema is None or not merged.equals(self.table_schema):
            self.table_schema = merged
            self.catalog_stale = True

    def write(self, table: pa.Table) -> None:
        """Add ``table`` to the open part; row groups gather ~``ROW_GROUP_BYTES`` of batches."""
        started = time.perf_counter()
        if self._row_group and not self._row_group[0].schema.equals(table.schema):
            self.close_part()
        self._row_group.append(table)
        self._row_group_bytes += table.nbytes
        self.stats.records += table.num_rows
        if self._row_group_bytes >= ROW_GROUP_BYTES:
            self._write_row_group()
        self.stats.seconds += time.perf_counter() - started

    def _write_row_group(self) -> None:
        if not self._row_group:
            return
        table = pa.concat_tables(self._row_group)
        self._row_group, self._row_group_bytes = [], 0
        if self._writer is None:
            self._writer = pq.ParquetWriter(
                self._tmp,
                table.schema,
                compression=self.options.compression,
                use_dictionary=dictionary_columns(table),
            )
        self._writer.write_table(table, row_group_size=max(table.num_rows, 1))
        if self._tmp.stat().st_size >= self.options.part_size_bytes:
            self.close_part()

    def close_part(self) -> None:
        """Finish the open part and store it under the next free part number."""
        self._write_row_group()
        if self._writer is None:
            return
        started = time.perf_counter()
        self._writer.close()
        self._writer = None
        size = self._tmp.stat().st_size
        for _ in range(_MAX_KEY_ATTEMPTS):
            key = part_key(self.options.schema, self.model, self.options.clock, self._next_part)
            self._next_part += 1
            try:
                self.storage.create(key, self._tmp)
                break
            except KeyExistsError:
                continue
        else:
            raise StorageError(f"table {self.model}: no free part number after {_MAX_KEY_ATTEMPTS}")
        self._tmp.unlink(missing_ok=True)
        self.stats.parts += 1
        self.stats.bytes += size
        self.stats.seconds += time.perf_counter() - started
        self.catalog_stale = True

    def abort(self) -> None:
        """Drop the open part: its records were never acknowledged by a STATE."""
        self._row_group, self._row_group_bytes = [], 0
        if self._writer is not None:
            try:
                self._writer.close()
            finally:
                self._writer = None
        self._tmp.unlink(missing_ok=True)


class Pipeline:
    """Two ordered stages beside the reading thread: convert, then write.

    Parsing batch n+1 overlaps writing batch n. At most ``max_pending`` jobs wait per stage,
    which bounds memory; the first failure is raised to the caller at its next submit or join.
    """

    def __init__(self, max_pending: int = 1) -> None:
        self._convert = ThreadPoolExecutor(max_workers=1, thread_name_prefix="convert")
        self._write = ThreadPoolExecutor(max_workers=1, thread_name_prefix="write")
        self._converting: deque[Future[object]] = deque()
        self._writing: deque[Future[None]] = deque()
        self._max_pending = max_pending

    def submit(self, convert: Callable[[], T], write: Callable[[T], None]) -> None:
        """Queue ``write(convert())``; waits while too many batches are queued in a stage."""
        _settle(self._converting, self._max_pending)
        _settle(self._writing, self._max_pending + 1)
        converted = self._convert.submit(convert)
        self._converting.append(converted)  # type: ignore[arg-type]
        self._writing.append(self._write.submit(lambda: write(converted.result())))

    def submit_write(self, job: Callable[[], None]) -> None:
        """Queue ``job`` in the write stage, after every write queued before it."""
        self._writing.append(self._write.submit(job))

    def join(self) -> None:
        """Wait for every queued job; raise the first failure."""
        _settle(self._converting, 0)
        _settle(self._writing, 0)

    def shutdown(self) -> None:
        """Stop both stages, dropping jobs that have not started."""
        for executor in (self._convert, self._write):
            executor.shutdown(wait=True, cancel_futures=True)
        self._converting.clear()
        self._writing.clear()


def _settle(futures: deque[Future[Any]], keep: int) -> None:
    """Raise the failure of any finished job; wait until at most ``keep`` are unfinished."""
    while futures and (futures[0].done() or len(futures) > keep):
        futures.popleft().result()
