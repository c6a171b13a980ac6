"""The Zuora Connector layout: ``<schema>/<model>/dt=<date>/<part>_<timestamp>.parquet``.

The transfer clock is read once, at the run's start (UTC), and shared by every stream. Its
timestamp has whole seconds, as the connector's does; a run that stored parts does not end
within that second (``Lander.hold_clock``), so runs one after another on a destination never
share a transfer timestamp.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from target_athena_zuora.catalog import PARTITION_KEY


@dataclass(frozen=True)
class TransferClock:
    """The transfer's start, rendered the way the Zuora connector renders it."""

    started_at: dt.datetime

    @classmethod
    def now(cls) -> TransferClock:
        """The clock of a transfer starting now."""
        return cls(dt.datetime.now(dt.UTC).replace(microsecond=0))

    def seconds_left(self, now: dt.datetime | None = None) -> float:
        """How long until the second the transfer timestamp names is over (0 when it is)."""
        now = now or dt.datetime.now(dt.UTC)
        return max(0.0, (self.started_at + dt.timedelta(seconds=1) - now).total_seconds())

    @property
    def transfer_date(self) -> str:
        """``2006-01-02``."""
        return self.started_at.strftime("%Y-%m-%d")

    @property
    def transfer_timestamp(self) -> str:
        """``20060102150405``."""
        return self.started_at.strftime("%Y%m%d%H%M%S")


def model_prefix(schema: str, model: str) -> str:
    """The folder of one model's parts, ending in ``/``."""
    return f"{schema}/{model}/"


def partition_prefix(schema: str, model: str, clock: TransferClock) -> str:
    """The folder of one model's parts for this transfer's ``dt`` partition."""
    return f"{model_prefix(schema, model)}{PARTITION_KEY}={clock.transfer_date}/"


def part_key(schema: str, model: str, clock: TransferClock, part: int) -> str:
    """The key of part number ``part`` of ``model`` in this transfer."""
    return f"{partition_prefix(schema, model, clock)}{part}_{clock.transfer_timestamp}.parquet"
