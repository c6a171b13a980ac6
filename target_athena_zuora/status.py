"""``_transfer_status``: one row per model per run — when each table last loaded, and how
much — landed like any model (``<schema>/_transfer_status/dt=<date>/<part>_<ts>.parquet``) and
registered in the catalog, after the run's final STATE (no STATE covers it).

The name follows the transfer-status table the Zuora connector keeps in warehouse
destinations. Athena needs the name quoted (``"_transfer_status"``); DuckDB takes it as is.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa

from target_athena_zuora.layout import TransferClock

MODEL = "_transfer_status"
DISTRIBUTION = "target-athena-zuora"


def status_schema(timestamp_unit: str) -> pa.Schema:
    """The table's columns; timestamps in UTC at the run's ``timestamp_precision``."""
    timestamp = pa.timestamp(timestamp_unit, tz="UTC")
    return pa.schema(
        [
            ("model", pa.string()),
            ("transfer_date", pa.date32()),  # the run's dt, as a date
            ("transfer_timestamp", timestamp),  # the run's start (the part names' timestamp)
            ("records", pa.int64()),
            ("parts", pa.int64()),
            ("bytes", pa.int64()),  # Parquet bytes stored
            ("started_at", timestamp),  # the model's first batch reached the writer
            ("finished_at", timestamp),  # its last part was stored
            ("target_version", pa.string()),
        ]
    )


@dataclass(frozen=True)
class ModelStatus:
    """What one model landed in this run. Times are UTC, None when nothing was written."""

    model: str
    records: int
    parts: int
    bytes: int
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


def status_table(
    clock: TransferClock, statuses: Sequence[ModelStatus], timestamp_unit: str = "ms"
) -> pa.Table:
    """One row per model of ``statuses``, in order."""
    schema = status_schema(timestamp_unit)
    version = target_version()

    def at(moment: dt.datetime | None) -> dt.datetime | None:
        return None if moment is None else _truncate(moment, timestamp_unit)

    rows = [
        {
            "model": s.model,
            "transfer_date": clock.started_at.date(),
            "transfer_timestamp": clock.started_at,
            "records": s.records,
            "parts": s.parts,
            "bytes": s.bytes,
            "started_at": at(s.started_at),
            "finished_at": at(s.finished_at),
            "target_version": version,
        }
        for s in statuses
    ]
    return pa.Table.from_pylist(rows, schema=schema)


def target_version() -> str:
    """The installed target's version (``unknown`` when run from a source tree)."""
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def wall_clock(monotonic: float | None, offset: float) -> dt.datetime | None:
    """A ``time.monotonic()`` reading as UTC, given ``offset`` = ``time.time()`` minus
    ``time.monotonic()`` read together."""
    if monotonic is None:
        return None
    return dt.datetime.fromtimestamp(monotonic + offset, dt.UTC)


def _truncate(moment: dt.datetime, unit: str) -> dt.datetime:
    if unit == "ms":
        return moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    return moment
