"""The real tap-zuora 1.6.1 (its own virtualenv) against the fake Zuora API of tests/zuora,
piped into the target's CLI, landing in a local destination read back with DuckDB and pyarrow.

Every landed value is compared with what the fake served, after the conversions the tap
itself applies (read from tap-zuora 1.6.1 and singer-python 6.1.1's ``transform``, modelled
below in ``tap_value``): CSV headers ``Invoice.Id`` -> ``InvoiceId`` (``convert_header``);
text as is (``""`` stays ``""``); integers and decimals through ``int``/``float`` (``""`` ->
null), printed by the tap as Python prints floats (``1e+16``, ``5e-05``); booleans ``"false"``
and ``""`` -> false, anything else true; dates and datetimes parsed, moved to UTC and printed
with microseconds; ``Deleted`` as a boolean; and rows whose ``UpdatedDate`` is before the
bookmark skipped. The model is checked against the tap's own RECORDs as well, so a wrong
model fails here and not in the target's columns.

The target's side: column names in lower snake_case (``COLUMN``), date-times as UTC timestamps
at millisecond precision, insert-only parts, and a DuckDB view whose columns are the union of
every column ever landed, in first-seen order (``dt`` last).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from zuora.data import (
    ACME,
    BEIJING,
    INV2,
    INV3,
    INV4,
    INV5,
    ITEM2,
    ITEM6,
    SOCIETE,
    SUB2,
    SUB3,
    ZOE,
    default_tenant,
    utc,
    zid,
)
from zuora.fake_api import FakeZuora, RecordedRequest
from zuora.model import parse_zoql
from zuora.pipeline import PipelineRun, TapZuora

pytest_plugins = ["zuora.harness"]
pytestmark = [pytest.mark.slow, pytest.mark.zuora]

SCHEMA = "zuora"
UTC = dt.UTC
MODELS = {
    "Account": "account",
    "Invoice": "invoice",
    "InvoiceItem": "invoice_item",
    "Subscription": "subscription",
}
COLUMN = {
    "AccountId": "account_id",
    "AccountNumber": "account_number",
    "Amount": "amount",
    "AutoPay": "auto_pay",
    "AutoRenew": "auto_renew",
    "Balance": "balance",
    "BillCycleDay": "bill_cycle_day",
    "BillToContactId": "bill_to_contact_id",
    "CancelledDate": "cancelled_date",
    "ChargeAmount": "charge_amount",
    "ChargeName": "charge_name",
    "Comments": "comments",
    "CommunicationProfileId": "communication_profile_id",
    "ContractEffectiveDate": "contract_effective_date",
    "CreatedDate": "created_date",
    "CreditBalance": "credit_balance",
    "Currency": "currency",
    "Deleted": "deleted",
    "DueDate": "due_date",
    "Id": "id",
    "IncludesOneTime": "includes_one_time",
    "InvoiceDate": "invoice_date",
    "InvoiceId": "invoice_id",
    "InvoiceNumber": "invoice_number",
    "LastInvoiceDate": "last_invoice_date",
    "Logo": "logo",
    "Name": "name",
    "Notes": "notes",
    "ParentId": "parent_id",
    "PostedDate": "posted_date",
    "Quantity": "quantity",
    "Region__c": "region_c",
    "Segment__c": "segment_c",
    "ServiceEndDate": "service_end_date",
    "ServiceStartDate": "service_start_date",
    "SKU": "sku",
    "Status": "status",
    "TaxAmount": "tax_amount",
    "TermEndDate": "term_end_date",
    "TermType": "term_type",
    "UnitPrice": "unit_price",
    "UpdatedDate": "updated_date",
    "Version": "version",
}
"""Zuora field -> landed column (lower snake_case), written out rather than computed."""

TAP_DATETIME = "%Y-%m-%dT%H:%M:%S.%fZ"
MS_UTC = pa.timestamp("ms", tz="UTC")
Row = dict[str, Any]


# -- the tap's conversions ----------------------------------------------------------------


def tap_header(header: str, stream: str) -> str:
    """``sync.convert_header``: ``Invoice.Id`` is ``Id`` in stream Invoice, ``InvoiceId`` else."""
    first, dot, rest = header.partition(".")
    return rest if dot and first == stream else header.replace(".", "")


def tap_datetime(text: str) -> str | None:
    """singer's date-time transform: parse, naive means UTC, print in UTC with microseconds."""
    if not text:
        return None
    parsed = dt.datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime(TAP_DATETIME)


