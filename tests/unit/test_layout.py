"""The Zuora connector layout: pure path rendering from one transfer clock."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from target_athena_zuora.layout import TransferClock, model_prefix, part_key, partition_prefix

CLOCK = TransferClock(dt.datetime(2006, 1, 2, 15, 4, 5, tzinfo=dt.UTC))


def test_transfer_date_and_timestamp_like_the_connector() -> None:
    assert CLOCK.transfer_date == "2006-01-02"
    assert CLOCK.transfer_timestamp == "20060102150405"


@pytest.mark.parametrize(
    ("part", "expected"),
    [
        (0, "zuora/invoice_item/dt=2006-01-02/0_20060102150405.parquet"),
        (7, "zuora/invoice_item/dt=2006-01-02/7_20060102150405.parquet"),
        (12, "zuora/invoice_item/dt=2006-01-02/12_20060102150405.parquet"),
    ],
)
def test_part_key(part: int, expected: str) -> None:
    assert part_key("zuora", "invoice_item", CLOCK, part) == expected


def test_prefixes() -> None:
    assert model_prefix("billing", "account") == "billing/account/"
    assert partition_prefix("billing", "account", CLOCK) == "billing/account/dt=2006-01-02/"
    assert part_key("billing", "account", CLOCK, 0).startswith(
        partition_prefix("billing", "account", CLOCK)
    )


def test_now_is_utc_whole_seconds() -> None:
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    clock = TransferClock.now()
    after = dt.datetime.now(dt.UTC)
    assert clock.started_at.tzinfo is not None
    assert clock.started_at.utcoffset() == dt.timedelta(0)
    assert clock.started_at.microsecond == 0
    assert before <= clock.started_at <= after
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", clock.transfer_date)
    assert re.fullmatch(r"\d{14}", clock.transfer_timestamp)


def test_date_and_timestamp_agree_at_midnight() -> None:
    clock = TransferClock(dt.datetime(2024, 12, 31, 23, 59, 59, tzinfo=dt.UTC))
    assert clock.transfer_date == "2024-12-31"
    assert clock.transfer_timestamp == "20241231235959"


@pytest.mark.parametrize(
    ("now", "left"),
    [
        (dt.datetime(2006, 1, 2, 15, 4, 5, tzinfo=dt.UTC), 1.0),
        (dt.datetime(2006, 1, 2, 15, 4, 5, 250_000, tzinfo=dt.UTC), 0.75),
        (dt.datetime(2006, 1, 2, 15, 4, 6, tzinfo=dt.UTC), 0.0),
        (dt.datetime(2006, 1, 2, 15, 5, 0, tzinfo=dt.UTC), 0.0),
    ],
)
def test_seconds_left_in_the_transfer_timestamps_second(now: dt.datetime, left: float) -> None:
    assert CLOCK.seconds_left(now) == pytest.approx(left)
