"""Deterministic generator of Zuora-shaped Singer messages, as tap-zuora 1.6.1 writes them.

Usage::

    python bench/zuora_stream.py --records N [--streams Invoice,Account] [--seed S] [--out FILE]

``--records`` is the number of RECORD messages **per stream**; streams are emitted one after
the other in the order given (default: Account, Invoice, InvoiceItem, Subscription).  Output
goes to stdout unless ``--out`` names a file.  Same arguments, same bytes.

What it reproduces from tap-zuora 1.6.1 (AQuA mode, fresh state, singer-python 6.1.1):

* one SCHEMA per stream: ``{"properties": ..., "type": "object", "additionalProperties":
  false}``, ``key_properties: ["Id"]`` and **no** ``bookmark_properties`` (the tap does not
  send them).  Supported fields are ``{"type": [T, "null"]}`` (``Id`` and ``UpdatedDate``
  included); dates and date-times are both ``{"format": "date-time", "type": ["string",
  "null"]}``; fields Zuora reports with an unsupported type are ``{}`` and never appear in
  records; related objects are flat ``<Object>Id`` columns; ``Deleted`` is ``{"type":
  "boolean"}``;
* RECORDs with ``time_extracted``; date-times as ``2024-03-01T12:34:56.000000Z`` (dates at
  midnight); money as bare JSON floats with at most 2 decimals; empty text as ``""`` (the tap's
  transform keeps it), empty numbers and dates as ``null``, empty booleans as ``false``;
  records ordered by ``UpdatedDate``;
* a STATE after every record carrying every stream's bookmark (``version``, ``UpdatedDate``,
  ``file_ids``) and ``current_stream``, plus the STATEs the tap writes around each stream
  and a final one with ``current_stream: null``.

Lines are byte-identical to ``json.dumps`` of the message dict (singer-python's format).  To
be fast enough for benchmarks each record line is rendered from a pre-serialised template: a
pool of value variants per stream is serialised once with placeholders, and only the
per-record values (Id, UpdatedDate, the record number, references) are filled in per record.

Speed on the 2-core dev machine: 1M Invoice records (plus their 1M STATE lines, 1.4 GB) in
8.6 s to /dev/null, about 115,000 records/s, 50 MB peak RSS whatever N; the four streams at
1M each in 45 s (InvoiceItem has three references, STATE lines carry four bookmarks).

Function API: :func:`iter_chunks` (fastest), :func:`iter_lines`, :func:`write_stream`,
:func:`schema_message`, :func:`record_id`, ``STREAMS``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import operator
import random
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

STREAMS: tuple[str, ...] = ("Account", "Invoice", "InvoiceItem", "Subscription")

START_DATE = "2020-01-01T00:00:00Z"  # the tap's config start_date, the first bookmark
TIME_EXTRACTED = "2025-01-06T07:30:00.482913Z"
VERSION = 1736148600  # the AQuA stateful-session version the tap puts in each bookmark
_EPOCH0 = int(dt.datetime(2023, 1, 1, tzinfo=dt.UTC).timestamp())
_SPAN = 2 * 365 * 86400  # UpdatedDate runs over two years, whatever the record count
_DAY0 = dt.date(2022, 1, 1).toordinal()
_POOL = 509  # value variants per stream (prime, so it does not align with other cycles)
_CHUNK = 4096  # records per write

Row = dict[str, Any]
Maker = Callable[[random.Random], Row]

# -- JSON Schema of a field, by kind -------------------------------------------------------

_KINDS: dict[str, dict[str, Any]] = {
    "s": {"type": ["string", "null"]},
    "n": {"type": ["number", "null"]},
    "i": {"type": ["integer", "null"]},
    "b": {"type": ["boolean", "null"]},
    "t": {"format": "date-time", "type": ["string", "null"]},
    "x": {},  # unsupported by Zuora's describe: no type, never in a record
    "d": {"type": "boolean"},  # Deleted
}


# -- small value helpers -------------------------------------------------------------------


def _hex(rng: random.Random) -> str:
    return f"{rng.getrandbits(128):032x}"


def _day(ordinal: int) -> str:
    return dt.date.fromordinal(ordinal).isoformat() + "T00:00:00.000000Z"


def _date(rng: random.Random, spread: int = 900) -> str:
    return _day(_DAY0 + rng.randrange(spread))


def _ts(epoch: int) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000000Z")


def _maybe(rng: random.Random, p: float, value: Any, empty: Any = None) -> Any:
    return value if rng.random() < p else empty


def _money(cents: int) -> float:
    return cents / 100


_USERS = [f"{random.Random(u).getrandbits(128):032x}" for u in range(7)]  # noqa: S311
_CURRENCIES = ("USD",) * 6 + ("EUR",) * 3 + ("GBP", "JPY", "CAD")


def _user(rng: random.Random) -> str:
    return rng.choice(_USERS)


# -- streams: fields (name, kind) in describe order, then per-variant values ----------------

ACCOUNT_FIELDS = (
    ("AccountNumber", "s"),
    ("AdditionalEmailAddresses", "s"),
    ("AllowInvoiceEdit", "b"),
    ("AutoPay", "b"),
    ("Balance", "n"),
    ("Batch", "s"),
    ("BcdSettingOption", "s"),
    ("BillCycleDay", "i"),
    ("CommunicationProfileId", "s"),
    ("CreatedById", "s"),
    ("CreatedDate", "t"),
    ("CreditBalance", "n"),
    ("CrmId", "s"),
    ("Currency", "s"),
    ("CustomerServiceRepName", "s"),
    ("Id", "s"),
    ("InvoiceDeliveryPrefsEmail", "b"),
    ("InvoiceDeliveryPrefsPrint", "b"),
    ("LastInvoiceDate", "t"),
    ("Mrr", "n"),
    ("Name", "s"),
    ("Notes", "s"),
    ("PaymentGateway", "s"),
    ("PaymentTerm", "s"),
    ("PurchaseOrderNumber", "s"),
    ("SalesRepName", "s"),
    ("Status", "s"),
    ("TaxExemptCertificateType", "x"),
    ("TaxExemptStatus", "s"),
    ("TotalInvoiceBalance", "n"),
    ("UnappliedBalance", "n"),
    ("UpdatedById", "s"),
    ("UpdatedDate", "t"),
    ("BillToContactId", "s"),
    ("DefaultPaymentMethodId", "s"),
    ("ParentAccountId", "s"),
    ("SoldToContactId", "s"),
    ("Deleted", "d"),
)

_COMPANIES = (
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Stark",
    "Wayne",
    "Tyrell",
    "Soylent",
    "Cyberdyne",
    "Wonka",
    "Aperture",
    "Massive Dynamic",
)
_SUFFIXES = ("Inc.", "GmbH", "Ltd", "LLC", "S.A.", "K.K.", "B.V.")


def _account(rng: random.Random) -> Row:
    balance = rng.choice((0, 0, rng.randrange(100, 5_000_000)))
    mrr = rng.randrange(0, 2_000_000)
    status = rng.choice(("Active",) * 9 + ("Canceled",))
    return {
        "AdditionalEmailAddresses": _maybe(rng, 0.2, "billing@example.com,ap@example.com", ""),
        "AllowInvoiceEdit": rng.random() < 0.1,
        "AutoPay": rng.random() < 0.6,
        "Balance": _money(balance),
        "Batch": f"Batch{rng.randrange(1, 21)}",
        "BcdSettingOption": rng.choice(("ManualSet", "AutoSet")),
        "BillCycleDay": rng.randrange(1, 29),
        "CommunicationProfileId": _hex(rng),
        "CreatedById": _user(rng),
        "CreditBalance": 0.0,
        "CrmId": _maybe(rng, 0.7, f"0015g{rng.getrandbits(48):012X}", ""),
        "Currency": rng.choice(_CURRENCIES),
        "CustomerServiceRepName": _maybe(rng, 0.3, rng.choice(("Dana Lee", "Sam Ortiz")), ""),
        "InvoiceDeliveryPrefsEmail": rng.random() < 0.9,
        "InvoiceDeliveryPrefsPrint": False,
        "LastInvoiceDate": _maybe(rng, 0.85, _date(rng)),
        "Mrr": _money(mrr),
        "Name": f"{rng.choice(_COMPANIES)} {rng.choice(_SUFFIXES)}",
        "Notes": _maybe(rng, 0.1, 'Migrated from legacy billing; see ticket "OPS-1182"', ""),
        "PaymentGateway": rng.choice(("Stripe", "Adyen", "")),
        "PaymentTerm": rng.choice(("Due Upon Receipt", "Net 30", "Net 45", "Net 60")),
        "PurchaseOrderNumber": _maybe(rng, 0.3, f"PO-{rng.randrange(10**6):06d}", ""),
        "SalesRepName": rng.choice(("Ana Müller", "Kenji Sato", "", "Chloé Martin")),
        "Status": status,
        "TaxExemptStatus": rng.choice(("No",) * 5 + ("Yes",)),
        "TotalInvoiceBalance": _money(balance),
        "UnappliedBalance": 0.0,
        "UpdatedById": _user(rng),
        "BillToContactId": _hex(rng),
        "DefaultPaymentMethodId": _maybe(rng, 0.8, _hex(rng), ""),
        "ParentAccountId": "",
        "SoldToContactId": _hex(rng),
        "Deleted": rng.random() < 0.01,
    }


INVOICE_FIELDS = (
    ("AccountId", "s"),
    ("AdjustmentAmount", "n"),
    ("Amount", "n"),
    ("AmountWithoutTax", "n"),
    ("Balance", "n"),
    ("Body", "x"),
    ("Comments", "s"),
    ("CreatedById", "s"),
    ("CreatedDate", "t"),
    ("CreditBalanceAdjustmentAmount", "n"),
    ("DueDate", "t"),
    ("Id", "s"),
    ("IncludesOneTime", "b"),
    ("IncludesRecurring", "b"),
    ("IncludesUsage", "b"),
    ("InvoiceDate", "t"),
    ("InvoiceNumber", "s"),
    ("LastEmailSentDate", "t"),
    ("PaymentAmount", "n"),
    ("PostedBy", "s"),
    ("PostedDate", "t"),
    ("RefundAmount", "n"),
    ("Source", "s"),
    ("SourceId", "s"),
    ("Status", "s"),
    ("TargetDate", "t"),
    ("TaxAmount", "n"),
    ("TaxExemptAmount", "n"),
    ("TransferredToAccounting", "s"),
    ("UpdatedById", "s"),
    ("UpdatedDate", "t"),
    ("BillToContactSnapshotId", "s"),
    ("SoldToContactSnapshotId", "s"),
    ("Deleted", "d"),
)


def _invoice(rng: random.Random) -> Row:
    net = rng.randrange(1_000, 2_000_000)
    tax = net * rng.choice((0, 0, 7, 10, 19, 20)) // 100
    status = rng.choice(("Posted",) * 8 + ("Draft", "Canceled"))
    posted = status == "Posted"
    paid = net + tax if posted and rng.random() < 0.7 else 0
    day = _DAY0 + rng.randrange(900)
    sent = (day - dt.date(1970, 1, 1).toordinal()) * 86400 + rng.randrange(86400)
    return {
        "AdjustmentAmount": 0.0,
        "Amount": _money(net + tax),
        "AmountWithoutTax": _money(net),
        "Balance": _money(net + tax - paid),
        "Comments": rng.choice(("", "", "", "PO 4711", "Net 30 per MSA §4.2", "Thank you!")),
        "CreatedById": _user(rng),
        "CreditBalanceAdjustmentAmount": 0.0,
        "DueDate": _day(day + 30),
        "IncludesOneTime": rng.random() < 0.2,
        "IncludesRecurring": rng.random() < 0.95,
        "IncludesUsage": rng.random() < 0.3,
        "InvoiceDate": _day(day),
        "LastEmailSentDate": _ts(sent) if posted else None,
        "PaymentAmount": _money(paid),
        "PostedBy": _user(rng) if posted else "",
        "PostedDate": _ts(sent) if posted else None,
        "RefundAmount": 0.0,
        "Source": rng.choice(("BillRun", "BillRun", "API")),
        "SourceId": f"BR-{rng.randrange(10**8):08d}",
        "Status": status,
        "TargetDate": _day(day),
        "TaxAmount": _money(tax),
        "TaxExemptAmount": 0.0,
        "TransferredToAccounting": rng.choice(("No", "Yes", "Processing")),
        "UpdatedById": _user(rng),
        "BillToContactSnapshotId": _hex(rng),
        "SoldToContactSnapshotId": _hex(rng),
        "Deleted": rng.random() < 0.005,
    }


INVOICE_ITEM_FIELDS = (
    ("AccountingCode", "s"),
    ("AppliedToInvoiceItemId", "s"),
    ("ChargeAmount", "n"),
    ("ChargeDate", "t"),
    ("ChargeName", "s"),
    ("ChargeNumber", "s"),
    ("CreatedById", "s"),
    ("CreatedDate", "t"),
    ("Id", "s"),
    ("ProcessingType", "s"),
    ("Quantity", "n"),
    ("RevRecStartDate", "t"),
    ("ServiceEndDate", "t"),
    ("ServiceStartDate", "t"),
    ("SKU", "s"),
    ("SourceItemType", "x"),
    ("TaxAmount", "n"),
    ("TaxCode", "s"),
    ("TaxExemptAmount", "n"),
    ("TaxMode", "s"),
    ("UnitPrice", "n"),
    ("UOM", "s"),
    ("UpdatedById", "s"),
    ("UpdatedDate", "t"),
    ("AccountId", "s"),
    ("InvoiceId", "s"),
    ("ProductId", "s"),
    ("RatePlanChargeId", "s"),
    ("SubscriptionId", "s"),
    ("Deleted", "d"),
)

_CHARGES = (
    ("Platform Fee", "SKU-00000001", "Each"),
    ("Seats", "SKU-00000002", "Seat"),
    ("API Calls", "SKU-00000003", "Call"),
    ("Storage", "SKU-00000004", "GB"),
)


def _invoice_item(rng: random.Random) -> Row:
    name, sku, uom = rng.choice(_CHARGES)
    qty = rng.choice((1, 1, 5, 10, 25, 100, 1250))
    unit = rng.randrange(1, 50_000)
    start = _DAY0 + rng.randrange(900)
    return {
        "AccountingCode": rng.choice(("4000-Subscription", "4100-Usage", "")),
        "AppliedToInvoiceItemId": "",
        "ChargeAmount": _money(qty * unit),
        "ChargeDate": _ts((start - 719163) * 86400 + rng.randrange(86400)),
        "ChargeName": name,
        "CreatedById": _user(rng),
        "ProcessingType": rng.choice(("Charge",) * 9 + ("Discount",)),
        "Quantity": float(qty),
        "RevRecStartDate": _day(start),
        "ServiceEndDate": _day(start + 30),
        "ServiceStartDate": _day(start),
        "SKU": sku,
        "TaxAmount": _money(qty * unit // 10),
        "TaxCode": rng.choice(("", "VAT-STD", "US-SALES")),
        "TaxExemptAmount": 0.0,
        "TaxMode": rng.choice(("TaxExclusive", "TaxInclusive")),
        "UnitPrice": _money(unit),
        "UOM": uom,
        "UpdatedById": _user(rng),
        "ProductId": _hex(rng),
        "RatePlanChargeId": _hex(rng),
        "Deleted": False,
    }


SUBSCRIPTION_FIELDS = (
    ("AccountId", "s"),
    ("AutoRenew", "b"),
    ("CancelledDate", "t"),
    ("ContractAcceptanceDate", "t"),
    ("ContractEffectiveDate", "t"),
    ("CreatedById", "s"),
    ("CreatedDate", "t"),
    ("CurrentTerm", "i"),
    ("CurrentTermPeriodType", "s"),
    ("Id", "s"),
    ("InitialTerm", "i"),
    ("InitialTermPeriodType", "s"),
    ("IsInvoiceSeparate", "b"),
    ("Name", "s"),
    ("Notes", "s"),
    ("OriginalCreatedDate", "t"),
    ("OriginalId", "s"),
    ("PreviousSubscriptionId", "s"),
    ("RenewalSetting", "s"),
    ("RenewalTerm", "i"),
    ("RenewalTermPeriodType", "s"),
    ("ServiceActivationDate", "t"),
    ("Status", "s"),
    ("SubscriptionEndDate", "t"),
    ("SubscriptionStartDate", "t"),
    ("TermEndDate", "t"),
    ("TermStartDate", "t"),
    ("TermType", "s"),
    ("UpdatedById", "s"),
    ("UpdatedDate", "t"),
    ("Version", "i"),
    ("CpqBundleJsonId__QT", "x"),
    ("InvoiceOwnerId", "s"),
    ("Deleted", "d"),
)


def _subscription(rng: random.Random) -> Row:
    start = _DAY0 + rng.randrange(900)
    term = rng.choice((12, 12, 24, 36))
    evergreen = rng.random() < 0.15
    status = rng.choice(("Active",) * 8 + ("Cancelled", "Expired"))
    end = start + term * 30
    return {
        "AutoRenew": rng.random() < 0.7,
        "CancelledDate": _day(end - 40) if status == "Cancelled" else None,
        "ContractAcceptanceDate": _day(start),
        "ContractEffectiveDate": _day(start),
        "CreatedById": _user(rng),
        "CurrentTerm": None if evergreen else term,
        "CurrentTermPeriodType": "Month",
        "InitialTerm": None if evergreen else term,
        "InitialTermPeriodType": "Month",
        "IsInvoiceSeparate": rng.random() < 0.05,
        "Notes": rng.choice(("", "", "Upgraded from Starter", "Reseller deal")),
        "OriginalCreatedDate": _ts((start - 719163) * 86400 + 3600 * rng.randrange(24)),
        "OriginalId": _hex(rng),
        "PreviousSubscriptionId": _maybe(rng, 0.3, _hex(rng), ""),
        "RenewalSetting": "RENEW_WITH_SPECIFIC_TERM",
        "RenewalTerm": 12,
        "RenewalTermPeriodType": "Month",
        "ServiceActivationDate": _day(start),
        "Status": status,
        "SubscriptionEndDate": None if evergreen else _day(end),
        "SubscriptionStartDate": _day(start),
        "TermEndDate": None if evergreen else _day(end),
        "TermStartDate": _day(start),
        "TermType": "EVERGREEN" if evergreen else "TERMED",
        "UpdatedById": _user(rng),
        "Version": rng.randrange(1, 6),
        "Deleted": False,
    }


# -- per-record values: the placeholders filled for every record ---------------------------


@dataclass(frozen=True)
class StreamSpec:
    """One Zuora object: its fields, its value variants and its per-record columns."""

    name: str
    tag: int  # makes this stream's ids distinct from other streams'
    fields: tuple[tuple[str, str], ...]
    variant: Maker
    numbered: tuple[str, str] | None  # (field, format of the 1-based record number)
    refs: tuple[tuple[str, str], ...]  # (field, referenced stream)


SPECS: dict[str, StreamSpec] = {
    s.name: s
    for s in (
        StreamSpec("Account", 0xA11C, ACCOUNT_FIELDS, _account, ("AccountNumber", "A%08d"), ()),
        StreamSpec(
            "Invoice",
            0x1A70,
            INVOICE_FIELDS,
            _invoice,
            ("InvoiceNumber", "INV%08d"),
            (("AccountId", "Account"),),
        ),
        StreamSpec(
            "InvoiceItem",
            0x17E3,
            INVOICE_ITEM_FIELDS,
            _invoice_item,
            ("ChargeNumber", "C-%08d"),
            (
                ("AccountId", "Account"),
                ("InvoiceId", "Invoice"),
                ("SubscriptionId", "Subscription"),
            ),
        ),
        StreamSpec(
            "Subscription",
            0x5B5C,
            SUBSCRIPTION_FIELDS,
            _subscription,
            ("Name", "A-S%08d"),
            (("AccountId", "Account"), ("InvoiceOwnerId", "Account")),
        ),
    )
}

# i -> (i * _MULT) ^ _MIX is injective and stays within 16 hex digits for i < 2**32
_MULT = 0x9E3779B1
_MIX = 0xC2B2AE3D27D4EB4F


def id_prefix(stream: str, seed: int = 0) -> str:
    """The first 16 hex digits of every Id of ``stream`` for ``seed``."""
    return f"2c92{SPECS[stream].tag:04x}{(seed * 0x2545F491 + 0x4F6CDD1D) & 0xFFFFFFFF:08x}"


def record_id(stream: str, index: int, seed: int = 0) -> str:
    """The 32-hex-digit Zuora Id of record ``index`` (0-based) of ``stream``."""
    return f"{id_prefix(stream, seed)}{(index + 1) * _MULT ^ _MIX:016x}"


def schema_message(stream: str) -> dict[str, Any]:
    """The SCHEMA message tap-zuora writes for ``stream``."""
    properties = {name: dict(_KINDS[kind]) for name, kind in SPECS[stream].fields}
    schema = {"properties": properties, "type": "object", "additionalProperties": False}
    return {"type": "SCHEMA", "stream": stream, "schema": schema, "key_properties": ["Id"]}


# -- templates ------------------------------------------------------------------------------


def _placeholder(name: str) -> str:
    return f"@@{name}@@"


def _template(message: dict[str, Any], names: Sequence[str]) -> list[str]:
    """``json.dumps(message)`` cut at the placeholders, in the order they appear.

    The result has a slot (an empty string) at every odd index, where a placeholder's JSON
    string contents go: fill the slots and ``"".join`` the list to get the line.
    """
    text = json.dumps(message)
    cuts = sorted((text.index(json.dumps(_placeholder(name))), name) for name in names)
    parts: list[str] = []
    start = 0
    for offset, name in cuts:
        parts += [text[start : offset + 1], ""]
        start = offset + len(json.dumps(_placeholder(name))) - 1
    return [*parts, text[start:]]


def _template_order(message: dict[str, Any], names: Sequence[str]) -> list[str]:
    text = json.dumps(message)
    return sorted(names, key=lambda name: text.index(json.dumps(_placeholder(name))))


def _dynamic_fields(spec: StreamSpec) -> list[str]:
    """The fields whose value changes with every record, in the order they are computed."""
    numbered = [spec.numbered[0]] if spec.numbered else []
    return ["Id", "UpdatedDate", *numbered, *(field for field, _ in spec.refs)]


def _record_message(spec: StreamSpec, rng: random.Random) -> dict[str, Any]:
    values = spec.variant(rng)
    # created before the first UpdatedDate, so CreatedDate <= UpdatedDate always holds
    values["CreatedDate"] = _ts(_EPOCH0 - rng.randrange(1, 365 * 86400))
    values.update({name: _placeholder(name) for name in _dynamic_fields(spec)})
    record = {name: values[name] for name, kind in spec.fields if kind != "x"}
    return {
        "type": "RECORD",
        "stream": spec.name,
        "record": record,
        "time_extracted": TIME_EXTRACTED,
    }


def _record_templates(spec: StreamSpec, seed: int) -> tuple[list[list[str]], list[str]]:
    """The pool of RECORD templates of a stream and the order of their slots."""
    rng = random.Random(f"{seed}:{spec.name}")  # noqa: S311 - test data, not secrets
    dynamic = _dynamic_fields(spec)
    messages = [_record_message(spec, rng) for _ in range(_POOL)]
    return [_template(m, dynamic) for m in messages], _template_order(messages[0], dynamic)


# -- STATE ----------------------------------------------------------------------------------


class _State:
    """The tap's state dict, serialised the way ``singer.write_state`` does."""

    def __init__(self, streams: Sequence[str]) -> None:
        self.value: dict[str, Any] = {
            "bookmarks": {s: {"version": VERSION, "UpdatedDate": START_DATE} for s in streams},
            "current_stream": None,
        }

    def line(self) -> str:
        return json.dumps({"type": "STATE", "value": self.value})

    def bookmark(self, stream: str) -> dict[str, Any]:
        bookmark: dict[str, Any] = self.value["bookmarks"][stream]
        return bookmark

    def per_record_template(self, stream: str) -> tuple[str, str]:
        """The STATE line after each record, cut where its UpdatedDate goes."""
        saved = self.bookmark(stream)["UpdatedDate"]
        self.bookmark(stream)["UpdatedDate"] = _placeholder("UpdatedDate")
        head, _, tail = _template({"type": "STATE", "value": self.value}, ["UpdatedDate"])
        self.bookmark(stream)["UpdatedDate"] = saved
        return head, tail


