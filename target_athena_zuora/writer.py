"""Parts: an open Parquet writer per model, closed into a complete, never-overwriting part.

A model keeps one open part while batches arrive; the part is closed when it reaches the
configured size, when its schema changes, or when the landing lifecycle needs data to be
durable (a checkpoint, before STATE is emitted). Closing hands the finished file to the
Storage, which creates it exclusively; on a conflict the next part number is taken.
"""

from __future__ import annotations

import contextlib
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

from target_athena_zuora.errors import KeyExistsError, StorageError
from target_athena_zuora.files import os_errors
from target_athena_zuora.layout import TransferClock, part_key
from target_athena_zuora.storage import Storage

_MAX_KEY_ATTEMPTS = 1000
ROW_GROUP_BYTES = 16 * 1024 * 1024  # Arrow bytes gathered into one Parquet row group, at most
_MIN_ROW_GROUP_BYTES = 64 * 1024
_ROW_GROUPS_PER_PART = 8  # at least: the last one overshoots the part size by ~1/8 at most
_FIRST_RATIO = 4.0  # Arrow bytes per Parquet byte assumed before a row group is measured
T = TypeVar("T")


@dataclass
class ModelStats:
    """What one model landed in this run; times are ``time.monotonic()`` readings."""

    records: int = 0
    parts: int = 0
    bytes: int = 0
    first_write: float | None = None  # when its first batch reached the writer
    last_part: float | None = None  # when its last part was stored


@dataclass(frozen=True)
class LandedPart:
    """A part just stored: what the per-part log line says."""

    model: str
    key: str
    rows: int
    bytes: int


@dataclass(frozen=True)
class PartOptions:
    """How parts are written."""

    schema: str
    clock: TransferClock
    compression: str
    part_size_bytes: int
    tmp_dir: Path
    on_part: Callable[[LandedPart], None] | None = None


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
    """One model's parts in this run: the open part and the part counter.

    Row groups gather up to ``ROW_GROUP_BYTES`` of Arrow data, and less for small parts: the
    Arrow-to-Parquet ratio observed so far sizes them to about an eighth of ``part_size_mb``,
    so a part closes within about that much past the size.
    """

    def __init__(self, model: str, storage: Storage, options: PartOptions) -> None:
        self.model = model
        self.storage = storage
        self.options = options
        self.stats = ModelStats()
        self.landed = False  # a part was stored since the catalog last registered one
        self.metadata: dict[bytes, bytes] = {}  # written into each part's schema
        self._writer: pq.ParquetWriter | None = None
        self._pending: list[pa.Table] = []
        self._pending_bytes = 0
        self._part_rows = 0
        self._part_arrow_bytes = 0
        self._ratio = _FIRST_RATIO
        self._tmp = options.tmp_dir / f"{model}.parquet.tmp"
        self._next_part = 0

    @property
    def holds_data(self) -> bool:
        """Whether records wait in the open part, not yet stored."""
        return bool(self._pending) or self._writer is not None

    def _row_group_bytes(self) -> int:
        wanted = self.options.part_size_bytes * self._ratio / _ROW_GROUPS_PER_PART
        return int(max(_MIN_ROW_GROUP_BYTES, min(ROW_GROUP_BYTES, wanted)))

    def write(self, table: pa.Table) -> None:
        """Add ``table`` to the open part (a different schema closes it first)."""
        if self.stats.first_write is None:
            self.stats.first_write = time.monotonic()
        current = self._pending[0].schema if self._pending else None
        if current is None and self._writer is not None:
            current = self._writer.schema
        if current is not None and not current.equals(table.schema):
            self.close_part()
        self._pending.append(table)
        self._pending_bytes += table.nbytes
        self.stats.records += table.num_rows
        if self._pending_bytes >= self._row_group_bytes():
            self._write_pending()

    def _write_pending(self, *, final: bool = False) -> None:
        """Write full row groups of what is pending (everything when ``final``); a smaller
        remainder waits for the next batches."""
        if not self._pending:
            return
        table = pa.concat_tables(self._pending)
        self._pending, self._pending_bytes = [], 0
        row_bytes = max(1, table.nbytes // max(table.num_rows, 1))
        while table.num_rows:
            rows = max(1, self._row_group_bytes() // row_bytes)
            if table.num_rows < rows and not final:
                self._pending, self._pending_bytes = [table], table.nbytes
                return
            self._write_row_group(table.slice(0, rows))
            table = table.slice(rows)

    def _write_row_group(self, table: pa.Table) -> None:
        with os_errors(self._tmp):
            if self._writer is None:
                self._writer = pq.ParquetWriter(
                    self._tmp,
                    table.schema.with_metadata(self.metadata),
                    compression=self.options.compression,
                    use_dictionary=dictionary_columns(table),
                )
            self._writer.write_table(table, row_group_size=max(table.num_rows, 1))
            size = self._tmp.stat().st_size
        self._part_rows += table.num_rows
        self._part_arrow_bytes += table.nbytes
        if size:
            self._ratio = max(1.0, self._part_arrow_bytes / size)
        if size >= self.options.part_size_bytes:
            self.close_part()

    def close_part(self) -> None:
        """Finish the open part and store it under the next free part number."""
        self._write_pending(final=True)
        if self._writer is None:
            return
        with os_errors(self._tmp):
            self._writer.close()
            self._writer = None
            size = self._tmp.stat().st_size
        key = self._store()
        with os_errors(self._tmp, "remove"):
            self._tmp.unlink(missing_ok=True)
        rows, self._part_rows, self._part_arrow_bytes = self._part_rows, 0, 0
        self.stats.parts += 1
        self.stats.bytes += size
        self.stats.last_part = time.monotonic()
        self.landed = True
        if self.options.on_part is not None:
            self.options.on_part(LandedPart(self.model, key, rows, size))

    def _store(self) -> str:
        for _ in range(_MAX_KEY_ATTEMPTS):
            key = part_key(self.options.schema, self.model, self.options.clock, self._next_part)
            self._next_part += 1
            try:
                self.storage.create(key, self._tmp)
            except KeyExistsError:
                continue
            return key
        raise StorageError(f"table {self.model}: no free part number after {_MAX_KEY_ATTEMPTS}")

    def abort(self) -> None:
        """Drop the open part: its records were never acknowledged by a STATE."""
        self._pending, self._pending_bytes = [], 0
        self._part_rows, self._part_arrow_bytes = 0, 0
        writer, self._writer = self._writer, None
        if writer is not None:
            with contextlib.suppress(OSError):  # a full disk, say: the file goes all the same
                writer.close()
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
