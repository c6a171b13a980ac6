"""`meltano run tap-zuora-sample target-athena-zuora` on the repo's own meltano.yml.

The run uses the repository's Meltano project (plugins installed in its ``.meltano/``) with
its own system database and output directory under a temporary path, so it neither reads
nor leaves state or data in the developer's project. The output is read back with pyarrow
and DuckDB and compared with the sample the demo tap replays.

Meltano comes from ``MELTANO_BIN`` or ``PATH``; ``scripts/install-meltano`` installs it in
``.venv-meltano`` and ``scripts/test`` points ``MELTANO_BIN`` there.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

pytestmark = [pytest.mark.meltano, pytest.mark.slow]

REPO = Path(__file__).parents[2]
SAMPLE = REPO / "demo" / "tap-zuora-sample" / "tap_zuora_sample" / "sample.singer"
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


@pytest.fixture(scope="module")
def meltano_run(tmp_path_factory: pytest.TempPathFactory) -> MeltanoRun:
    base = tmp_path_factory.mktemp("meltano")
    run = MeltanoRun(base / "output", find_meltano(), meltano_env(base), "")
    run.call("install", "tap-zuora-sample", "target-athena-zuora")
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
