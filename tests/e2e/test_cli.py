"""The CLI end to end on Zuora-shaped streams: values, types, layout, catalog, STATE, stderr."""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

SAMPLE = Path(__file__).parents[1] / "data" / "zuora_sample.singer"
MESSAGES: list[dict[str, Any]] = [json.loads(line) for line in SAMPLE.read_text().splitlines()]
MODELS = {
    "Account": "account",
    "Subscription": "subscription",
    "Invoice": "invoice",
    "InvoiceItem": "invoice_item",
}
PART = re.compile(
    r"^(?P<schema>[a-z_]+)/(?P<model>[a-z_]+)/dt=(?P<date>\d{4}-\d{2}-\d{2})/"
    r"(?P<part>\d+)_(?P<ts>\d{14})\.parquet$"
)
MS = pa.timestamp("ms", tz="UTC")
EXPECTED_INVOICE_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("account_id", pa.string()),
        ("invoice_number", pa.string()),
        ("invoice_date", MS),
        ("due_date", MS),
        ("amount", pa.float64()),
        ("balance", pa.float64()),
        ("status", pa.string()),
        ("updated_date", MS),
        ("deleted", pa.bool_()),
        ("body", pa.string()),
    ]
)
EXPECTED_ACCOUNT_DUCKDB = [
    ("id", "VARCHAR"),
    ("account_number", "VARCHAR"),
    ("name", "VARCHAR"),
    ("balance", "DOUBLE"),
    ("credit_balance", "DOUBLE"),
    ("auto_pay", "BOOLEAN"),
    ("bill_to_contact_id", "VARCHAR"),
    ("status", "VARCHAR"),
    ("created_date", "TIMESTAMP WITH TIME ZONE"),
    ("updated_date", "TIMESTAMP WITH TIME ZONE"),
    ("deleted", "BOOLEAN"),
    ("notes_c", "VARCHAR"),
    ("dt", "DATE"),
]


def records(stream: str, messages: list[dict[str, Any]] = MESSAGES) -> list[dict[str, Any]]:
    return [m["record"] for m in messages if m["type"] == "RECORD" and m["stream"] == stream]


def to_utc(text: str, unit: str = "ms") -> dt.datetime:
    """Expected read-back of a date-time: UTC, a bare date at midnight, truncated to ``unit``."""
    moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    moment = moment.astimezone(dt.UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000) if unit == "ms" else moment


def expected_row(
    record: dict[str, Any], properties: dict[str, Any], names: dict[str, str], unit: str = "ms"
) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for source, spec in properties.items():
        value = record.get(source)
        if value is not None and spec.get("format") == "date-time":
            value = to_utc(value, unit)
        elif value is not None and not spec:
            value = ("json", value)
        elif value is not None and "number" in spec.get("type", []):
            value = float(value)
        row[names[source]] = value
    return row


def same_row(expected: dict[str, Any], actual: dict[str, Any]) -> bool:
    if expected.keys() != actual.keys():
        return False
    for key, want in expected.items():
        got = actual[key]
        if isinstance(want, tuple):
            if not isinstance(got, str) or json.loads(got) != want[1]:
                return False
        elif want != got or type(want) is not type(got):
            return False
    return True


SNAKE = {  # the normalised names, written out by hand from the rules in issue 2
    "Id": "id",
    "AccountNumber": "account_number",
    "Name": "name",
    "Balance": "balance",
    "CreditBalance": "credit_balance",
    "AutoPay": "auto_pay",
    "BillToContactId": "bill_to_contact_id",
    "Status": "status",
    "CreatedDate": "created_date",
    "UpdatedDate": "updated_date",
    "Deleted": "deleted",
    "Notes__c": "notes_c",
    "AccountId": "account_id",
    "TermStartDate": "term_start_date",
    "InitialTerm": "initial_term",
    "InvoiceNumber": "invoice_number",
    "InvoiceDate": "invoice_date",
    "DueDate": "due_date",
    "Amount": "amount",
    "Body": "body",
    "InvoiceId": "invoice_id",
    "SKU": "sku",
    "ChargeAmount": "charge_amount",
    "Quantity": "quantity",
    "ServiceStartDate": "service_start_date",
}


