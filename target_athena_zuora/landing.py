"""The landing lifecycle of one run: open parts, the convert/write pipeline, checkpoints.

One ``Lander`` per run, driven from the main thread only. Sinks hand it batches; the target
wires it to the SDK. Every path to "durable" — a STATE from the tap, the idle and age
timers, the end of input, a graceful stop on a signal — goes through ``checkpoint``:

1. every buffered record is handed to the pipeline and every open part is closed and
   stored (complete, never overwriting);
2. the catalog is applied: tables evolved by the one column rule (``evolution``), the run's
   partition registered, and the result published (DuckDB file replaced, Glue updated);
3. only then the latest STATE is printed, if it is newer than the last one printed.

A failure in 1 or 2 raises, so no STATE is ever printed past durable data.
"""

from __future__ import annotations

import copy
import fcntl
import logging
import os
import shutil
import tempfile
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa

from target_athena_zuora import status
from target_athena_zuora.catalog import Catalog, TableDefinition, part_metadata
from target_athena_zuora.destinations import build_destination
from target_athena_zuora.errors import SchemaError
from target_athena_zuora.evolution import merge_schemas
from target_athena_zuora.files import os_errors
from target_athena_zuora.layout import TransferClock, model_prefix
from target_athena_zuora.schema import StreamSchema
from target_athena_zuora.settings import Settings
from target_athena_zuora.storage import Storage
from target_athena_zuora.writer import LandedPart, ModelWriter, PartOptions, Pipeline

WORKSPACE_PREFIX = ".parts-"  # under local_path (local), or the system temp dir (S3)
_ALIVE = ".alive"  # held locked by the live run that owns a workspace
_UNLOCKED_STALE_S = 24 * 3600  # a workspace of an older version (no lock) left this long
PROGRESS_EVERY_S = 30.0

State = dict[str, Any]


class Buffer(Protocol):
    """Something that holds records not yet handed to the pipeline (a sink)."""

    stream_name: str

    def flush(self) -> None:
        """Hand every buffered record to the pipeline."""
        ...


@dataclass
class Timers:
    """When the input's quiet or the oldest unacknowledged data's age calls a checkpoint."""

    idle_seconds: float
    max_seconds: float
    last_input: float
    pending_since: float | None = None

    def due(self, now: float) -> str | None:
        """Why a checkpoint is due now (``idle`` or ``max-age``), or None."""
        if self.pending_since is None:
            return None
        if now - self.last_input >= self.idle_seconds:
            return f"input quiet for {now - self.last_input:.1f} s"
        if now - self.pending_since >= self.max_seconds:
            return f"oldest unacknowledged data {now - self.pending_since:.0f} s old"
        return None


class Workspace:
    """The run's temporary directory for open parts, marked alive by a lock it holds.

    On creation, workspaces of runs that are no longer alive (their lock is free) are
    removed; a live concurrent run's workspace is never touched.
    """

    def __init__(self, parent: Path) -> None:
        with os_errors(parent, "create a temporary directory in"):
            parent.mkdir(parents=True, exist_ok=True)
            self.path = Path(tempfile.mkdtemp(prefix=WORKSPACE_PREFIX, dir=parent))
            self._lock = os.open(self.path / _ALIVE, os.O_CREAT | os.O_RDWR, 0o600)
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        self._finalizer = weakref.finalize(self, _remove_workspace, self.path, self._lock)
        self.removed = remove_stale_workspaces(parent, keep=self.path)

    def remove(self) -> None:
        """Remove the directory and release the lock (idempotent)."""
        self._finalizer()


def _remove_workspace(path: Path, lock: int) -> None:
    shutil.rmtree(path, ignore_errors=True)
    os.close(lock)


