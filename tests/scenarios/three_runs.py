"""Three runs into one lake, shaped like tap-zuora's AQuA mode, and what ``_current`` must
return after them (computed here from the messages by the documented rule, independently of
any SQL).

1. A full load: Account (keys ``Id``, ``Deleted`` boolean, no ``bookmark_properties``, like
   tap-zuora), Invoice (``bookmark_properties: ["UpdatedDate"]``, no ``Deleted``, like a REST
   stream), ExportLog (no key properties: no current view).
2. Incremental: Account's SCHEMA gains ``Region__c``; the boundary rows are re-sent (the tap
   filters ``UpdatedDate >=`` the bookmark); rows updated; a soft delete; a new key.
3. Incremental again: boundary rows re-sent; updates; soft deletes, one of a key never seen
   before; a stale version of a key landing late (older ``UpdatedDate``: it must not win);
   ExportLog sends its SCHEMA only.

Every key appears at most once per stream and run, so no two versions tie.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from target_athena_zuora.schema import normalise

DATE_TIME = {"type": ["string", "null"], "format": "date-time"}
ACCOUNT_V1: dict[str, Any] = {
    "Id": {"type": ["string", "null"]},
    "Name": {"type": ["string", "null"]},
    "Balance": {"type": ["number", "null"]},
    "UpdatedDate": DATE_TIME,
    "Deleted": {"type": "boolean"},
}
ACCOUNT_V2: dict[str, Any] = {**ACCOUNT_V1, "Region__c": {"type": ["string", "null"]}}
INVOICE: dict[str, Any] = {
    "Id": {"type": ["string", "null"]},
    "AccountId": {"type": ["string", "null"]},
    "Amount": {"type": ["number", "null"]},
    "UpdatedDate": DATE_TIME,
}
EXPORT_LOG: dict[str, Any] = {"Name": {"type": ["string", "null"]}, "At": DATE_TIME}
START = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)
KEYED = {"Account": "account", "Invoice": "invoice"}
MODELS = {**KEYED, "ExportLog": "export_log"}


def at(minutes: int) -> str:
    """A tap-zuora date-time ``minutes`` after the scenario's start."""
    return (START + dt.timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def schema(stream: str, properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    keys = [] if stream == "ExportLog" else ["Id"]
    return {
        "type": "SCHEMA",
        "stream": stream,
        "schema": {"type": "object", "properties": properties, "additionalProperties": False},
        "key_properties": keys,
        **extra,
    }


def account(key: str, name: str, minutes: int, *, deleted: bool = False, **extra: Any) -> Any:
    values = {
        "Id": key,
        "Name": name,
        "Balance": float(len(name)),
        "UpdatedDate": at(minutes),
        "Deleted": deleted,
    }
    return {"type": "RECORD", "stream": "Account", "record": {**values, **extra}}


def invoice(key: str, amount: float, minutes: int) -> dict[str, Any]:
    values = {"Id": key, "AccountId": "A1", "Amount": amount, "UpdatedDate": at(minutes)}
    return {"type": "RECORD", "stream": "Invoice", "record": values}


def export_log(name: str, minutes: int) -> dict[str, Any]:
    return {"type": "RECORD", "stream": "ExportLog", "record": {"Name": name, "At": at(minutes)}}


def state(run: int) -> dict[str, Any]:
    return {"type": "STATE", "value": {"bookmarks": {"run": run}}}


INVOICE_SCHEMA = schema("Invoice", INVOICE, bookmark_properties=["UpdatedDate"])
RUNS: list[list[dict[str, Any]]] = [
    [  # 1: the full load
        schema("Account", ACCOUNT_V1),
        account("A1", "Acme 1", 1),
        account("A2", "Acme 2", 2),
        account("A3", "Acme 3", 3),
        account("A4", "Acme 4", 4),
        account("A5", "Acme 5", 5),
        INVOICE_SCHEMA,
        invoice("I1", 10.0, 1),
        invoice("I2", 20.0, 2),
        invoice("I3", 30.0, 3),
        schema("ExportLog", EXPORT_LOG),
        export_log("full", 0),
        export_log("full-2", 1),
        state(1),
    ],
    [  # 2: a column added; boundary rows again; updates; a soft delete; a new key
        schema("Account", ACCOUNT_V2),
        account("A5", "Acme 5", 5, Region__c="EMEA"),  # the boundary row, same UpdatedDate
        account("A2", "Acme 2 renamed", 10, Region__c="AMER"),
        account("A3", "Acme 3", 11, deleted=True, Region__c=None),
        account("A6", "Acme 6", 12, Region__c="APAC"),
        INVOICE_SCHEMA,
        invoice("I3", 30.0, 3),  # the boundary row
        invoice("I1", 11.5, 10),
        schema("ExportLog", EXPORT_LOG),
        export_log("incremental", 10),
        state(2),
    ],
    [  # 3: boundary again; updates; soft deletes (one never seen); a stale version
        schema("Account", ACCOUNT_V2),
        account("A6", "Acme 6", 12, Region__c="APAC"),  # the boundary row, unchanged
        account("A4", "Acme 4", 20, deleted=True, Region__c="EMEA"),
        account("A2", "Acme 2 final", 21, Region__c="AMER"),
        account("A1", "Acme 1 stale", 0, Region__c="EMEA"),  # older than what landed in run 1
        account("A7", "Acme 7", 22, deleted=True, Region__c=None),
        INVOICE_SCHEMA,
        invoice("I2", 25.0, 20),
        invoice("I4", 40.0, 21),
        schema("ExportLog", EXPORT_LOG),
        state(3),
    ],
]


def records(run: int, stream: str) -> list[dict[str, Any]]:
    """The records of ``stream`` in run ``run`` (0-based)."""
    return [m["record"] for m in RUNS[run] if m["type"] == "RECORD" and m["stream"] == stream]


def expected_current(stream: str) -> list[dict[str, Any]]:
    """The latest version of every key of ``stream`` after the three runs, soft deletes left
    out, as rows of the ``_current`` view (normalised names, values as DuckDB returns them,
    columns a version lacks as None; without ``dt``), sorted by ``id``."""
    columns = [normalise(name) for name in (ACCOUNT_V2 if stream == "Account" else INVOICE)]
    latest: dict[str, tuple[tuple[Any, ...], dict[str, Any]]] = {}
    for run in range(len(RUNS)):
        seen: set[str] = set()
        for values in records(run, stream):
            assert values["Id"] not in seen, "a key twice in one run would tie"
            seen.add(values["Id"])
            order = (_parse(values["UpdatedDate"]), run)
            best = latest.get(values["Id"])
            if best is None or order > best[0]:
                latest[values["Id"]] = (order, values)
    rows = []
    for _, values in sorted(latest.values(), key=lambda v: v[1]["Id"]):
        if values.get("Deleted"):
            continue
        row = {normalise(k): v for k, v in values.items()}
        row["updated_date"] = _parse(values["UpdatedDate"])
        rows.append({c: row.get(c) for c in columns})
    return rows


def _parse(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)
