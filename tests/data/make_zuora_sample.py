"""Write ``zuora_sample.singer``: a small tap-zuora-shaped stream (see shared/ZUORA.md).

Run by hand (``python tests/data/make_zuora_sample.py``); the output is committed. Deterministic.
- SCHEMA as tap-zuora 1.6.1 sends it: nullable types first, date and datetime both
  ``date-time``, unsupported fields as ``{}``, ``additionalProperties: false``, key ``Id``.
- Date-times as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``; a few records use offsets or bare dates as
  other taps do. Money as bare JSON numbers. ``Deleted`` non-nullable.
- A STATE after every record of incremental streams; Subscription is FULL_TABLE.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path
from typing import Any

OUT = Path(__file__).with_name("zuora_sample.singer")
NULLABLE_STR = {"type": ["string", "null"]}
NULLABLE_NUM = {"type": ["number", "null"]}
NULLABLE_INT = {"type": ["integer", "null"]}
NULLABLE_BOOL = {"type": ["boolean", "null"]}
DATE_TIME = {"type": ["string", "null"], "format": "date-time"}

SCHEMAS: dict[str, dict[str, Any]] = {
    "Account": {
        "Id": {"type": "string"},
        "AccountNumber": NULLABLE_STR,
        "Name": NULLABLE_STR,
        "Balance": NULLABLE_NUM,
        "CreditBalance": NULLABLE_NUM,
        "AutoPay": NULLABLE_BOOL,
        "BillToContactId": NULLABLE_STR,
        "Status": NULLABLE_STR,
        "CreatedDate": DATE_TIME,
        "UpdatedDate": DATE_TIME,
        "Deleted": {"type": "boolean"},
        "Notes__c": {},
    },
    "Subscription": {
        "Id": {"type": "string"},
        "AccountId": NULLABLE_STR,
        "Name": NULLABLE_STR,
        "TermStartDate": DATE_TIME,
        "InitialTerm": NULLABLE_INT,
        "Status": NULLABLE_STR,
        "UpdatedDate": DATE_TIME,
    },
    "Invoice": {
        "Id": {"type": "string"},
        "AccountId": NULLABLE_STR,
        "InvoiceNumber": NULLABLE_STR,
        "InvoiceDate": DATE_TIME,
        "DueDate": DATE_TIME,
        "Amount": NULLABLE_NUM,
        "Balance": NULLABLE_NUM,
        "Status": NULLABLE_STR,
        "UpdatedDate": DATE_TIME,
        "Deleted": {"type": "boolean"},
        "Body": {},
    },
    "InvoiceItem": {
        "Id": {"type": "string"},
        "InvoiceId": NULLABLE_STR,
        "SKU": NULLABLE_STR,
        "ChargeAmount": NULLABLE_NUM,
        "Quantity": NULLABLE_NUM,
        "ServiceStartDate": DATE_TIME,
        "UpdatedDate": DATE_TIME,
        "Deleted": {"type": "boolean"},
    },
}
COUNTS = {"Account": 6, "Subscription": 4, "Invoice": 10, "InvoiceItem": 16}
INCREMENTAL = {"Account", "Invoice", "InvoiceItem"}


def zuora_time(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def value(  # noqa: C901, PLR0911 - one branch per Zuora field kind, read top to bottom
    rng: random.Random, name: str, spec: dict[str, Any], index: int, stream: str
) -> Any:
    base = dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(
        days=index, seconds=rng.randrange(86400), microseconds=rng.randrange(10**6)
    )
    if name == "Id":
        return f"8a8{stream[:3].lower()}{index:05d}"
    if spec.get("format") == "date-time":
        if name in {"InvoiceDate", "DueDate", "TermStartDate", "ServiceStartDate"}:
            midnight = base.replace(hour=0, minute=0, second=0, microsecond=0)
            if index % 5 == 3:
                return midnight.date().isoformat()  # a bare date, as other taps send
            return zuora_time(midnight)
        if index % 4 == 2:  # an offset, as other taps send
            return base.astimezone(dt.timezone(dt.timedelta(hours=-8))).isoformat()
        return zuora_time(base)
    if name == "Deleted":
        return index % 7 == 6
    if not spec:  # unsupported field: any JSON
        return [{"text": f"note {index}"}, None, 5, "plain"][index % 4]
    types = spec["type"]
    if index % 6 == 5 and "null" in types:
        return None
    if "number" in types:
        return round(rng.uniform(-50, 5000), 2)
    if "integer" in types:
        return rng.randrange(1, 36)
    if "boolean" in types:
        return not index % 3
    return f"{name}-{index}-{'äß' if index % 3 == 0 else 'x'}"


def messages() -> list[dict[str, Any]]:
    rng = random.Random(7)  # noqa: S311 - sample data, not secrets
    out: list[dict[str, Any]] = []
    bookmarks: dict[str, str] = {}
    for stream, properties in SCHEMAS.items():
        out.append(
            {
                "type": "SCHEMA",
                "stream": stream,
                "schema": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": properties,
                },
                "key_properties": ["Id"],
                **({"bookmark_properties": ["UpdatedDate"]} if stream in INCREMENTAL else {}),
            }
        )
        for index in range(COUNTS[stream]):
            record = {n: value(rng, n, s, index, stream) for n, s in properties.items()}
            out.append({"type": "RECORD", "stream": stream, "record": record})
            if stream in INCREMENTAL:
                bookmarks[stream] = str(record["UpdatedDate"])
                out.append(
                    {
                        "type": "STATE",
                        "value": {
                            "bookmarks": {k: {"UpdatedDate": v} for k, v in bookmarks.items()}
                        },
                    }
                )
        if stream not in INCREMENTAL:
            out.append(
                {
                    "type": "STATE",
                    "value": {
                        "bookmarks": {
                            **{k: {"UpdatedDate": v} for k, v in bookmarks.items()},
                            stream: {},
                        }
                    },
                }
            )
    return out


if __name__ == "__main__":
    OUT.write_text("".join(json.dumps(m) + "\n" for m in messages()), encoding="utf8")
