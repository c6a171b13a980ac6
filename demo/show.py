"""What scripts/demo prints after each run: SQL over the DuckDB catalog and the run's parts.

    python demo/show.py [OUTPUT_DIR]     # default: output

Run 1 (one transfer timestamp among the parts): rows per model, then the top accounts.
Later runs: what this run's parts hold, every model's rows against its distinct ids and
current rows, the latest version of each invoice the run changed, then the top accounts
again, on the ``<model>_current`` views (the latest version of each row, soft deletes left
out: rows land again when they change, the storage is insert-only as the Zuora
connector's). Last, when each table last loaded (``_transfer_status``).
"""

# A demo printing its results; SQL is built from the catalog's own view names and the
# transfer timestamps of part file names (digits only), nothing a user types.
# ruff: noqa: T201, S608

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import duckdb

SCHEMA = "zuora"
PART = re.compile(r"^\d+_(\d{14})\.parquet$")


def latest(model: str) -> str:
    """SQL: the latest version of every row of ``model``, soft-deleted ones included."""
    return (
        "SELECT * EXCLUDE (n) FROM (\n"
        "    SELECT *, row_number() OVER (\n"
        "      PARTITION BY id ORDER BY updated_date DESC, dt DESC) AS n\n"
        f"    FROM {SCHEMA}.{model}\n"
        "  ) WHERE n = 1"
    )


def current(model: str) -> str:
    """SQL: one row per id, its latest version, unless that version is a soft delete — the
    view the target keeps beside each keyed table."""
    return f"SELECT * FROM {SCHEMA}.{model}_current"


def transfers(root: Path) -> list[str]:
    """Transfer timestamps of every part under ``root``, oldest first (one per run)."""
    stamps = {
        m.group(1) for p in root.glob(f"{SCHEMA}/*/dt=*/*.parquet") if (m := PART.match(p.name))
    }
    return sorted(stamps)


def models(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "SELECT view_name FROM duckdb_views() WHERE schema_name = ? ORDER BY 1", [SCHEMA]
    ).fetchall()
    return [name for (name,) in rows if not name.endswith("_current") and name[0] != "_"]


def parts_of(root: Path, model: str, stamp: str) -> str:
    """SQL source: the parts of ``model`` written by the transfer ``stamp``."""
    return f"read_parquet('{root}/{SCHEMA}/{model}/dt=*/*_{stamp}.parquet')"


def first_run(con: duckdb.DuckDBPyConnection, names: list[str]) -> None:
    print("\nRows per model (views over output/zuora/<model>/dt=*/*.parquet):")
    for model in names:
        (count,) = con.execute(f"SELECT count(*) FROM {SCHEMA}.{model}").fetchall()[0]
        print(f"  {SCHEMA}.{model:<14} {count:>5} rows")


def later_run(
    con: duckdb.DuckDBPyConnection, root: Path, names: list[str], stamps: list[str]
) -> None:
    stamp = stamps[-1]
    print(
        f"\nRun {len(stamps)}: Meltano handed the tap the STATE of run {len(stamps) - 1}, "
        "so it sent only the rows changed since\n(the bookmarked row again, as tap-zuora's "
        "AQuA exports do)."
    )
    print(f"\nLanded by this run (parts *_{stamp}.parquet) and in the whole tables:")
    print(f"  {'':<20} {'this run':>8} {'all rows':>9} {'ids':>5} {'current':>8}")
    for model in names:
        query = (
            f"SELECT (SELECT count(*) FROM {parts_of(root, model, stamp)}),"
            f" count(*), count(DISTINCT id), (SELECT count(*) FROM ({current(model)}))"
            f" FROM {SCHEMA}.{model}"
        )
        landed, rows, ids, live = con.execute(query).fetchall()[0]
        print(f"  {SCHEMA + '.' + model:<20} {landed:>8} {rows:>9} {ids:>5} {live:>8}")
    print(
        "  (all rows: every version landed so far; ids: distinct Zuora ids; current: the latest\n"
        "  version of each id, soft-deleted ones left out)"
    )
    changed = f"""
WITH latest AS (
  {latest("invoice")}
)
SELECT l.invoice_number, l.status, l.amount, l.balance, l.payment_amount,
       l.updated_date, l.deleted, v.versions
FROM latest AS l
JOIN (SELECT id, count(*) AS versions FROM {SCHEMA}.invoice GROUP BY id) AS v USING (id)
WHERE l.id IN (SELECT id FROM {parts_of(root, "invoice", stamp)})
ORDER BY l.updated_date
"""
    print("\nLatest version of the invoices this run changed:" + changed)
    con.sql(changed).show(max_width=200)


def top_accounts(con: duckdb.DuckDBPyConnection) -> None:
    query = f"""
WITH invoice AS (
  {current("invoice")}
), account AS (
  {current("account")}
)
SELECT a.account_number, a.name, a.currency,
       count(*)                    AS invoices,
       round(sum(i.amount), 2)     AS invoiced,
       round(sum(i.balance), 2)    AS open_balance,
       max(i.invoice_date)::DATE   AS last_invoice
FROM invoice AS i
JOIN account AS a ON a.id = i.account_id
WHERE i.status = 'Posted'
GROUP BY ALL
ORDER BY invoiced DESC
LIMIT 10
"""
    print("\nTop accounts by posted invoices (latest version of each row):" + query)
    con.sql(query).show(max_width=200)


def last_loads(con: duckdb.DuckDBPyConnection) -> None:
    query = f"""
SELECT model, records, parts, bytes, finished_at
FROM {SCHEMA}."_transfer_status"
QUALIFY row_number() OVER (PARTITION BY model ORDER BY transfer_timestamp DESC) = 1
ORDER BY model
"""
    print("\nWhen each table last loaded, and how much (the target's _transfer_status):" + query)
    con.sql(query).show(max_width=200)


def main(argv: list[str]) -> int:
    root = Path(argv[1] if len(argv) > 1 else "output")
    stamps = transfers(root)
    if not stamps:
        print(f"no parts under {root}/{SCHEMA}: nothing landed yet", file=sys.stderr)
        return 1
    with duckdb.connect(str(root / "catalog.duckdb"), read_only=True) as con:
        names = models(con)
        if len(stamps) == 1:
            first_run(con, names)
        else:
            later_run(con, root, names, stamps)
        top_accounts(con)
        last_loads(con)
    return 0


def run() -> int:
    """``main``, ending quietly when the reader of stdout goes away (``| head``)."""
    try:
        return main(sys.argv)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, as the demo tap


if __name__ == "__main__":
    raise SystemExit(run())