def remove_stale_workspaces(parent: Path, keep: Path | None = None) -> list[Path]:
    """Remove workspaces under ``parent`` whose run is gone; return them."""
    removed = []
    for path in parent.glob(f"{WORKSPACE_PREFIX}*"):
        if path == keep or not path.is_dir():
            continue
        if _is_stale(path):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _is_stale(path: Path) -> bool:
    alive = path / _ALIVE
    if not alive.exists():
        newest = max((p.stat().st_mtime for p in path.rglob("*")), default=path.stat().st_mtime)
        return time.time() - newest > _UNLOCKED_STALE_S
    try:
        descriptor = os.open(alive, os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False  # its run holds the lock: alive
    finally:
        os.close(descriptor)  # closing drops the lock we may have taken
    return True


class Lander:
    """Lands one run: writers per model, the pipeline, the catalog, checkpoints, timers."""

    def __init__(
        self,
        settings: Settings,
        clock: TransferClock,
        *,
        latest_state: Callable[[], State | None],
        emit_state: Callable[[State], None],
        logger: logging.Logger,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.logger = logger
        self.pipeline = Pipeline()
        self.writers: dict[str, ModelWriter] = {}
        self._latest_state = latest_state
        self._emit_state = emit_state
        self._acknowledged: State | None = None
        self._buffers: list[Buffer] = []
        self._streams: dict[str, str] = {}  # model -> the stream landing in it
        self._tables: dict[str, TableDefinition] = {}  # model -> as the catalog holds it
        self._unpublished = False  # tables applied since the catalog last published
        self._destination: tuple[Storage, Catalog] | None = None
        self._workspace: Workspace | None = None
        self._database_ready = False
        self._status_landed = False
        now = time.monotonic()
        self.started = now
        self.timers = Timers(settings.flush_idle_seconds, settings.flush_max_seconds, now)
        self._progress_at = now + PROGRESS_EVERY_S
        self._records_in: dict[str, int] = {}

    # --- wiring ------------------------------------------------------------------------------

    @property
    def destination(self) -> tuple[Storage, Catalog]:
        """The storage and catalog, built on first use (never for --about/--help)."""
        if self._destination is None:
            self._destination = build_destination(self.settings, self.clock.transfer_date)
        return self._destination

    def register(self, buffer: Buffer) -> None:
        """A sink whose buffered records every checkpoint must hand on first."""
        self._buffers.append(buffer)

    def unregister(self, buffer: Buffer) -> None:
        """The sink was retired (its records already handed on)."""
        if buffer in self._buffers:
            self._buffers.remove(buffer)

    def received(self, stream: str, records: int) -> None:
        """``records`` RECORDs of ``stream`` were read (and buffered)."""
        self._records_in[stream] = self._records_in.get(stream, 0) + records
        self._pending(time.monotonic())

    def input_arrived(self) -> None:
        """Messages arrived: the input is not quiet."""
        self.timers.last_input = time.monotonic()

    def _pending(self, now: float) -> None:
        if self.timers.pending_since is None:
            self.timers.pending_since = now

    # --- models -----------------------------------------------------------------------------

    def writer(self, stream_schema: StreamSchema) -> ModelWriter:
        """The writer of ``stream_schema``'s model; its table is applied now if it changed,
        before any part of this schema is stored (a change the catalog refuses, such as a
        column changing type, fails here, not after parts land)."""
        model, stream = stream_schema.model, stream_schema.stream
        if model == status.MODEL:  # the table the target lands its transfer status in
            raise SchemaError(
                f"stream {stream} would land in table {self._name(model)}, which the target "
                "keeps for its transfer status; rename it with a stream map"
            )
        owner = self._streams.setdefault(model, stream)
        if owner != stream:
            raise SchemaError(
                f"streams {owner} and {stream} both become table {self.settings.schema}.{model} "
                "after normalising; rename one with a stream map"
            )
        definition = self._definition(stream_schema)
        if self._tables.get(model) != definition:
            self._tables[model] = self._apply(definition)
        writer = self.writers.get(model)
        if writer is None:
            writer = ModelWriter(model, self.destination[0], self._part_options())
            self.writers[model] = writer
        writer.metadata = part_metadata(self._tables[model])
        return writer

    def _definition(self, stream_schema: StreamSchema) -> TableDefinition:
        storage = self.destination[0]
        previous = self._tables.get(stream_schema.model)
        schema = stream_schema.arrow
        if previous is not None:  # the table as applied: earlier runs' and versions' columns
            schema = merge_schemas(self._name(stream_schema.model), previous.schema, schema)
        return TableDefinition(
            database=self.settings.schema,
            name=stream_schema.model,
            location=storage.uri(model_prefix(self.settings.schema, stream_schema.model)),
            schema=schema,
            key_properties=tuple(c.name for c in stream_schema.key_properties),
            replication_key=stream_schema.replication_key,
        )

    def _apply(self, definition: TableDefinition) -> TableDefinition:
        catalog = self.destination[1]
        if not self._database_ready:
            catalog.ensure_database(self.settings.schema)
            self._database_ready = True
        applied = catalog.apply_table(definition)
        self._unpublished = True
        return applied

    def _name(self, model: str) -> str:
        return f"{self.settings.schema}.{model}"

    def _part_options(self) -> PartOptions:
        return PartOptions(
            schema=self.settings.schema,
            clock=self.clock,
            compression=self.settings.compression,
            part_size_bytes=self.settings.part_size_bytes,
            tmp_dir=self._workspace_path(),
            on_part=self._log_part,
        )

    def _workspace_path(self) -> Path:
        if self._workspace is None:
            if self.settings.on_aws:
                parent = Path(tempfile.gettempdir())
            else:  # same filesystem as the parts, so a part is linked, not copied
                parent = Path(self.settings.local_path)
            self._workspace = Workspace(parent)
            for path in self._workspace.removed:
                self.logger.info("removed the temporary files of a run that ended: %s", path)
        return self._workspace.path

    def _log_part(self, part: LandedPart) -> None:
        self.logger.info(
            "landed part of %s: %d rows, %d bytes, %s",
            self._name(part.model),
            part.rows,
            part.bytes,
            self.destination[0].uri(part.key),
        )

    # --- durability ---------------------------------------------------------------------------

    def submit(self, convert: Callable[[], pa.Table], write: Callable[[pa.Table], None]) -> None:
        """Queue ``write(convert())`` in the pipeline (waits while it is full)."""
        self.pipeline.submit(convert, write)

    def seal(self) -> None:
        """Hand on every buffered record, store every open part, apply the catalog."""
        for buffer in list(self._buffers):
            buffer.flush()
        for writer in self.writers.values():
            self.pipeline.submit_write(writer.close_part)
        self.pipeline.join()
        self._apply_catalog()

    def _apply_catalog(self) -> None:
        """Register the run's partition where parts landed, then publish what changed."""
        for model, writer in self.writers.items():
            if writer.landed:
                self.destination[1].add_partitions(self._tables[model], [self.clock.transfer_date])
                writer.landed = False
                self._unpublished = True
        if self._unpublished:
            self.destination[1].publish()
            self._unpublished = False

    def checkpoint(self, reason: str = "") -> None:
        """Make everything read so far durable and queryable, then print the latest STATE
        if it is newer than the last printed."""
        started = time.monotonic()
        self.seal()
        state = self._unacknowledged_state()
        if state is not None:
            self._acknowledged = copy.deepcopy(state)  # printed as it is now, kept to compare
            self._emit_state(self._acknowledged)
        self.timers.pending_since = None
        if reason:
            self.logger.info(
                "checkpoint (%s): landed and applied in %.2f s%s",
                reason,
                time.monotonic() - started,
                ", STATE printed" if state is not None else "",
            )

    def _unacknowledged_state(self) -> State | None:
        """The latest STATE if it differs from the last one printed, else None."""
        state = self._latest_state()
        return state if state is not None and state != self._acknowledged else None

    def tick(self) -> None:
        """Between input chunks and while waiting for input: run a due checkpoint, log
        progress."""
        now = time.monotonic()
        if self.timers.pending_since is None and self._unacknowledged_state() is not None:
            self.timers.pending_since = self.timers.last_input  # a STATE alone waits too
        reason = self.timers.due(now)
        if reason is not None:
            self.checkpoint(reason)
        if now >= self._progress_at:
            self._progress_at = now + PROGRESS_EVERY_S
            self._log_progress(now)

    def _log_progress(self, now: float) -> None:
        elapsed = max(now - self.started, 1e-9)
        for stream, records in self._records_in.items():
            self.logger.info(
                "progress: stream %s: %d records read in %.0f s (%.0f records/s)",
                stream,
                records,
                elapsed,
                records / elapsed,
            )

    # --- the end ---------------------------------------------------------------------------

    def land_transfer_status(self) -> None:
        """At the end of a clean run, after the final STATE: one ``_transfer_status`` row per
        model of this run (``status``), landed as a part of the model ``_transfer_status``
        (table applied, part stored, partition registered, catalog published). No STATE
        covers it: a failure here fails the run after its data was acknowledged."""
        if not self.writers:
            return
        offset = time.time() - time.monotonic()
        rows = [
            status.ModelStatus(
                model,
                writer.stats.records,
                writer.stats.parts,
                writer.stats.bytes,
                status.wall_clock(writer.stats.first_write, offset),
                status.wall_clock(writer.stats.last_part, offset),
            )
            for model, writer in self.writers.items()
        ]
        table = status.status_table(self.clock, rows, self.settings.timestamp_precision)
        storage, catalog = self.destination
        applied = self._apply(
            TableDefinition(
                database=self.settings.schema,
                name=status.MODEL,
                location=storage.uri(model_prefix(self.settings.schema, status.MODEL)),
                schema=table.schema,
            )
        )
        writer = ModelWriter(status.MODEL, storage, self._part_options())
        try:
            writer.write(table)
            writer.close_part()
        finally:
            writer.abort()  # nothing left after a stored part; a failed one is dropped
        catalog.add_partitions(applied, [self.clock.transfer_date])
        catalog.publish()
        self._unpublished = False
        self._status_landed = True

    def summarise(self) -> None:
        """One line per table: records, parts, bytes and the stream's wall time."""
        for model, writer in self.writers.items():
            stats = writer.stats
            wall = 0.0
            if stats.first_write is not None:
                wall = (stats.last_part or time.monotonic()) - stats.first_write
            self.logger.info(
                "summary: table %s: %d records, %d parts, %d bytes, %.2f s wall time "
                "(first batch to last part stored)",
                self._name(model),
                stats.records,
                stats.parts,
                stats.bytes,
                wall,
            )

    def hold_clock(self, stopped: Callable[[], bool]) -> None:
        """If this run stored parts, end no sooner than the second its transfer timestamp
        names: the next run on this destination then gets a later one, so a transfer
        timestamp names one run (in ``_transfer_status`` too). Runs that overlap can share
        one; their parts never collide (a taken part number is skipped). Cut short when
        ``stopped()`` says so (a signal)."""
        stored = self._status_landed or any(w.stats.parts for w in self.writers.values())
        if not stored:
            return
        while (left := self.clock.seconds_left()) > 0 and not stopped():
            time.sleep(min(left, 0.05))

    def release(self) -> None:
        """Stop the pipeline, drop unfinished parts and temporary files, close clients."""
        self.pipeline.shutdown()
        for writer in self.writers.values():
            writer.abort()
        if self._workspace is not None:
            self._workspace.remove()
            self._workspace = None
        if self._destination is not None:
            for resource in self._destination:
                resource.close()
            self._destination = None

    def abandon(self) -> None:
        """At an abort: remove temporary files now, leave threads to the process exit."""
        if self._workspace is not None:
            self._workspace.remove()
