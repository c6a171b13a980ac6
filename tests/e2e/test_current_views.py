"""``<model>_current`` and ``_transfer_status`` end to end: three CLI runs into one local lake
(``scenarios.three_runs``: a full load, then updates, re-sent boundary rows, soft deletes and a
column added in between), read back from the DuckDB catalog."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest
from scenarios.three_runs import KEYED, MODELS, RUNS, expected_current, records
from scenarios.trino import to_duckdb

from target_athena_zuora.catalog.duckdb import DuckDBCatalog, Table
from target_athena_zuora.glue_types import arrow_schema
from target_athena_zuora.views import PATH_COLUMN, SOURCE_CTE

RunCli = Callable[..., Any]
PART = re.compile(r"^(?P<part>\d+)_(?P<ts>\d{14})\.parquet$")


@pytest.fixture(scope="module")
def lake(run_cli_module: RunCli, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lake")
    for lines in RUNS:
        result = run_cli_module(lines, root=root)
        assert result.returncode == 0, result.stderr
        assert result.states, "each run acknowledges its data"
    return root


def query(root: Path, sql: str) -> list[dict[str, Any]]:
    with duckdb.connect(str(root / "catalog.duckdb"), read_only=True) as connection:
        rows: list[dict[str, Any]] = connection.sql(sql).to_arrow_table().to_pylist()
    return rows


def views(root: Path) -> set[str]:
    found = query(root, "SELECT view_name FROM duckdb_views() WHERE schema_name = 'zuora'")
    return {row["view_name"] for row in found}


def current(root: Path, model: str) -> list[dict[str, Any]]:
    rows = query(root, f'SELECT * FROM zuora."{model}_current" ORDER BY id')  # noqa: S608
    for row in rows:
        assert isinstance(row.pop("dt"), dt.date)
    return rows


# --- _current ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("stream", "model"), sorted(KEYED.items()))
def test_current_is_the_latest_non_deleted_version_of_every_key(
    lake: Path, stream: str, model: str
) -> None:
    assert current(lake, model) == expected_current(stream)


def test_the_expected_rows_are_what_the_issue_asks(lake: Path) -> None:
    """Spelt out once for Account: A3, A4 and A7 are soft-deleted; A1's late stale version
    loses to run 1's; A5's boundary re-send in run 2 carries the new column and wins its tie
    by landing order."""
    rows = {(r["id"], r["name"], r["region_c"]) for r in current(lake, "account")}
    assert rows == {
        ("A1", "Acme 1", None),
        ("A2", "Acme 2 final", "AMER"),
        ("A5", "Acme 5", "EMEA"),
        ("A6", "Acme 6", "APAC"),
    }


def test_the_plain_table_keeps_every_version(lake: Path) -> None:
    (row,) = query(lake, "SELECT count(*) AS n FROM zuora.account")
    assert row["n"] == sum(len(records(run, "Account")) for run in range(len(RUNS)))


@pytest.mark.parametrize("model", sorted(KEYED.values()))
def test_current_has_exactly_the_tables_columns_and_dt(lake: Path, model: str) -> None:
    table = query(lake, f'DESCRIBE zuora."{model}"')
    view = query(lake, f'DESCRIBE zuora."{model}_current"')
    assert [(c["column_name"], c["column_type"]) for c in view] == [
        (c["column_name"], c["column_type"]) for c in table
    ]
    assert view[-1]["column_name"] == "dt"


def test_views_of_the_lake(lake: Path) -> None:
    assert views(lake) == {
        *MODELS.values(),
        *(f"{m}_current" for m in KEYED.values()),  # export_log has no keys: no view
        "_transfer_status",
    }


def test_the_duckdb_view_runs_the_athena_text(lake: Path) -> None:
    """The catalog's view is the Athena SELECT, byte for byte, over the parts; and the Athena
    statement transpiled by sqlglot returns the same rows."""
    catalog = DuckDBCatalog(lake)
    manifest = json.loads((lake / "catalog.json").read_text())
    (entry,) = [t for t in manifest["tables"] if t["name"] == "account"]
    table = Table.from_json(entry)
    view = catalog.current_view(table)
    assert view is not None
    source = catalog.select(
        "zuora", "account", arrow_schema(list(table.columns), "ms"), path_column=PATH_COLUMN
    )
    statement = catalog.view_statements(table)[1]
    athena_select = view.athena_statement().split(" AS\n", 1)[1]
    assert statement.endswith(
        athena_select.replace('FROM "zuora"."account"', f'FROM "{SOURCE_CTE}"')
    )
    assert f"\n{source}\n" in statement
    transpiled = to_duckdb(view.athena_statement(), "zuora", "account", source)
    with duckdb.connect(str(lake / "catalog.duckdb"), read_only=True) as connection:
        a = connection.sql(f"SELECT * FROM ({transpiled}) ORDER BY id").fetchall()  # noqa: S608
        b = connection.sql("SELECT * FROM zuora.account_current ORDER BY id").fetchall()
    assert a == b


# --- rebuilds, settings, keys going away --------------------------------------------------------


def test_current_views_survive_a_rebuild_of_a_moved_lake(
    lake: Path, run_cli: RunCli, tmp_path: Path
) -> None:
    moved = tmp_path / "moved"
    shutil.copytree(lake, moved)
    result = run_cli([], config={"local_path": str(moved)}, extra_args=["--rebuild-catalog"])
    assert result.returncode == 0, result.stderr
    for stream, model in KEYED.items():
        assert current(moved, model) == expected_current(stream)
    paths = query(moved, "SELECT sql FROM duckdb_views() WHERE view_name = 'account_current'")
    assert str(moved.resolve()) in paths[0]["sql"]


def test_current_views_survive_a_rebuild_without_catalog_json(
    lake: Path, run_cli: RunCli, tmp_path: Path
) -> None:
    moved = tmp_path / "moved"
    shutil.copytree(lake, moved)
    (moved / "catalog.json").unlink()
    result = run_cli([], config={"local_path": str(moved)}, extra_args=["--rebuild-catalog"])
    assert result.returncode == 0, result.stderr
    assert current(moved, "account") == expected_current("Account")


def test_current_views_off_and_on_again(run_cli: RunCli, tmp_path: Path) -> None:
    root = tmp_path / "lake"
    off = run_cli(RUNS[0], config={"current_views": False}, root=root)
    assert off.returncode == 0, off.stderr
    assert not any(v.endswith("_current") for v in views(root))
    on = run_cli(RUNS[1], root=root)
    assert on.returncode == 0, on.stderr
    assert {v for v in views(root) if v.endswith("_current")} == {
        f"{m}_current" for m in KEYED.values()
    }


def test_a_stream_that_loses_its_keys_loses_its_view(run_cli: RunCli, tmp_path: Path) -> None:
    root = tmp_path / "lake"
    assert run_cli(RUNS[0], root=root).returncode == 0
    keyless = [
        {**m, "key_properties": []} if m["type"] == "SCHEMA" and m["stream"] == "Invoice" else m
        for m in RUNS[1]
    ]
    result = run_cli(keyless, root=root)
    assert result.returncode == 0, result.stderr
    assert "invoice_current" not in views(root)
    assert "account_current" in views(root)


# --- _transfer_status ---------------------------------------------------------------------------


def parts_by_run(root: Path, model: str) -> dict[str, list[Path]]:
    found: dict[str, list[Path]] = {}
    for path in root.glob(f"zuora/{model}/dt=*/*.parquet"):
        match = PART.match(path.name)
        assert match, path
        found.setdefault(match["ts"], []).append(path)
    return found


def test_transfer_status_has_one_row_per_model_per_run(lake: Path) -> None:
    rows = query(lake, 'SELECT * FROM zuora."_transfer_status" ORDER BY transfer_timestamp, model')
    stamps = sorted(parts_by_run(lake, "_transfer_status"))
    assert len(stamps) == len(RUNS), "one status part per run"
    assert len(rows) == len(RUNS) * len(MODELS)
    version = importlib.metadata.version("target-athena-zuora")
    for run, stamp in enumerate(stamps):
        for stream, model in MODELS.items():
            (row,) = [
                r
                for r in rows
                if r["model"] == model and r["transfer_timestamp"].strftime("%Y%m%d%H%M%S") == stamp
            ]
            parts = parts_by_run(lake, model).get(stamp, [])
            assert row["records"] == len(records(run, stream)), (run, model)
            assert row["parts"] == len(parts)
            assert row["bytes"] == sum(p.stat().st_size for p in parts)
            assert row["transfer_date"] == row["transfer_timestamp"].date() == row["dt"]
            assert row["target_version"] == version
            if row["records"]:
                assert row["transfer_timestamp"] <= row["started_at"] <= row["finished_at"]
            else:
                assert row["started_at"] is None and row["finished_at"] is None


def test_when_did_invoice_last_load_is_one_query(lake: Path) -> None:
    (row,) = query(
        lake,
        """SELECT transfer_timestamp, records, finished_at FROM zuora."_transfer_status"
           WHERE model = 'invoice' ORDER BY transfer_timestamp DESC LIMIT 1""",
    )
    assert row["records"] == len(records(len(RUNS) - 1, "Invoice"))
    assert row["finished_at"] is not None


def test_a_failed_run_lands_no_transfer_status(run_cli: RunCli, tmp_path: Path) -> None:
    root = tmp_path / "lake"
    bad = [*RUNS[0][:3], {"type": "RECORD", "stream": "Account", "record": {"Id": 5}}]
    result = run_cli(bad, root=root)
    assert result.returncode == 1
    assert list(root.glob("zuora/_transfer_status/**/*.parquet")) == []