# -- the stream -----------------------------------------------------------------------------


def _timestamps() -> Callable[[int], str]:
    """Render epoch seconds fast: a cached day prefix plus a precomputed time of day."""
    days: dict[int, str] = {}
    times = [
        f"T{h:02d}:{m:02d}:{s:02d}.000000Z" for h in range(24) for m in range(60) for s in range(60)
    ]

    def render(epoch: int) -> str:
        day, second = divmod(epoch, 86400)
        prefix = days.get(day)
        if prefix is None:
            prefix = days[day] = dt.date.fromordinal(day + 719163).isoformat()
        return prefix + times[second]

    return render


def _record_values(spec: StreamSpec, records: int, seed: int) -> Iterator[list[str]]:
    """Per-record values in ``_dynamic_fields`` order, records in UpdatedDate order."""
    render = _timestamps()
    rng = random.Random(f"{seed}:{spec.name}:rows")  # noqa: S311 - test data, not secrets
    prefix = id_prefix(spec.name, seed)
    number_format = spec.numbered[1] if spec.numbered else None
    ref_prefixes = [id_prefix(stream, seed) for _, stream in spec.refs]
    draw = rng.random
    for index in range(records):
        values = [
            f"{prefix}{(index + 1) * _MULT ^ _MIX:016x}",
            render(_EPOCH0 + (index * _SPAN) // records),
        ]
        if number_format:
            values.append(number_format % (index + 1))
        for ref in ref_prefixes:
            values.append(f"{ref}{(int(draw() * records) + 1) * _MULT ^ _MIX:016x}")  # noqa: PERF401
        yield values


def _record_lines(spec: StreamSpec, records: int, seed: int, state: _State) -> Iterator[str]:
    """RECORD and STATE lines of one stream, joined in chunks of ``_CHUNK`` records."""
    templates, order = _record_templates(spec, seed)
    reorder = operator.itemgetter(*(_dynamic_fields(spec).index(name) for name in order))
    state_head, state_tail = state.per_record_template(spec.name)
    chunk: list[str] = []
    updated = ""
    for index, values in enumerate(_record_values(spec, records, seed)):
        updated = values[1]
        template = templates[index % _POOL]
        template[1::2] = reorder(values)
        chunk.append("".join(template))
        chunk.append(state_head + updated + state_tail)
        if len(chunk) >= 2 * _CHUNK:
            yield "\n".join(chunk)
            chunk = []
    if chunk:
        yield "\n".join(chunk)
    if updated:
        state.bookmark(spec.name)["UpdatedDate"] = updated


def _stream_chunks(spec: StreamSpec, records: int, seed: int, state: _State) -> Iterator[str]:
    """One stream as tap-zuora's AQuA sync writes it, in newline-free chunks of lines."""
    state.value["current_stream"] = spec.name
    yield state.line()
    yield json.dumps(schema_message(spec.name))
    bookmark = state.bookmark(spec.name)
    file_id = random.Random(f"{seed}:{spec.name}:file").getrandbits(128)  # noqa: S311
    bookmark["file_ids"] = [f"{file_id:032x}"]
    yield state.line()
    bookmark["file_ids"] = []  # the tap pops the file id before streaming its rows
    yield from _record_lines(spec, records, seed, state)
    yield state.line()
    bookmark["file_ids"] = None
    yield state.line()


def iter_chunks(records: int, streams: Sequence[str] = STREAMS, seed: int = 0) -> Iterator[str]:
    """The whole tap output as chunks of complete lines, each chunk without a final newline."""
    unknown = sorted(set(streams) - set(SPECS))
    if unknown:
        raise ValueError(f"unknown stream(s) {unknown}; known: {', '.join(STREAMS)}")
    if records < 0:
        raise ValueError(f"records must be >= 0, got {records}")
    state = _State(streams)
    for stream in streams:
        yield from _stream_chunks(SPECS[stream], records, seed, state)
    state.value["current_stream"] = None
    yield state.line()


def iter_lines(records: int, streams: Sequence[str] = STREAMS, seed: int = 0) -> Iterator[str]:
    """Every Singer message line (without its newline), in order."""
    for chunk in iter_chunks(records, streams, seed):
        yield from chunk.split("\n")


def write_stream(
    out: TextIO, records: int, streams: Sequence[str] = STREAMS, seed: int = 0
) -> None:
    """Write the tap output to ``out``, one message per line."""
    for chunk in iter_chunks(records, streams, seed):
        out.write(chunk)
        out.write("\n")


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--records", type=int, required=True, help="RECORDs per stream")
    parser.add_argument(
        "--streams",
        default=",".join(STREAMS),
        help=f"comma-separated, in output order (default {','.join(STREAMS)})",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="file to write (default: stdout)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    args = _parse_args(argv)
    streams = [s.strip() for s in args.streams.split(",") if s.strip()]
    if args.out is None:
        write_stream(sys.stdout, args.records, streams, args.seed)
        return 0
    with args.out.open("w", encoding="utf-8") as out:
        write_stream(out, args.records, streams, args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
