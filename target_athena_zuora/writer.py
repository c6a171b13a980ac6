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

import pyarrow as pa
import pyarrow.parquet as pq

from target_athena_zuora.errors import KeyExistsError, SchemaError, StorageError
from target_athena_zuora.glue_types import glue_type
from target_athena_zuora.layout import TransferClock, part_key
from target_athena_zuora.storage import Storage

_MAX_KEY_ATTEMPTS = 1000


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
        self._tmp = options.tmp_dir / f"{model}.parquet.tmp"
        self._next_part = 0

    def evolve(self, schema: pa.Schema) -> None:
        """Take a (new) stream schema into the table's columns."""
        merged = merge_schemas(self.model, self.table_schema, schema)
        if self.table_schema is None or not merged.equals(self.table_schema):
            self.table_schema = merged
            self.catalog_stale = True

    def write(self, table: pa.Table) -> None:
        """Append ``table`` to the open part (one row group), closing it when full."""
        started = time.perf_counter()
        if self._writer is not None and not self._writer.schema.equals(table.schema):
            self.close_part()
        if self._writer is None:
            self._writer = pq.ParquetWriter(
                self._tmp, table.schema, compression=self.options.compression
            )
        self._writer.write_table(table, row_group_size=max(table.num_rows, 1))
        self.stats.records += table.num_rows
        self.stats.seconds += time.perf_counter() - started
        if self._tmp.stat().st_size >= self.options.part_size_bytes:
            self.close_part()

    def close_part(self) -> None:
        """Finish the open part and store it under the next free part number."""
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
        if self._writer is not None:
            try:
                self._writer.close()
            finally:
                self._writer = None
        self._tmp.unlink(missing_ok=True)


class OrderedWorker:
    """Runs conversion and upload jobs one at a time, in order, beside the reading thread.

    At most ``max_pending`` jobs wait, which bounds memory; the first failure is raised to
    the caller at its next submit or join.
    """

    def __init__(self, max_pending: int = 2) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parts")
        self._pending: deque[Future[None]] = deque()
        self._max_pending = max_pending

    def submit(self, job: Callable[[], None]) -> None:
        """Queue ``job``; waits for the oldest job when too many are queued."""
        while len(self._pending) >= self._max_pending:
            self._pending.popleft().result()
        self._pending.append(self._executor.submit(job))

    def join(self) -> None:
        """Wait for every queued job; raise the first failure."""
        while self._pending:
            self._pending.popleft().result()

    def shutdown(self) -> None:
        """Stop the worker, dropping jobs that have not started."""
        self._executor.shutdown(wait=True, cancel_futures=True)
        self._pending.clear()
