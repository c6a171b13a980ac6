"""The Zuora Connector layout: ``<schema>/<model>/dt=<date>/<part>_<timestamp>.parquet``.

The transfer clock is read once, at the run's start (UTC), and shared by every stream.
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
