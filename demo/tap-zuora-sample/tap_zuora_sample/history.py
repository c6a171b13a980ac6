"""Zuora as the demo tap sees it: the bundled sample, then one round of changes per day.

Round 0 is the sample (``sample.singer``: 75 rows per object, ``UpdatedDate`` from
2023-01-01 to 2024-12-21). Round ``k >= 1`` happens on day ``ROUND_DAY0 + k`` and changes
every object the same way, derived only from the rows as they stand after round ``k - 1``
(no randomness, no clock): ``UPDATED`` rows updated, ``NEW`` rows created, ``DELETED`` row
soft-deleted (``Deleted: true``), each with its own ``UpdatedDate`` that day (09:00, 09:07,
...). Same rounds on every machine, as many as asked for.

The demo's clock is the bookmark: an export after a bookmark in round ``r`` sees Zuora as
it stands at the end of round ``r + 1`` (no bookmark: the end of round 0, the sample). So
each incremental run finds exactly the next round, the way a daily schedule would.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

STREAMS: tuple[str, ...] = ("Account", "Invoice", "InvoiceItem", "Subscription")
ROUND_DAY0 = dt.date(2025, 1, 6)  # the sample's extraction day; round k is k days later
UPDATED, NEW, DELETED = 3, 2, 1  # rows per object and round
_FIRST_CHANGE = dt.time(9, 0)
_MINUTES_APART = 7
_TIME_EXTRACTED = "T23:30:00.482913Z"  # time of day of a round's export
_NUMBERS = {  # the object's human-readable number: field, format
    "Account": ("AccountNumber", "A{:08d}"),
    "Invoice": ("InvoiceNumber", "INV{:08d}"),
    "InvoiceItem": ("ChargeNumber", "C-{:08d}"),
    "Subscription": ("Name", "A-S{:08d}"),
}

Row = dict[str, Any]
Kind = Literal["updated", "new", "deleted"]


# -- the sample ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """The bundled sample: its lines, and per stream the SCHEMA line and the rows in order."""

    lines: tuple[str, ...]
    schema_lines: dict[str, str]
    rows: dict[str, tuple[Row, ...]]
    time_extracted: str
    version: int


@functools.cache
def sample() -> Sample:
    """The bundled sample, parsed once."""
    path = resources.files(__package__ or "tap_zuora_sample").joinpath("sample.singer")
    with path.open("r", encoding="utf-8") as f:
        lines = tuple(f)
    schema_lines: dict[str, str] = {}
    rows: dict[str, list[Row]] = {stream: [] for stream in STREAMS}
    time_extracted, version = "", 0
    for line in lines:
        message = json.loads(line)
        if message["type"] == "SCHEMA":
            schema_lines.setdefault(message["stream"], line.rstrip("\n"))
        elif message["type"] == "RECORD":
            rows[message["stream"]].append(message["record"])
            time_extracted = message["time_extracted"]
        elif message["type"] == "STATE" and not version:
            version = next(iter(message["value"]["bookmarks"].values()))["version"]
    return Sample(
        lines, schema_lines, {s: tuple(r) for s, r in rows.items()}, time_extracted, version
    )


# -- time ------------------------------------------------------------------------------------


def parse_time(text: str) -> dt.datetime:
    """A Zuora/tap-zuora date-time (``...Z``, with or without fraction) as aware UTC."""
    return dt.datetime.fromisoformat(text).astimezone(dt.UTC)


def render_time(moment: dt.datetime) -> str:
    """As tap-zuora writes date-times: ``2025-01-07T09:00:00.000000Z``."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def change_time(round_: int, index: int) -> str:
    """``UpdatedDate`` of the ``index``-th change of round ``round_``."""
    day = ROUND_DAY0 + dt.timedelta(days=round_)
    start = dt.datetime.combine(day, _FIRST_CHANGE, tzinfo=dt.UTC)
    return render_time(start + dt.timedelta(minutes=_MINUTES_APART * index))


def time_extracted(round_: int) -> str:
    """``time_extracted`` of an export that sees Zuora up to round ``round_``."""
    if round_ == 0:
        return sample().time_extracted
    return (ROUND_DAY0 + dt.timedelta(days=round_)).isoformat() + _TIME_EXTRACTED


def horizon(bookmark: str | None) -> int:
    """The last round an export after ``bookmark`` sees: the round after the bookmark's.

    No bookmark, or one before the sample's first row (tap-zuora's ``start_date``): 0, the
    sample alone. A bookmark inside the sample: 1. A bookmark on day ``ROUND_DAY0 + r``: r + 1.
    """
    if bookmark is None:
        return 0
    moment = parse_time(bookmark)
    first = min(parse_time(rows[0]["UpdatedDate"]) for rows in sample().rows.values() if rows)
    if moment < first:
        return 0
    return max(0, (moment.date() - ROUND_DAY0).days) + 1


# -- the changes of one round ------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One row as Zuora shows it right after a change."""

    stream: str
    round: int
    kind: Kind
    row: Row


def new_id(stream: str, round_: int, index: int) -> str:
    """The 32-hex-digit Zuora id of the ``index``-th row created in round ``round_``."""
    return hashlib.sha256(f"tap-zuora-sample:{stream}:{round_}:{index}".encode()).hexdigest()[:32]


def _money(value: float) -> float:
    return round(value, 2)


def _shift_years(text: str | None, years: int) -> str | None:
    if text is None:
        return None
    moment = parse_time(text)
    return render_time(moment.replace(year=moment.year + years))