def schema_of(stream: str) -> dict[str, Any]:
    message = next(m for m in MESSAGES if m["type"] == "SCHEMA" and m["stream"] == stream)
    properties: dict[str, Any] = message["schema"]["properties"]
    return properties


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def keys(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.parquet"))


# --- one shared run of the Zuora sample ------------------------------------------------------


@pytest.fixture(scope="module")
def sample(run_cli_module: Callable[..., Any]) -> Any:
    started = dt.datetime.now(dt.UTC).replace(microsecond=0)
    result = run_cli_module(SAMPLE.read_bytes())
    finished = dt.datetime.now(dt.UTC)
    assert result.returncode == 0, result.stderr
    return result, started, finished


def test_last_state_is_the_last_input_state(sample: Any) -> None:
    result = sample[0]
    sent = [m["value"] for m in MESSAGES if m["type"] == "STATE"]
    assert result.states, "no STATE emitted at a clean end"
    assert result.states[-1] == sent[-1]
    position = 0  # every emitted STATE was sent, in order
    for state in result.states:
        position = sent.index(state, position) + 1


def test_stdout_holds_only_state_lines(sample: Any) -> None:
    for line in sample[0].stdout:
        assert isinstance(json.loads(line), dict)


def test_layout(sample: Any) -> None:
    result, started, finished = sample
    found = keys(result.root)
    matches = [PART.match(k) for k in found]
    assert all(matches), found
    assert {m["schema"] for m in matches if m} == {"zuora"}
    # every model, and the run's _transfer_status (one row per model, same transfer clock)
    assert sorted({m["model"] for m in matches if m}) == sorted(
        [*MODELS.values(), "_transfer_status"]
    )
    dates = {m["date"] for m in matches if m}
    stamps = {m["ts"] for m in matches if m}
    assert len(dates) == 1 and len(stamps) == 1, "one transfer clock shared by every stream"
    stamp = dt.datetime.strptime(stamps.pop(), "%Y%m%d%H%M%S").replace(tzinfo=dt.UTC)
    assert started - dt.timedelta(seconds=1) <= stamp <= finished
    assert dates.pop() == stamp.strftime("%Y-%m-%d")
    for model in MODELS.values():
        assert sorted(int(m["part"]) for m in matches if m and m["model"] == model) == [0]
    leftovers = [
        p
        for p in result.root.rglob("*")
        if p.is_file()
        and p.suffix not in {".parquet", ".duckdb"}
        and p.name not in {"catalog.json", ".catalog.lock"}
    ]
    assert leftovers == [], "temporary files left behind"


@pytest.mark.parametrize("stream", list(MODELS))
def test_values_read_back_with_pyarrow(
    sample: Any, stream: str, read_parts: Callable[..., pa.Table]
) -> None:
    table = read_parts(sample[0].root, "zuora", MODELS[stream])
    expected = [expected_row(r, schema_of(stream), SNAKE) for r in records(stream)]
    assert table.num_rows == len(expected)
    for want, got in zip(expected, table.to_pylist(), strict=True):
        assert same_row(want, got), (want, got)


@pytest.mark.parametrize("stream", list(MODELS))
def test_values_read_back_with_duckdb(
    sample: Any, stream: str, read_view: Callable[..., pa.Table]
) -> None:
    result = sample[0]
    view = read_view(result.root, "zuora", MODELS[stream])
    transfer_date = dt.date.fromisoformat(PART.match(keys(result.root)[0])["date"])  # type: ignore[index]
    rows = sorted(view.to_pylist(), key=lambda r: r["id"])
    expected = sorted(
        (expected_row(r, schema_of(stream), SNAKE) for r in records(stream)), key=lambda r: r["id"]
    )
    assert len(rows) == len(expected)
    for want, got in zip(expected, rows, strict=True):
        assert got.pop("dt") == transfer_date
        assert same_row(want, got), (want, got)


def test_types_in_the_files(sample: Any) -> None:
    root = sample[0].root
    for path in root.rglob("*.parquet"):
        assert "dt" not in pq.read_schema(path).names, path
    (invoice,) = root.glob("zuora/invoice/dt=*/*.parquet")
    assert pq.read_schema(invoice).remove_metadata() == EXPECTED_INVOICE_SCHEMA


def test_types_in_the_catalog(sample: Any) -> None:
    with duckdb.connect(str(sample[0].root / "catalog.duckdb"), read_only=True) as connection:
        described = connection.sql('DESCRIBE "zuora"."account"').fetchall()
        views = connection.sql(
            "SELECT schema_name, view_name FROM duckdb_views() WHERE NOT internal ORDER BY 2"
        ).fetchall()
    assert [(row[0], row[1]) for row in described] == EXPECTED_ACCOUNT_DUCKDB
    expected = [
        *MODELS.values(),
        *(f"{m}_current" for m in MODELS.values()),  # every sample stream has keys
        "_transfer_status",
    ]
    assert views == sorted([("zuora", m) for m in expected], key=lambda v: v[1])


def test_summary_per_stream_on_stderr(sample: Any) -> None:
    result = sample[0]
    for stream, model in MODELS.items():
        (line,) = [x for x in result.stderr.splitlines() if f"table zuora.{model}:" in x]
        match = re.search(r"(\d+) records, (\d+) parts, (\d+) bytes, [\d.]+ s", line)
        assert match, line
        size = sum(p.stat().st_size for p in result.root.glob(f"zuora/{model}/dt=*/*.parquet"))
        assert (int(match[1]), int(match[2]), int(match[3])) == (len(records(stream)), 1, size)
    assert "Traceback" not in result.stderr
    assert result.error_lines == []


def test_one_line_per_landed_part(sample: Any) -> None:
    """Each part stored is announced: table, rows, bytes, where."""
    result = sample[0]
    landed = re.findall(
        r"landed part of zuora\.(\w+): (\d+) rows, (\d+) bytes, (\S+\.parquet)", result.stderr
    )
    landed = [found for found in landed if found[0] != "_transfer_status"]
    assert sorted(m for m, *_ in landed) == sorted(MODELS.values())
    for model, rows, size, path in landed:
        stream = next(s for s, m in MODELS.items() if m == model)
        assert int(rows) == len(records(stream))
        assert Path(path).stat().st_size == int(size)
        assert Path(path).is_relative_to(result.root.resolve())


def test_summary_says_wall_time(sample: Any) -> None:
    lines = [x for x in sample[0].stderr.splitlines() if "summary: table" in x]
    assert lines and all("s wall time (first batch to last part stored)" in x for x in lines)


# --- behaviour needing their own runs ---------------------------------------------------------


def test_an_unknown_setting_is_a_warning_naming_the_closest(
    run_cli: Callable[..., Any],
) -> None:
    result = run_cli([invoice_schema(), invoice(0), state(0)], config={"compresion": "zstd"})
    assert result.returncode == 0, result.stderr
    warnings = [x for x in result.stderr.splitlines() if "WARNING" in x]
    assert any(
        "unknown setting 'compresion' is ignored; did you mean 'compression'?" in x
        for x in warnings
    ), warnings
    (part,) = result.root.glob("zuora/invoice/dt=*/*.parquet")
    assert pq.ParquetFile(part).metadata.row_group(0).column(0).compression == "SNAPPY"


def invoice_schema(**extra: Any) -> dict[str, Any]:
    properties = {"Id": {"type": "string"}, "Amount": {"type": ["number", "null"]}, **extra}
    return {
        "type": "SCHEMA",
        "stream": "Invoice",
        "schema": {"properties": properties},
        "key_properties": ["Id"],
    }


def invoice(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "type": "RECORD",
        "stream": "Invoice",
        "record": {"Id": f"i{i}", "Amount": i + 0.5, **extra},
    }


def state(n: int) -> dict[str, Any]:
    return {"type": "STATE", "value": {"bookmarks": {"Invoice": {"n": n}}}}


def test_mid_run_schema_adds_a_column(
    run_cli: Callable[..., Any],
    read_view: Callable[..., pa.Table],
    read_parts: Callable[..., pa.Table],
) -> None:
    lines = [
        invoice_schema(),
        invoice(1),
        invoice(2),
        state(2),
        invoice_schema(Status={"type": ["string", "null"]}),
        invoice(3, Status="Posted"),
        state(3),
    ]
    result = run_cli(lines)
    assert result.returncode == 0, result.stderr
    assert result.states[-1] == state(3)["value"]
    view = read_view(result.root, "zuora", "invoice")
    assert view.column_names == ["id", "amount", "status", "dt"]
    assert view.schema.field("status").type == pa.string()
    rows = {r["id"]: r["status"] for r in view.to_pylist()}
    assert rows == {"i1": None, "i2": None, "i3": "Posted"}
    parts = read_parts(result.root, "zuora", "invoice")
    assert parts.num_rows == 3


def test_schema_only_stream_gives_a_queryable_empty_view(run_cli: Callable[..., Any]) -> None:
    schema = {
        "type": "SCHEMA",
        "stream": "PaymentMethod",
        "schema": {
            "properties": {
                "Id": {"type": "string"},
                "CreatedDate": {"type": ["string", "null"], "format": "date-time"},
                "Amount": {"type": ["number", "null"]},
            }
        },
        "key_properties": ["Id"],
    }
    result = run_cli([schema, {"type": "STATE", "value": {"s": 1}}])
    assert result.returncode == 0, result.stderr
    assert list(result.root.glob("zuora/payment_method/**/*.parquet")) == []
    with duckdb.connect(str(result.root / "catalog.duckdb"), read_only=True) as connection:
        count = connection.sql('SELECT count(*) FROM "zuora"."payment_method"').fetchall()
        described = connection.sql('DESCRIBE "zuora"."payment_method"').fetchall()
    assert count == [(0,)]
    assert [(r[0], r[1]) for r in described] == [
        ("id", "VARCHAR"),
        ("created_date", "TIMESTAMP WITH TIME ZONE"),
        ("amount", "DOUBLE"),
        ("dt", "DATE"),
    ]
    assert result.states == [{"s": 1}]


def test_part_rotation_with_a_small_part_size(
    run_cli: Callable[..., Any], read_view: Callable[..., pa.Table]
) -> None:
    """part_size_mb is whole MB, and the size is checked per written row group (16 MB of Arrow
    data), so ~40 MB of incompressible text gives at least two parts of >= 1 MB."""
    count = 20_000
    body = [
        b'{"type":"RECORD","stream":"Invoice","record":{"Id":"i%d","Amount":%d.5,"Body":"%s"}}'
        % (i, i, os.urandom(1000).hex().encode())
        for i in range(count)
    ]
    schema = invoice_schema(Body={"type": "string"})
    result = run_cli([schema, *body, state(count)], config={"part_size_mb": 1})
    assert result.returncode == 0, result.stderr
    parts = sorted(
        result.root.glob("zuora/invoice/dt=*/*.parquet"), key=lambda p: int(p.name.split("_")[0])
    )
    assert len(parts) >= 2
    assert [int(p.name.split("_")[0]) for p in parts] == list(range(len(parts)))
    assert all(p.stat().st_size >= 1024 * 1024 for p in parts[:-1])
    assert sum(pq.ParquetFile(p).metadata.num_rows for p in parts) == count
    assert read_view(result.root, "zuora", "invoice").num_rows == count
    assert result.states == [state(count)["value"]]


def test_second_run_adds_parts_and_leaves_the_first_untouched(
    run_cli: Callable[..., Any], tmp_path: Path, read_view: Callable[..., pa.Table]
) -> None:
    root = tmp_path / "shared"
    first = run_cli(SAMPLE.read_bytes(), root=root)
    assert first.returncode == 0, first.stderr
    before = {k: (sha(root / k), (root / k).stat().st_mtime_ns) for k in keys(root)}
    second = run_cli(SAMPLE.read_bytes(), root=root)
    assert second.returncode == 0, second.stderr
    after = keys(root)
    assert set(before) < set(after)
    assert len(after) == 2 * len(before)
    for key, (digest, mtime) in before.items():
        assert (sha(root / key), (root / key).stat().st_mtime_ns) == (digest, mtime), key
    for stream, model in MODELS.items():
        assert read_view(root, "zuora", model).num_rows == 2 * len(records(stream))


def test_runs_one_after_another_never_share_a_transfer_timestamp(
    run_cli: Callable[..., Any], tmp_path: Path
) -> None:
    """A run that stored parts ends after the second its transfer timestamp names, so the
    next run gets a later one even when both are quick."""
    root = tmp_path / "shared"
    stamps: list[str] = []
    for _ in range(4):
        run = run_cli(SAMPLE.read_bytes(), root=root)
        ended = dt.datetime.now(dt.UTC)
        assert run.returncode == 0, run.stderr
        (stamp,) = {
            p.stem.split("_")[1]
            for p in root.glob("zuora/*/dt=*/*.parquet")
            if p.stem.split("_")[1] not in stamps
        }
        started = dt.datetime.strptime(stamp, "%Y%m%d%H%M%S").replace(tzinfo=dt.UTC)
        assert ended >= started + dt.timedelta(seconds=1), (stamp, ended)
        stamps.append(stamp)
    assert stamps == sorted(set(stamps))
    assert {p.name.split("_")[0] for p in root.glob("zuora/_transfer_status/*/*")} == {"0"}


def test_options_precision_decimal_compression_schema(
    run_cli: Callable[..., Any], read_view: Callable[..., pa.Table]
) -> None:
    lines = [
        invoice_schema(UpdatedDate={"type": ["string", "null"], "format": "date-time"}),
        '{"type":"RECORD","stream":"Invoice","record":{"Id":"a","Amount":1234567890123456.78,"UpdatedDate":"2024-05-06T07:08:09.123456-08:00"}}',
        state(1),
    ]
    config = {
        "timestamp_precision": "us",
        "number_type": "decimal(18,2)",
        "compression": "zstd",
        "schema": "billing",
    }
    result = run_cli(lines, config=config)
    assert result.returncode == 0, result.stderr
    (part,) = result.root.glob("billing/invoice/dt=*/*.parquet")
    schema = pq.read_schema(part)
    assert schema.field("amount").type == pa.decimal128(18, 2)
    assert schema.field("updated_date").type == pa.timestamp("us", tz="UTC")
    metadata = pq.ParquetFile(part).metadata
    assert {metadata.row_group(0).column(i).compression for i in range(metadata.num_columns)} == {
        "ZSTD"
    }
    (row,) = read_view(result.root, "billing", "invoice").to_pylist()
    assert row["amount"] == decimal.Decimal("1234567890123456.78")
    assert row["updated_date"] == dt.datetime(2024, 5, 6, 15, 8, 9, 123456, tzinfo=dt.UTC)


# --- SDK features on the per-record path ------------------------------------------------------


def test_stream_maps_alias_drop_and_compute(
    run_cli: Callable[..., Any], read_view: Callable[..., pa.Table]
) -> None:
    config = {
        "stream_maps": {
            "Invoice": {"__alias__": "Bill", "Body": None, "AmountTwice": "float(Amount * 2)"},
        }
    }
    lines = [invoice_schema(Body={}), invoice(1, Body={"x": 1}), invoice(2), state(2)]
    result = run_cli(lines, config=config)
    assert result.returncode == 0, result.stderr
    assert list(result.root.glob("zuora/invoice/**/*.parquet")) == []
    rows = sorted(read_view(result.root, "zuora", "bill").to_pylist(), key=lambda r: r["id"])
    assert [(r["id"], r["amount"], r["amount_twice"]) for r in rows] == [
        ("i1", 1.5, 3.0),
        ("i2", 2.5, 5.0),
    ]
    assert "body" not in rows[0]
    assert result.states[-1] == state(2)["value"]


def test_flattening(run_cli: Callable[..., Any], read_view: Callable[..., pa.Table]) -> None:
    schema = invoice_schema(
        BillTo={
            "type": ["object", "null"],
            "properties": {"City": {"type": "string"}, "Zip": {"type": "string"}},
        }
    )
    lines = [schema, invoice(1, BillTo={"City": "Oslo", "Zip": "0150"}), state(1)]
    result = run_cli(lines, config={"flattening_enabled": True, "flattening_max_depth": 1})
    assert result.returncode == 0, result.stderr
    (row,) = read_view(result.root, "zuora", "invoice").to_pylist()
    assert row["bill_to_city"] == "Oslo"
    assert row["bill_to_zip"] == "0150"
    assert "bill_to" not in row


def test_validate_records_true_lands_the_same(
    run_cli: Callable[..., Any], read_parts: Callable[..., pa.Table]
) -> None:
    plain = run_cli(SAMPLE.read_bytes())
    validated = run_cli(SAMPLE.read_bytes(), config={"validate_records": True})
    assert validated.returncode == 0, validated.stderr
    assert validated.states == plain.states
    for model in MODELS.values():
        assert read_parts(validated.root, "zuora", model).equals(
            read_parts(plain.root, "zuora", model)
        )


def test_validate_records_true_rejects_a_bad_value(run_cli: Callable[..., Any]) -> None:
    lines = [
        invoice_schema(),
        invoice(1),
        {"type": "RECORD", "stream": "Invoice", "record": {"Id": "x", "Amount": "lots"}},
    ]
    result = run_cli(lines, config={"validate_records": True})
    assert result.returncode != 0
    assert len(result.error_lines) == 1, result.stderr
    assert "stream Invoice, field Amount, input line 3" in result.error_lines[0]
    assert "Traceback" not in result.stderr
    assert result.states == []


def test_add_record_metadata(
    run_cli: Callable[..., Any], read_view: Callable[..., pa.Table]
) -> None:
    lines = [invoice_schema(), invoice(1), state(1)]
    result = run_cli(lines, config={"add_record_metadata": True})
    assert result.returncode == 0, result.stderr
    (row,) = read_view(result.root, "zuora", "invoice").to_pylist()
    assert row["id"] == "i1"
    sdc = {k for k in row if k.startswith("_sdc_")}
    assert {"_sdc_received_at", "_sdc_batched_at", "_sdc_table_version"} <= sdc
    assert isinstance(row["_sdc_received_at"], dt.datetime)


def test_about_lists_every_setting(run_cli: Callable[..., Any]) -> None:
    result = run_cli(b"", extra_args=["--about", "--format", "json"])
    assert result.returncode == 0, result.stderr
    about = json.loads("\n".join(result.stdout))
    names = set(about["settings"]["properties"])
    wanted = {
        "local_path",
        "schema",
        "compression",
        "timestamp_precision",
        "number_type",
        "part_size_mb",
        "fast_path",
        "validate_records",
        "add_record_metadata",
        "stream_maps",
        "flattening_enabled",
        "batch_size_rows",
    }
    assert wanted <= names


def test_a_stream_taking_the_status_tables_name_is_refused(run_cli: Callable[..., Any]) -> None:
    schema = {**invoice_schema(), "stream": "_TransferStatus"}
    result = run_cli([schema, {**invoice(0), "stream": "_TransferStatus"}, state(0)])
    assert result.returncode == 1
    (line,) = result.error_lines
    assert "stream _TransferStatus" in line and "zuora._transfer_status" in line, line
    assert "input line 1" in line, line
    assert result.states == []