def tap_value(zuora_type: str, text: str) -> Any:
    """What the tap's RECORD carries for one CSV cell of a field of this Zuora type."""
    if zuora_type in ("text", "picklist"):
        return text  # "string" is tried before "null": empty text stays ""
    if zuora_type == "integer":
        return int(text) if text else None
    if zuora_type == "decimal":
        return float(text) if text else None
    if zuora_type == "boolean":
        return bool(text) and text.lower() != "false"  # empty -> bool("") -> false
    if zuora_type in ("date", "datetime"):
        return tap_datetime(text)
    raise AssertionError(f"tap-zuora never queries a field of Zuora type {zuora_type!r}")


def landed_value(zuora_type: str, text: str) -> Any:
    """The value read back from the target: date-times as UTC datetimes truncated to ms."""
    value = tap_value(zuora_type, text)
    if zuora_type in ("date", "datetime") and value is not None:
        parsed = dt.datetime.strptime(value, TAP_DATETIME).replace(tzinfo=UTC)
        return parsed.replace(microsecond=parsed.microsecond // 1000 * 1000)
    return value


def schema_property(zuora_type: str) -> dict[str, Any]:
    """The JSON schema tap-zuora's discovery gives a field of this Zuora type (as sent)."""
    json_types = {"text": "string", "picklist": "string", "decimal": "number"}
    if zuora_type in ("date", "datetime"):
        return {"format": "date-time", "type": ["string", "null"]}
    if zuora_type in ("text", "picklist", "decimal", "integer", "boolean"):
        return {"type": [json_types.get(zuora_type, zuora_type), "null"]}
    return {}  # unsupported type: {"type": null} in the catalog, {} once parsed by singer


def arrow_type(prop: dict[str, Any]) -> pa.DataType:
    """The Parquet column type the target gives a SCHEMA property of tap-zuora's."""
    if prop.get("format") == "date-time":
        return MS_UTC
    kinds = prop.get("type")
    kind = next((k for k in kinds if k != "null"), None) if isinstance(kinds, list) else kinds
    return {
        "string": pa.string(),
        "number": pa.float64(),
        "integer": pa.int64(),
        "boolean": pa.bool_(),
        None: pa.string(),  # {}: JSON text, always null here (never queried)
    }[kind]


def served_rows(run: PipelineRun, fake: FakeZuora, stream: str) -> Iterator[dict[str, str]]:
    """Every data row of ``stream`` the tap downloaded in ``run``, by tap field name, with
    the tap's bookmark filter applied (``sync_file_ids`` skips rows updated before it)."""
    start = run.start_bookmark(stream)
    for served in run.downloads:
        if served.object != stream:
            continue
        names = [tap_header(h, stream) for h in served.header]
        for cells in served.rows:
            raw = dict(zip(names, cells, strict=True))
            updated = tap_datetime(raw["UpdatedDate"])
            if updated is not None and updated >= start:
                yield raw


def schema_columns(run: PipelineRun, stream: str) -> list[str]:
    return [COLUMN[name] for name in run.schema(stream)["properties"]]


def expected_tap_records(run: PipelineRun, fake: FakeZuora, stream: str) -> list[Row]:
    types = fake.tenant.object(stream).column_types()
    return [
        {name: tap_value(types[name], text) for name, text in raw.items()}
        for raw in served_rows(run, fake, stream)
    ]


def expected_landed(run: PipelineRun, fake: FakeZuora, stream: str) -> list[Row]:
    types = fake.tenant.object(stream).column_types()
    rows = []
    for raw in served_rows(run, fake, stream):
        row: Row = dict.fromkeys(schema_columns(run, stream))
        row.update({COLUMN[name]: landed_value(types[name], text) for name, text in raw.items()})
        rows.append(row)
    return rows


# -- reading back -------------------------------------------------------------------------


def _json_default(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(type(value))


def sorted_rows(rows: list[Row], columns: list[str] | None = None) -> list[Row]:
    """Rows (projected on ``columns``) in a canonical order, to compare as multisets."""
    if columns is not None:
        rows = [{c: row.get(c) for c in columns} for row in rows]
    return sorted(rows, key=lambda r: json.dumps(r, sort_keys=True, default=_json_default))


def by_id(rows: list[Row]) -> dict[str, list[Row]]:
    found: dict[str, list[Row]] = {}
    for row in rows:
        found.setdefault(row["id"], []).append(row)
    return found


@dataclasses.dataclass
class Destination:
    """One local destination across runs, and what must be in it after each run."""

    root: Path
    read_view: Callable[[Path, str, str], pa.Table]
    list_parts: Callable[..., list[Path]]
    expected: dict[str, list[Row]] = dataclasses.field(default_factory=dict)
    columns: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    parts: dict[str, list[Path]] = dataclasses.field(default_factory=dict)

    @property
    def target_config(self) -> dict[str, Any]:
        return TapZuora.local_target(self.root, SCHEMA)

    def land(self, run: PipelineRun, fake: FakeZuora) -> dict[str, list[Row]]:
        """Check a finished run: the tap's records, the new parts and the STATE; then the
        views over everything landed so far. Returns the run's landed rows by stream."""
        run.raise_for_failure()
        assert run.final_state == run.tap_states[-1], "the target's last STATE is not the tap's"
        landed = {}
        for stream, model in MODELS.items():
            assert run.records(stream) == expected_tap_records(run, fake, stream), (
                f"{stream}: the tap's RECORDs differ from the modelled conversion of what it "
                "downloaded (the model in this file is wrong, not the target)"
            )
            rows = expected_landed(run, fake, stream)
            self._check_new_parts(run, stream, model, rows)
            self.expected.setdefault(model, []).extend(rows)
            known = self.columns.setdefault(model, [])
            known.extend(c for c in schema_columns(run, stream) if c not in known)
            landed[stream] = rows
        self.check_views()
        return landed

    def _check_new_parts(self, run: PipelineRun, stream: str, model: str, rows: list[Row]) -> None:
        before = self.parts.get(model, [])
        now = self.list_parts(self.root, SCHEMA, model)
        assert set(before) <= set(now), f"{model}: parts of earlier runs disappeared"
        new = [p for p in now if p not in before]
        self.parts[model] = now
        properties = run.schema(stream)["properties"]
        tables = []
        for path in new:
            table = pq.read_table(path)
            for name, prop in properties.items():
                field = table.schema.field(COLUMN[name])
                assert field.type == arrow_type(prop), f"{path}: {field} for {name} {prop}"
            extra = set(table.column_names) - {COLUMN[n] for n in properties}
            for column in extra:  # tolerated only as all-null carry-overs of earlier columns
                assert table.column(column).null_count == len(table), f"{path}: {column}"
            tables.append(table.select([COLUMN[n] for n in properties]))
        found = pa.concat_tables(tables).to_pylist() if tables else []
        assert sorted_rows(found) == sorted_rows(rows), f"{model}: this run's parts differ"

    def check_views(self) -> None:
        """Each view holds every value ever landed and every column ever landed (values
        are compared first, so a lost column fails after them)."""
        for model, columns in self.columns.items():
            table = self.read_view(self.root, SCHEMA, model)
            rows = table.to_pylist()
            dates = {
                dt.date.fromisoformat(p.parent.name.removeprefix("dt=")) for p in self.parts[model]
            }
            assert {row.pop("dt") for row in rows} <= dates, f"{SCHEMA}.{model}: dt"
            common = [c for c in columns if c in table.column_names]
            assert sorted_rows(rows, common) == sorted_rows(self.expected[model], common), (
                f"{SCHEMA}.{model}: values differ"
            )
            missing = [c for c in columns if c not in table.column_names]
            unknown = [c for c in table.column_names if c not in [*columns, "dt"]]
            assert (missing, unknown) == ([], []), (
                f"{SCHEMA}.{model}: columns missing {missing}, unexpected {unknown}; a table "
                f"keeps every column ever landed (view has {table.column_names})"
            )

    def check_column_order(self) -> None:
        """Each view's columns in first-seen order (new ones appended, never inserted), then
        ``dt``. Tests call it last, after their own checks of the values."""
        for model, columns in self.columns.items():
            names = self.read_view(self.root, SCHEMA, model).column_names
            assert names == [*columns, "dt"], (
                f"{SCHEMA}.{model}: columns {names}, expected first-seen order {[*columns, 'dt']}"
            )


@pytest.fixture
def destination(
    tmp_path: Path,
    read_view: Callable[[Path, str, str], pa.Table],
    list_parts: Callable[..., list[Path]],
) -> Destination:
    return Destination(tmp_path / "out", read_view, list_parts)


def describe(root: Path, model: str) -> list[tuple[str, str]]:
    with duckdb.connect(str(root / "catalog.duckdb"), read_only=True) as connection:
        rows = connection.sql(f'DESCRIBE "{SCHEMA}"."{model}"').fetchall()
    return [(row[0], row[1]) for row in rows]


def ids(rows: list[Row]) -> set[str]:
    return {row["id"] for row in rows}


def aqua_jobs(run: PipelineRun) -> dict[str, RecordedRequest]:
    """The AQuA exports a run submitted (not discovery's probes), by object, in order."""
    return {
        parse_zoql(r.body["queries"][0]["query"]).object: r
        for r in run.requests
        if (r.method, r.path) == ("POST", "v1/batch-query/") and r.body["name"] != "discover"
    }


# -- a full AQuA run, shared by the tests that read it ------------------------------------


@dataclasses.dataclass(frozen=True)
class FullRun:
    fake: FakeZuora
    run: PipelineRun
    root: Path


@pytest.fixture(scope="module")
def full_run(tap_zuora_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FullRun]:
    """One full AQuA run (OAuth; results in segments of 2 rows) into a fresh destination."""
    base = tmp_path_factory.mktemp("tap-zuora-full")
    with FakeZuora.serving(default_tenant()) as fake:
        fake.segment_rows = 2
        tap = TapZuora(tap_zuora_python, fake, base / "tap-zuora")
        run = tap.run(TapZuora.local_target(base / "out", SCHEMA), check=False)
        yield FullRun(fake, run, base / "out")


def test_a_full_run_lands_every_value_the_fake_served(
    full_run: FullRun,
    read_view: Callable[[Path, str, str], pa.Table],
    list_parts: Callable[..., list[Path]],
) -> None:
    destination = Destination(full_run.root, read_view, list_parts)
    landed = destination.land(full_run.run, full_run.fake)

    tenant = full_run.fake.tenant
    for stream in MODELS:
        assert ids(landed[stream]) == set(tenant.object(stream).rows), stream
    assert describe(full_run.root, "account") == [
        ("id", "VARCHAR"),
        ("account_number", "VARCHAR"),
        ("name", "VARCHAR"),
        ("status", "VARCHAR"),
        ("currency", "VARCHAR"),
        ("balance", "DOUBLE"),
        ("credit_balance", "DOUBLE"),
        ("auto_pay", "BOOLEAN"),
        ("bill_cycle_day", "BIGINT"),
        ("last_invoice_date", "TIMESTAMP WITH TIME ZONE"),
        ("parent_id", "VARCHAR"),
        ("bill_to_contact_id", "VARCHAR"),
        ("communication_profile_id", "VARCHAR"),
        ("notes", "VARCHAR"),
        ("logo", "VARCHAR"),
        ("created_date", "TIMESTAMP WITH TIME ZONE"),
        ("updated_date", "TIMESTAMP WITH TIME ZONE"),
        ("region_c", "VARCHAR"),
        ("deleted", "BOOLEAN"),
        ("dt", "DATE"),
    ]
    destination.check_column_order()


def test_a_full_run_keeps_the_awkward_values(
    full_run: FullRun, read_view: Callable[[Path, str, str], pa.Table]
) -> None:
    """Spot checks written out by hand (not through the model): exponent floats, lost
    digits, empty text, null numbers, the empty boolean, non-ASCII, DST, soft deletes."""
    full_run.run.raise_for_failure()
    accounts = {r["id"]: r for r in read_view(full_run.root, SCHEMA, "account").to_pylist()}
    invoices = {r["id"]: r for r in read_view(full_run.root, SCHEMA, "invoice").to_pylist()}
    items = {r["id"]: r for r in read_view(full_run.root, SCHEMA, "invoice_item").to_pylist()}
    societe = accounts[SOCIETE]
    assert societe["name"] == "Société Générale 🚀"
    assert societe["balance"] == 9.876543210987654e19
    assert (societe["credit_balance"], societe["bill_cycle_day"]) == (None, None)
    assert (societe["auto_pay"], societe["region_c"], societe["logo"]) == (False, "", None)
    assert societe["notes"] == 'Key account, "strategic"'
    assert societe["last_invoice_date"] is None
    assert societe["created_date"] == dt.datetime(2025, 1, 6, 23, 30, tzinfo=UTC)
    assert accounts[BEIJING]["name"] == "北京有限公司"
    assert (accounts[BEIJING]["balance"], accounts[BEIJING]["credit_balance"]) == (5e-05, 1e-07)
    assert accounts[ZOE]["credit_balance"] == 1234567890.1234567
    assert accounts[ACME]["notes"] == ""
    assert accounts[ACME]["last_invoice_date"] == dt.datetime(2025, 2, 1, tzinfo=UTC)
    assert invoices[INV2]["amount"] == 1e16
    assert invoices[INV2]["comments"] == "Merci — payé ✅"
    assert invoices[INV4]["deleted"] is True
    assert invoices[INV4]["updated_date"] == dt.datetime(2025, 2, 20, 12, tzinfo=UTC)
    assert {i: r["deleted"] for i, r in invoices.items() if i != INV4} == dict.fromkeys(
        set(invoices) - {INV4}, False
    )
    assert items[ITEM2]["unit_price"] == 5e-05
    tap_lines = "\n".join(full_run.run.tap_output)
    for printed in ('"Amount": 1e+16', '"UnitPrice": 5e-05', '"TaxAmount": 1.23e-05'):
        assert printed in tap_lines  # the tap prints exponent notation
    assert "Soci\\u00e9t\\u00e9 G\\u00e9n\\u00e9rale \\ud83d\\ude80" in tap_lines  # ASCII-escaped


def test_discovery_follows_the_describe(full_run: FullRun) -> None:
    run = full_run.run
    run.raise_for_failure()
    assert [s["tap_stream_id"] for s in run.catalog["streams"]] == list(MODELS)  # no Usage
    account = full_run.fake.tenant.object("Account")
    expected = {f.name: schema_property(f.type) for f in account.fields if f.exportable} | {
        "Deleted": {"type": "boolean"}
    }
    schemas = [m for m in run.tap_messages if m["type"] == "SCHEMA" and m["stream"] == "Account"]
    assert schemas == [
        {
            "type": "SCHEMA",
            "stream": "Account",
            "schema": {"properties": expected, "type": "object", "additionalProperties": False},
            "key_properties": ["Id"],
        }
    ]
    assert list(schemas[0]["schema"]["properties"]) == list(expected)
    invoice_item = run.schema("InvoiceItem")["properties"]
    assert invoice_item["InvoiceId"] == {"type": ["string", "null"]}  # joined: Invoice.Id
    metadata = {
        tuple(m["breadcrumb"]): m["metadata"]
        for m in run.catalog["streams"][0]["metadata"]  # Account
    }
    assert metadata[("properties", "Logo")]["inclusion"] == "unsupported"
    assert metadata[("properties", "Id")]["inclusion"] == "automatic"
    assert metadata[("properties", "UpdatedDate")]["inclusion"] == "automatic"


def test_a_full_run_asks_aqua_as_tap_zuora_does(full_run: FullRun) -> None:
    run, fake = full_run.run, full_run.fake
    run.raise_for_failure()
    first, *rest = run.requests
    assert (first.method, first.path, first.body) == (
        "POST",
        "oauth/token",
        {
            "client_id": fake.username,
            "client_secret": fake.password,
            "grant_type": "client_credentials",
        },
    )
    assert {r.headers.get("authorization", "").split(" ")[0] for r in rest} == {"Bearer"}
    assert {r.host for r in run.requests} == {"rest.na.zuora.com"}
    submitted = [r.body for r in aqua_jobs(run).values()]
    version = run.final_state["bookmarks"]["Account"]["version"] if run.final_state else None
    assert [(p["name"], p["project"]) for p in submitted] == [
        (f"{stream}_{version}", f"{stream}_{version}") for stream in MODELS
    ]
    account = submitted[0]
    assert account["partner"] == fake.partner_id
    assert (account["format"], account["version"], account["dateTimeUtc"]) == ("csv", "1.2", "true")
    assert account["incrementalTime"] == "2024-05-31 17:00:00"  # START_DATE in US/Pacific
    (query,) = account["queries"]
    assert query["deleted"] == {"column": "Deleted", "format": "Boolean"}
    assert query["query"] == (
        "select Id, AccountNumber, Name, Status, Currency, Balance, CreditBalance, AutoPay, "
        "BillCycleDay, LastInvoiceDate, ParentId, BillToContactId, CommunicationProfileId, "
        "Notes, CreatedDate, UpdatedDate, Region__c from Account order by UpdatedDate asc"
    )
    assert "Account.Id" in submitted[1]["queries"][0]["query"]  # Invoice joins Account
    downloads = [(d.object, len(d.rows)) for d in run.downloads]
    assert downloads == [
        ("Account", 2),
        ("Account", 2),
        ("Invoice", 2),
        ("Invoice", 2),
        ("Invoice", 1),
        ("InvoiceItem", 2),
        ("InvoiceItem", 2),
        ("InvoiceItem", 2),
        ("Subscription", 2),
        ("Subscription", 1),
    ]


def test_a_full_run_ends_on_the_taps_state(full_run: FullRun) -> None:
    run = full_run.run
    run.raise_for_failure()
    assert run.final_state == run.tap_states[-1]
    assert run.final_state is not None
    assert run.final_state["current_stream"] is None
    bookmarks = run.final_state["bookmarks"]
    for stream in MODELS:
        latest = max(r["UpdatedDate"] for r in run.records(stream))
        assert bookmarks[stream]["UpdatedDate"] == latest, stream
        assert bookmarks[stream]["file_ids"] is None
    assert bookmarks["Account"]["UpdatedDate"] == "2025-03-01T10:00:00.000000Z"
    # segments: the tap records the files still to read after each one
    files = [d.file_id for d in run.downloads if d.object == "Account"]
    progress: list[list[str]] = []
    for state in run.tap_states:
        left = state["bookmarks"]["Account"].get("file_ids")
        if state["current_stream"] == "Account" and left is not None and progress[-1:] != [left]:
            progress.append(left)
    assert progress == [files, files[1:], []]


# -- across runs ----------------------------------------------------------------------------


OMEGA, NUEVO = zid(0xA, 5), zid(0xA, 6)
INV6, ITEM7 = zid(0xB, 6), zid(0xC, 7)


def test_an_incremental_run_from_the_targets_state_lands_only_the_changes(
    tap_zuora: TapZuora, fake_zuora: FakeZuora, destination: Destination
) -> None:
    first = tap_zuora.run(destination.target_config)
    destination.land(first, fake_zuora)

    fake_zuora.upsert(
        "Account", {"Id": ACME, "Name": "Acme Corporation", "AutoPay": False}, utc(2025, 4, 2, 9)
    )
    fake_zuora.upsert("Account", {"Id": BEIJING, "CreditBalance": None}, utc(2025, 4, 3, 10))
    fake_zuora.upsert(
        "Account",
        {"Id": OMEGA, "AccountNumber": "A00000005", "Name": "Ωmega Ltd", "Status": "Active"},
        utc(2025, 4, 4, 11),
    )
    fake_zuora.soft_delete("Invoice", INV3, utc(2025, 4, 5, 12))
    fake_zuora.upsert("Invoice", {"Id": INV2, "Balance": Decimal("0.00001")}, utc(2025, 4, 5, 13))
    fake_zuora.upsert(
        "InvoiceItem",
        {"Id": ITEM7, "InvoiceId": INV5, "ChargeName": "Late fee", "ChargeAmount": Decimal("5")},
        utc(2025, 4, 6, 8),
    )
    fake_zuora.delay_jobs(3, ["Invoice"])  # the tap waits for this one, sending nothing
    tap_zuora.poll_interval = 1
    second = tap_zuora.run(destination.target_config, state=first.final_state)
    landed = destination.land(second, fake_zuora)

    # only what changed since the bookmark, plus the boundary row AQuA sends again
    assert ids(landed["Account"]) == {ZOE, ACME, BEIJING, OMEGA}
    assert ids(landed["Invoice"]) == {INV5, INV3, INV2}
    assert ids(landed["InvoiceItem"]) == {ITEM6, ITEM7}
    assert ids(landed["Subscription"]) == {SUB3}
    submitted = aqua_jobs(second)
    assert submitted["Account"].body["incrementalTime"] == "2025-03-01 02:00:00"  # 10:00Z, PST
    assert submitted["Account"].body["project"] == aqua_jobs(first)["Account"].body["project"]

    # insert-only: both versions of a changed row, and the soft delete as a new version
    accounts = by_id(destination.read_view(destination.root, SCHEMA, "account").to_pylist())
    assert sorted(r["name"] for r in accounts[ACME]) == ["Acme Corp", "Acme Corporation"]
    assert len(accounts[ZOE]) == 2 and accounts[ZOE][0] == accounts[ZOE][1]
    invoices = by_id(destination.read_view(destination.root, SCHEMA, "invoice").to_pylist())
    assert sorted(r["deleted"] for r in invoices[INV3]) == [False, True]

    # the delayed export: polled until done (first 'executing'), then read
    invoice_job = submitted["Invoice"].response["id"]
    polls = [r.response["status"] for r in second.requests if r.path.endswith(invoice_job)]
    assert polls[0] == "executing"
    assert polls[-2:] == ["completed", "completed"]
    destination.check_column_order()


def test_a_custom_field_added_between_runs_becomes_a_column(
    tap_zuora: TapZuora, fake_zuora: FakeZuora, destination: Destination
) -> None:
    first = tap_zuora.run(destination.target_config)
    first_accounts = destination.land(first, fake_zuora)["Account"]
    first_parts = {p: p.read_bytes() for p in destination.list_parts(destination.root)}

    fake_zuora.add_custom_field("Account", "Segment__c", "picklist")
    fake_zuora.upsert("Account", {"Id": ACME, "Segment__c": "Enterprise"}, utc(2025, 5, 1, 9))
    fake_zuora.upsert(
        "Account",
        {"Id": NUEVO, "Name": "Nuevo S.A.", "Status": "Active", "Segment__c": "SMB"},
        utc(2025, 5, 2, 9),
    )
    second = tap_zuora.run(destination.target_config, state=first.final_state)
    assert second.schema("Account")["properties"]["Segment__c"] == {"type": ["string", "null"]}
    landed = destination.land(second, fake_zuora)

    assert {r["id"]: r["segment_c"] for r in landed["Account"]} == {
        ZOE: "",  # the boundary row, sent again: an empty picklist arrives as ""
        ACME: "Enterprise",
        NUEVO: "SMB",
    }
    view = destination.read_view(destination.root, SCHEMA, "account").to_pylist()
    assert sorted(r["id"] for r in view if r["segment_c"] is None) == sorted(
        r["id"] for r in first_accounts
    )  # every row of the first run reads null there, and only those
    assert {p: p.read_bytes() for p in first_parts} == first_parts  # old parts untouched
    destination.check_column_order()  # segment_c after deleted: appended, never inserted


def test_a_switch_from_aqua_to_rest_keeps_every_column_and_value(
    tap_zuora: TapZuora, fake_zuora: FakeZuora, destination: Destination
) -> None:
    """REST exports have no ``Deleted``; the view must still show it (null for REST rows)."""
    first = tap_zuora.run(destination.target_config)
    destination.land(first, fake_zuora)

    fake_zuora.upsert("Account", {"Id": ACME, "Name": "Acme (summer)"}, utc(2025, 7, 15, 12))
    fake_zuora.upsert(
        "Invoice",
        {
            "Id": INV6,
            "AccountId": ACME,
            "Amount": Decimal("42"),
            "InvoiceDate": dt.date(2025, 7, 15),
        },
        utc(2025, 7, 16, 1),  # 2025-07-15T18:00:00-07:00 in the REST file
    )
    fake_zuora.soft_delete("Subscription", SUB2, utc(2025, 7, 17))  # REST never sends it
    rest = tap_zuora.config(api_type="REST", auth_type="BASIC")
    second = tap_zuora.run(destination.target_config, config=rest, state=first.final_state)

    assert "Deleted" not in second.schema("Account")["properties"]
    assert not [r for r in second.requests if "batch-query" in r.path or "oauth" in r.path]
    assert {r.headers.get("apiaccesskeyid") for r in second.requests} == {fake_zuora.username}
    exports = [r.body["Query"] for r in second.requests if r.path == "v1/object/export"]
    assert (
        "select Id, AccountNumber, Name, Status, Currency, Balance, CreditBalance, AutoPay, "
        "BillCycleDay, LastInvoiceDate, ParentId, BillToContactId, Notes, CreatedDate, "
        "UpdatedDate, Region__c from Account where UpdatedDate >= '2025-03-01T10:00:00Z' and "
        "UpdatedDate < '2025-03-31T10:00:00Z'"
    ) in exports  # CommunicationProfileId is unsupported in REST mode
    assert second.final_state is not None
    for stream in MODELS:
        bookmark = second.final_state["bookmarks"][stream]["UpdatedDate"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", bookmark), bookmark

    (served,) = [
        dict(zip(f.header, row, strict=True))
        for f in second.downloads
        for row in f.rows
        if f.object == "Invoice" and INV6 in row
    ]
    assert served["Invoice.UpdatedDate"] == "2025-07-15T18:00:00-07:00"  # the tenant's zone
    (record,) = [r for r in second.records("Invoice") if r["Id"] == INV6]
    assert record["UpdatedDate"] == "2025-07-16T01:00:00.000000Z"

    landed = destination.land(second, fake_zuora)
    assert ids(landed["Account"]) == {ZOE, ACME}  # REST's ">=" sends the boundary row too
    assert ids(landed["Invoice"]) == {INV5, INV6}
    assert ids(landed["Subscription"]) == {SUB3}
    view = by_id(destination.read_view(destination.root, SCHEMA, "account").to_pylist())
    assert sorted((r["updated_date"], r["name"], r["deleted"]) for r in view[ACME]) == [
        (dt.datetime(2025, 2, 1, 10, tzinfo=UTC), "Acme Corp", False),
        (dt.datetime(2025, 7, 15, 12, tzinfo=UTC), "Acme (summer)", None),
    ]
    destination.check_column_order()


def test_the_data_centre_follows_the_sandbox_and_european_strings(
    tap_zuora: TapZuora, fake_zuora: FakeZuora
) -> None:
    """tap-zuora tries each URL of ``URLS[(sandbox, european)]`` until one accepts the
    credentials; both settings count only as the string "true"."""
    fake_zuora.home_host = "rest.apisandbox.zuora.com"
    catalog = tap_zuora.discover(tap_zuora.config(sandbox="true"))
    assert [s["tap_stream_id"] for s in catalog["streams"]] == list(MODELS)
    tried = [(r.host, r.path, r.status) for r in fake_zuora.requests[:4]]
    assert tried == [
        ("rest.sandbox.na.zuora.com", "oauth/token", 401),
        ("rest.apisandbox.zuora.com", "oauth/token", 200),
        ("rest.sandbox.na.zuora.com", "v1/batch-query/", 401),
        ("rest.apisandbox.zuora.com", "v1/batch-query/", 200),
    ]
    assert {r.host for r in fake_zuora.requests[4:]} == {"rest.apisandbox.zuora.com"}

    fake_zuora.requests.clear()
    with pytest.raises(AssertionError, match="Could not get access token"):
        tap_zuora.discover(tap_zuora.config(sandbox=True))  # a JSON true means production
    assert {r.host for r in fake_zuora.requests} == {"rest.na.zuora.com", "rest.zuora.com"}

    fake_zuora.home_host = "rest.eu.zuora.com"
    fake_zuora.requests.clear()
    tap_zuora.discover(tap_zuora.config(european="true"))
    assert {r.host for r in fake_zuora.requests} == {"rest.eu.zuora.com"}