def _update_account(row: Row, round_: int, when: str) -> None:
    charge = float(100 * (round_ % 7 + 1))
    row["Balance"] = _money((row["Balance"] or 0.0) + charge)
    row["TotalInvoiceBalance"] = _money((row["TotalInvoiceBalance"] or 0.0) + charge)
    row["LastInvoiceDate"] = when[:10] + "T00:00:00.000000Z"


def _update_invoice(row: Row, round_: int, when: str) -> None:
    if row["Status"] == "Draft":
        row["Status"], row["PostedDate"] = "Posted", when
    elif (row["Balance"] or 0.0) > 0:
        row["PaymentAmount"] = _money((row["PaymentAmount"] or 0.0) + row["Balance"])
        row["Balance"] = 0.0
    else:
        row["Comments"] = f"Reviewed in round {round_}"


def _update_invoice_item(row: Row, round_: int, when: str) -> None:
    del round_, when
    row["Quantity"] = (row["Quantity"] or 0.0) + 1.0
    row["ChargeAmount"] = _money(row["Quantity"] * (row["UnitPrice"] or 0.0))


def _update_subscription(row: Row, round_: int, when: str) -> None:
    del round_, when
    row["Version"] = (row["Version"] or 0) + 1
    row["Status"] = "Active"
    for field in ("TermEndDate", "SubscriptionEndDate"):
        row[field] = _shift_years(row[field], 1)


_UPDATES: dict[str, Callable[[Row, int, str], None]] = {
    "Account": _update_account,
    "Invoice": _update_invoice,
    "InvoiceItem": _update_invoice_item,
    "Subscription": _update_subscription,
}


def _fresh(stream: str, template: Row, round_: int, index: int, when: str) -> Row:
    row = copy.deepcopy(template)
    field, number_format = _NUMBERS[stream]
    number = len(sample().rows[stream]) + NEW * (round_ - 1) + index + 1
    row.update(Id=new_id(stream, round_, index), CreatedDate=when, Deleted=False)
    row[field] = number_format.format(number)
    if stream == "Invoice":
        day = when[:10] + "T00:00:00.000000Z"
        row.update(Status="Posted", InvoiceDate=day, PostedDate=when, PaymentAmount=0.0)
        row["Balance"] = row["Amount"]
    return row


def _picks(alive: list[str], round_: int, count: int) -> list[str]:
    """``count`` distinct ids from ``alive``, spread out and different each round."""
    picked: list[str] = []
    step = 0
    while len(picked) < min(count, len(alive)):
        candidate = alive[(round_ * 37 + step * 11) % len(alive)]
        if candidate not in picked:
            picked.append(candidate)
        step += 1
    return picked


def _round(stream: str, before: dict[str, Row], round_: int) -> list[Change]:
    """The changes of round ``round_``, given the rows as they stood after the round before."""
    alive = [row_id for row_id, row in before.items() if not row["Deleted"]]
    chosen = _picks(alive, round_, UPDATED + DELETED)
    changes: list[Change] = []
    index = 0
    for row_id in chosen[:UPDATED]:
        when = change_time(round_, index)
        row = copy.deepcopy(before[row_id])
        _UPDATES[stream](row, round_, when)
        row["UpdatedDate"] = when
        changes.append(Change(stream, round_, "updated", row))
        index += 1
    for new in range(NEW):
        when = change_time(round_, index)
        template = before[alive[(round_ * 13 + new * 5) % len(alive)]]
        row = _fresh(stream, template, round_, new, when)
        row["UpdatedDate"] = when
        changes.append(Change(stream, round_, "new", row))
        index += 1
    for row_id in chosen[UPDATED:]:
        row = copy.deepcopy(before[row_id])
        row.update(Deleted=True, UpdatedDate=change_time(round_, index))
        changes.append(Change(stream, round_, "deleted", row))
        index += 1
    return changes


class _History:
    """The rows of one object after each round, computed on demand and kept."""

    def __init__(self, stream: str) -> None:
        self.stream = stream
        self.states: list[dict[str, Row]] = [{row["Id"]: row for row in sample().rows[stream]}]
        self.changes: list[list[Change]] = [[]]

    def extend_to(self, round_: int) -> None:
        while len(self.states) <= round_:
            changes = _round(self.stream, self.states[-1], len(self.states))
            state = dict(self.states[-1])
            state.update((change.row["Id"], change.row) for change in changes)
            self.states.append(state)
            self.changes.append(changes)


@functools.cache
def _history(stream: str) -> _History:
    if stream not in STREAMS:
        raise ValueError(f"unknown stream {stream!r}; known: {', '.join(STREAMS)}")
    return _History(stream)


def changes(stream: str, round_: int) -> list[Change]:
    """What round ``round_`` (>= 1) changes in ``stream``, in ``UpdatedDate`` order."""
    if round_ < 1:
        raise ValueError(f"rounds of changes start at 1, got {round_}")
    history = _history(stream)
    history.extend_to(round_)
    return list(history.changes[round_])


def rows_at(stream: str, round_: int) -> dict[str, Row]:
    """Every row of ``stream`` (deleted ones too) as it stands after round ``round_``."""
    history = _history(stream)
    history.extend_to(round_)
    return dict(history.states[round_])


def export(stream: str, bookmark: str | None) -> list[Row]:
    """What an AQuA incremental export after ``bookmark`` returns, oldest first.

    The latest version of every row with ``UpdatedDate >= bookmark`` (``>=``, as AQuA: the
    bookmarked row comes again) as Zuora stands at ``horizon(bookmark)``.
    """
    rows = list(rows_at(stream, horizon(bookmark)).values())
    if bookmark is not None:
        since = parse_time(bookmark)
        rows = [row for row in rows if parse_time(row["UpdatedDate"]) >= since]
    return sorted(rows, key=lambda row: (parse_time(row["UpdatedDate"]), row["Id"]))
