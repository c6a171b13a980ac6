"""`meltano run tap-zuora-sample target-athena-zuora` on the repo's own meltano.yml.

The run uses the repository's Meltano project (plugins installed in its ``.meltano/``) with
its own system database and output directory under a temporary path, so it neither reads
nor leaves state or data in the developer's project. The output is read back with pyarrow
and DuckDB and compared with the sample the demo tap replays.

Then, in a project of its own, the demo twice with Meltano's state, as `scripts/demo` does:
the second run lands only the rows the demo tap's change log says changed (and the row
AQuA sends again), in new parts, and leaves the first run's parts as they were.

Meltano comes from ``MELTANO_BIN`` or ``PATH``; ``scripts/install-meltano`` installs it in
``.venv-meltano`` and ``scripts/test`` points ``MELTANO_BIN`` there.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import importlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from file_modules import import_file

pytestmark = [pytest.mark.meltano, pytest.mark.slow]

REPO = Path(__file__).parents[2]
DEMO_PACKAGE = REPO / "demo" / "tap-zuora-sample" / "tap_zuora_sample"
SAMPLE = DEMO_PACKAGE / "sample.singer"
MODELS = {
    "Account": "account",
    "Invoice": "invoice",
    "InvoiceItem": "invoice_item",
    "Subscription": "subscription",
}
STATE_ID = "dev:tap-zuora-sample-to-target-athena-zuora"
PART = re.compile(
    r"^(?P<model>[a-z_]+)/dt=(?P<date>\d{4}-\d{2}-\d{2})/(?P<n>\d+)_(?P<ts>\d{14})\.parquet$"
)
TIMEOUT = 600


@functools.cache
def sample_messages() -> list[dict[str, Any]]:
    return [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]


def sample_records(stream: str) -> list[dict[str, Any]]:
    return [
        m["record"] for m in sample_messages() if m["type"] == "RECORD" and m["stream"] == stream
    ]


@dataclass(frozen=True)
class MeltanoRun:
    """A finished ``meltano run``: where its output went and how to call meltano again."""

    root: Path
    meltano: str
    env: dict[str, str]
    log: str

    def call(self, *args: str) -> subprocess.CompletedProcess[str]:
        completed = subprocess.run(
            [self.meltano, *args],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        if completed.returncode != 0:
            command = " ".join(args)
            pytest.fail(
                f"meltano {command} exited {completed.returncode}:\n{completed.stderr[-4000:]}"
            )
        return completed


def find_meltano() -> str:
    meltano = os.environ.get("MELTANO_BIN") or shutil.which("meltano")
    if not meltano:
        pytest.fail(
            "meltano not found: run scripts/install-meltano and set MELTANO_BIN="
            ".venv-meltano/bin/meltano (or deselect these tests with -m 'not meltano')"
        )
    return meltano


def meltano_env(base: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TARGET_ATHENA_ZUORA_", "MELTANO_"))
    }
    env.update(
        MELTANO_PROJECT_ROOT=str(REPO),
        MELTANO_DATABASE_URI=f"sqlite:///{base / 'meltano.db'}",
        MELTANO_SEND_ANONYMOUS_USAGE_STATS="false",
        TARGET_ATHENA_ZUORA_LOCAL_PATH=str(base / "output"),
    )
    return env


_installed: list[bool] = []


def install_plugins(run: MeltanoRun) -> None:
    """`meltano install` of both plugins (into the repo's .meltano/), once per session."""
    if not _installed:
        run.call("install", "tap-zuora-sample", "target-athena-zuora")
        _installed.append(True)


@pytest.fixture(scope="module")
def meltano_run(tmp_path_factory: pytest.TempPathFactory) -> MeltanoRun:
    base = tmp_path_factory.mktemp("meltano")
    run = MeltanoRun(base / "output", find_meltano(), meltano_env(base), "")
    install_plugins(run)
    completed = run.call("run", "tap-zuora-sample", "target-athena-zuora")
    return MeltanoRun(run.root, run.meltano, run.env, completed.stderr + completed.stdout)


def test_every_record_lands_once_per_model(
    meltano_run: MeltanoRun, read_view: Callable[[Path, str, str], pa.Table]
) -> None:
    for stream, model in MODELS.items():
        table = read_view(meltano_run.root, "zuora", model)
        expected = sample_records(stream)
        assert table.num_rows == len(expected) > 0, model
        assert sorted(table.column("id").to_pylist()) == sorted(r["Id"] for r in expected), model


def test_layout_is_the_zuora_connectors(meltano_run: MeltanoRun) -> None:
    data = meltano_run.root / "zuora"
    paths = sorted(p.relative_to(data).as_posix() for p in data.rglob("*") if p.is_file())
    matches = [PART.match(p) for p in paths]
    assert all(matches), paths
    found = [m for m in matches if m]
    models = [*MODELS.values(), "_transfer_status"]  # and the run's status, one part
    assert {m["model"] for m in found} == set(models)
    assert len({m["ts"] for m in found}) == 1, "one transfer timestamp for the whole run"
    for m in found:
        assert m["date"] == dt.datetime.strptime(m["ts"], "%Y%m%d%H%M%S").date().isoformat()
    assert Counter(m["model"] for m in found if m["n"] == "0") == Counter(models)


def test_column_names_are_snake_case_and_dt_stays_in_the_path(meltano_run: MeltanoRun) -> None:
    for stream, model in MODELS.items():
        for path in (meltano_run.root / "zuora" / model).rglob("*.parquet"):
            names = pq.read_schema(path).names
            assert all(re.fullmatch(r"[a-z][a-z0-9_]*", n) for n in names), names
            assert "dt" not in names
            schema = next(
                m for m in sample_messages() if m["type"] == "SCHEMA" and m["stream"] == stream
            )
            assert len(names) == len(schema["schema"]["properties"]), model
    invoice_item = pq.read_schema(
        next((meltano_run.root / "zuora" / "invoice_item").rglob("*.parquet"))
    )
    assert {"sku", "uom", "updated_date", "invoice_id", "charge_amount"} <= set(invoice_item.names)


@pytest.mark.parametrize(
    ("model", "column", "check"),
    [
        ("invoice", "invoice_date", pa.types.is_timestamp),
        ("invoice", "updated_date", pa.types.is_timestamp),
        ("invoice", "amount", pa.types.is_float64),
        ("invoice", "balance", pa.types.is_float64),
        ("invoice", "includes_usage", pa.types.is_boolean),
        ("invoice", "deleted", pa.types.is_boolean),
        ("account", "bill_cycle_day", pa.types.is_int64),
        ("account", "bill_to_contact_id", pa.types.is_string),
        ("subscription", "version", pa.types.is_int64),
        ("subscription", "term_end_date", pa.types.is_timestamp),
        ("invoice_item", "quantity", pa.types.is_float64),
    ],
    ids=lambda v: v if isinstance(v, str) else getattr(v, "__name__", str(v)),
)
def test_parquet_types_follow_the_schema(
    meltano_run: MeltanoRun,
    read_parts: Callable[[Path, str, str], pa.Table],
    model: str,
    column: str,
    check: Callable[[pa.DataType], bool],
) -> None:
    field = read_parts(meltano_run.root, "zuora", model).schema.field(column)
    assert check(field.type), f"{model}.{column}: {field.type}"
    if pa.types.is_timestamp(field.type):
        assert field.type.tz == "UTC"


def test_duckdb_views_expose_types_and_dt(meltano_run: MeltanoRun) -> None:
    with duckdb.connect(str(meltano_run.root / "catalog.duckdb"), read_only=True) as con:
        types = dict(
            con.execute("SELECT column_name, column_type FROM (DESCRIBE zuora.invoice)").fetchall()
        )
    assert types["amount"] == "DOUBLE"
    assert types["invoice_date"].startswith("TIMESTAMP")
    assert types["deleted"] == "BOOLEAN"
    assert types["dt"] == "DATE"


def test_values_round_trip(
    meltano_run: MeltanoRun, read_view: Callable[[Path, str, str], pa.Table]
) -> None:
    by_id = {r["Id"]: r for r in sample_records("Invoice")}
    rows = read_view(meltano_run.root, "zuora", "invoice").to_pylist()
    for row in rows:
        record = by_id[row["id"]]
        assert row["amount"] == record["Amount"]
        assert row["status"] == record["Status"]
        assert row["comments"] == record["Comments"]
        assert row["includes_usage"] is record["IncludesUsage"]
        assert row["invoice_date"].isoformat() == record["InvoiceDate"].replace(
            ".000000Z", "+00:00"
        )
        posted = record["PostedDate"]
        assert (row["posted_date"] is None) == (posted is None)


def test_meltano_stored_the_final_state(meltano_run: MeltanoRun) -> None:
    states = [m["value"] for m in sample_messages() if m["type"] == "STATE"]
    stored = json.loads(meltano_run.call("state", "get", STATE_ID).stdout)
    assert stored == {"singer_state": states[-1]}
    assert stored["singer_state"]["current_stream"] is None


def test_target_logs_a_summary_per_model(meltano_run: MeltanoRun) -> None:
    for model in MODELS.values():
        assert re.search(rf"zuora\.{model}\b.*\b75 records", meltano_run.log), model
    assert "Run completed" in meltano_run.log


def test_meltano_config_list_shows_the_real_defaults(meltano_run: MeltanoRun) -> None:
    listed = meltano_run.call("config", "list", "target-athena-zuora", "--all").stdout
    for name, shown in (("compression", "'snappy'"), ("part_size_mb", "128")):
        assert re.search(rf"^{name} .*current value: {shown} \(default\)", listed, re.M), name
    assert re.search(r"^workgroup .*current value: 'primary' \(default\)", listed, re.M)
    assert "Custom, possibly unsupported" not in listed


# -- two runs with Meltano's state -------------------------------------------------------------


def demo_tap(module: str) -> ModuleType:
    """A module of the demo tap, imported from its folder (it lives in Meltano's venv)."""
    import_file("tap_zuora_sample", DEMO_PACKAGE)
    return importlib.import_module(f"tap_zuora_sample.{module}")


def expected_second_run(stream: str) -> list[dict[str, Any]]:
    """The bookmarked row again, then round 1 of the change log."""
    return [sample_records(stream)[-1], *(c.row for c in demo_tap("history").changes(stream, 1))]


def parts_by_transfer(root: Path) -> dict[str, list[Path]]:
    found: dict[str, list[Path]] = {}
    data = root / "zuora"
    for path in sorted(data.rglob("*.parquet")):
        match = PART.match(path.relative_to(data).as_posix())
        assert match, path
        found.setdefault(match["ts"], []).append(path)
    return found


def digests(paths: list[Path]) -> dict[Path, str]:
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


@dataclass(frozen=True)
class TwoRuns:
    """The demo run twice in one project: output, run 1's parts (with digests), logs."""

    run: MeltanoRun
    first_parts: dict[Path, str]
    second_log: str


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> TwoRuns:
    base = tmp_path_factory.mktemp("meltano-twice")
    run = MeltanoRun(base / "output", find_meltano(), meltano_env(base), "")
    install_plugins(run)
    run.call("run", "tap-zuora-sample", "target-athena-zuora")
    (only,) = parts_by_transfer(run.root).values()
    first = digests(only)
    second = run.call("run", "tap-zuora-sample", "target-athena-zuora")
    return TwoRuns(run, first, second.stderr + second.stdout)


def second_transfer(two_runs: TwoRuns) -> list[Path]:
    transfers = parts_by_transfer(two_runs.run.root)
    assert len(transfers) == 2, f"one transfer timestamp per run: {sorted(transfers)}"
    return transfers[max(transfers)]


@pytest.mark.parametrize(("stream", "model"), MODELS.items(), ids=list(MODELS))
def test_second_run_lands_only_the_changed_rows(two_runs: TwoRuns, stream: str, model: str) -> None:
    paths = [p for p in second_transfer(two_runs) if p.parts[-3] == model]
    landed = pa.concat_tables([pq.read_table(p) for p in paths]).to_pylist()
    expected = expected_second_run(stream)
    assert len(landed) == len(expected) == 7, model
    assert sorted(r["id"] for r in landed) == sorted(r["Id"] for r in expected)
    by_id = {r["Id"]: r for r in expected}
    for row in landed:
        record = by_id[row["id"]]
        assert row["deleted"] is record["Deleted"], row["id"]
        assert row["updated_date"].isoformat() == record["UpdatedDate"].replace(
            ".000000Z", "+00:00"
        )


def test_second_run_values_follow_the_change_log(two_runs: TwoRuns) -> None:
    paths = [p for p in second_transfer(two_runs) if p.parts[-3] == "invoice"]
    landed = {r["id"]: r for p in paths for r in pq.read_table(p).to_pylist()}
    for record in expected_second_run("Invoice"):
        row = landed[record["Id"]]
        for column, field in (
            ("amount", "Amount"),
            ("balance", "Balance"),
            ("payment_amount", "PaymentAmount"),
            ("status", "Status"),
            ("invoice_number", "InvoiceNumber"),
            ("comments", "Comments"),
        ):
            assert row[column] == record[field], (record["InvoiceNumber"], column)


def test_first_run_parts_are_left_as_they_were(two_runs: TwoRuns) -> None:
    transfers = parts_by_transfer(two_runs.run.root)
    first = transfers[min(transfers)]
    assert digests(first) == two_runs.first_parts


def test_views_cover_both_runs_and_the_latest_version_is_current(two_runs: TwoRuns) -> None:
    history = demo_tap("history")
    with duckdb.connect(str(two_runs.run.root / "catalog.duckdb"), read_only=True) as con:
        for stream, model in MODELS.items():
            query = f"SELECT count(*) FROM zuora.{model}"  # noqa: S608 - names from MODELS
            (rows,) = con.execute(query).fetchone() or (0,)
            assert rows == len(sample_records(stream)) + 7, model
            latest = con.execute(
                f"SELECT id, deleted FROM (SELECT *, row_number() OVER (PARTITION BY id "  # noqa: S608
                f"ORDER BY updated_date DESC, dt DESC) AS n FROM zuora.{model}) WHERE n = 1"
            ).fetchall()
            zuora_now = history.rows_at(stream, 1)
            assert dict(latest) == {i: r["Deleted"] for i, r in zuora_now.items()}, model


def test_meltano_kept_the_second_runs_final_state(two_runs: TwoRuns) -> None:
    sync = demo_tap("sync")
    after_first = [m["value"] for m in sample_messages() if m["type"] == "STATE"][-1]
    lines = list(sync.incremental_run(after_first, None))
    expected = json.loads(lines[-1])["value"]
    stored = json.loads(two_runs.run.call("--environment=dev", "state", "get", STATE_ID).stdout)
    assert stored == {"singer_state": expected}
    for bookmark in expected["bookmarks"].values():
        assert bookmark["UpdatedDate"] == demo_tap("history").change_time(1, 5)


def test_second_run_summary_counts_the_changed_rows(two_runs: TwoRuns) -> None:
    for model in MODELS.values():
        assert re.search(rf"zuora\.{model}\b.*\b7 records", two_runs.second_log), model


def test_demo_show_prints_what_the_second_run_landed(two_runs: TwoRuns) -> None:
    """scripts/demo's printout after run 2: this run's rows per model and the changed
    invoices, the soft-deleted one included."""
    shown = subprocess.run(
        [sys.executable, str(REPO / "demo" / "show.py"), str(two_runs.run.root)],
        capture_output=True,
        text=True,
        check=True,
        timeout=TIMEOUT,
    ).stdout
    assert "Run 2: Meltano handed the tap the STATE of run 1" in shown
    for stream, model in MODELS.items():
        rows = len(sample_records(stream)) + 7
        assert re.search(rf"zuora\.{model} +7 +{rows} ", shown), model
    for record in expected_second_run("Invoice"):
        assert record["InvoiceNumber"] in shown
    assert re.search(r"INV\d+ .* true ", shown), "the soft-deleted invoice, deleted = true"
    assert "When each table last loaded" in shown
    for model in MODELS.values():
        assert re.search(rf"\b{model}\s*│\s*7\s*│\s*1\s*│", shown), model  # _transfer_status


def test_metric_lines_name_their_stream_in_meltanos_console(two_runs: TwoRuns) -> None:
    for stream in MODELS:
        assert re.search(
            rf"METRIC record_count for stream {stream}\b.*metric_name=record_count",
            two_runs.second_log,
        ), stream
