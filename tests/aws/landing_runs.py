"""Runs of the target on chosen transfer days into S3 + Glue (moto) and locally (DuckDB),
and the checks that both catalogs agree after each run.

- ``cli_runs``: the real CLI in a subprocess, through a launcher that fixes the transfer clock
  (``TransferClock.now``) to a given start — a run on any day, no time faking of the whole
  process (botocore signing, timers) and no system package needed.
- ``in_process_run``: the same target in this process (for the property test: ~0.1 s a run
  instead of ~1 s).
- ``problems``: everything that differs between what was sent and what each catalog shows:
  Glue columns vs DuckDB's view, every Glue partition vs its table (equal, and Athena's rule
  from ``athena_rule``), and every value read back through DuckDB's view and from the S3
  parts read with the Glue table's columns.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from target_athena_zuora.catalog.duckdb import duckdb_type, glob_literal, sql_literal
from target_athena_zuora.glue_types import arrow_schema, glue_type
from target_athena_zuora.layout import TransferClock

from .athena_rule import violations

CLI_TIMEOUT_S = 120
START_VARIABLE = "EVOLUTION_TEST_TRANSFER_START"
LAUNCHER = f"""
import datetime, os
from target_athena_zuora.layout import TransferClock
start = datetime.datetime.fromisoformat(os.environ[{START_VARIABLE!r}])
TransferClock.now = classmethod(lambda cls: cls(start))
from target_athena_zuora.cli import main
main()
"""

Row = dict[str, Any]


@dataclass(frozen=True)
class Run:
    """One run's outcome."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def states(self) -> list[Any]:
        """The STATE values printed."""
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]


def singer_lines(messages: Iterable[Mapping[str, Any]]) -> bytes:
    """Messages as Singer input."""
    return b"".join(json.dumps(m).encode() + b"\n" for m in messages)


def cli_runs(
    messages: Sequence[Mapping[str, Any]],
    configs: Sequence[Mapping[str, Any]],
    start: dt.datetime,
    work: Path,
) -> list[Run]:
    """``target-athena-zuora --config <c>`` on ``messages`` for each of ``configs`` at once
    (separate processes, separate destinations), the transfer clock at ``start``."""
    work.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TARGET_ATHENA_ZUORA_")}
    env[START_VARIABLE] = start.isoformat()
    processes = []
    for config in configs:
        config_file = work / f"config-{uuid.uuid4().hex[:8]}.json"
        config_file.write_text(json.dumps(config))
        processes.append(
            subprocess.Popen(
                [sys.executable, "-c", LAUNCHER, "--config", str(config_file)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
            )
        )
    runs = []
    for process in processes:
        try:
            out, err = process.communicate(singer_lines(messages), timeout=CLI_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
        runs.append(Run(process.returncode, out.decode(), err.decode()))
    return runs


def in_process_run(
    messages: Sequence[Mapping[str, Any]], config: Mapping[str, Any], start: dt.datetime
) -> Run:
    """The target in this process on ``messages``, the transfer clock at ``start``."""
    from target_athena_zuora.target import TargetAthenaZuora  # noqa: PLC0415 - 0.5 s import

    original = TransferClock.__dict__["now"]
    TransferClock.now = classmethod(lambda cls: cls(start))  # type: ignore[method-assign,assignment]
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            TargetAthenaZuora(config=dict(config)).run(io.StringIO(singer_lines(messages).decode()))
    finally:
        TransferClock.now = original  # type: ignore[method-assign]
    return Run(0, out.getvalue(), "")


# --- reading back ---------------------------------------------------------------------------

Columns = list[dict[str, str]]


def glue_table(glue: Any, database: str, name: str) -> dict[str, Any]:
    """The Glue table."""
    table: dict[str, Any] = glue.get_table(DatabaseName=database, Name=name)["Table"]
    return table


def glue_partitions(glue: Any, database: str, name: str) -> list[dict[str, Any]]:
    """Every registered partition, through the paginator."""
    pages = glue.get_paginator("get_partitions").paginate(DatabaseName=database, TableName=name)
    return [p for page in pages for p in page.get("Partitions", [])]


def plain(columns: Iterable[Mapping[str, str]]) -> list[tuple[str, str]]:
    """``(name, type)`` pairs of Glue columns."""
    return [(c["Name"], c["Type"]) for c in columns]


def duckdb_columns(root: Path, database: str, name: str) -> list[tuple[str, str]]:
    """The DuckDB view's data columns (``dt`` left out) as Glue types, read through Arrow."""
    with duckdb.connect(str(root / "catalog.duckdb"), read_only=True) as connection:
        query = f'SELECT * FROM "{database}"."{name}" LIMIT 0'  # noqa: S608 - test names
        schema = connection.sql(query).to_arrow_table()
    return [(f.name, glue_type(f.type)) for f in schema.schema if f.name != "dt"]


def view_rows(root: Path, database: str, name: str) -> list[Row]:
    """Every row of the DuckDB view, ``dt`` as an ISO date string."""
    with duckdb.connect(str(root / "catalog.duckdb"), read_only=True) as connection:
        query = f'SELECT * FROM "{database}"."{name}"'  # noqa: S608 - test names
        rows = connection.sql(query).to_arrow_table().to_pylist()
    return [{**r, "dt": r["dt"].isoformat()} for r in rows]


def s3_rows(s3: Any, bucket: str, prefix: str, columns: Columns, scratch: Path) -> list[Row]:
    """The parts under ``prefix`` read as Athena would see the table: downloaded, read by
    column name (union by name), each Glue column cast to its Glue type; ``dt`` from the
    path."""
    folder = scratch / f"s3-{len(list(scratch.glob('s3-*')))}"
    listed = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    for key in (o["Key"] for page in listed for o in page.get("Contents", [])):
        target = folder / key[len(prefix) :]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    if not folder.exists():
        return []
    source = (
        f"read_parquet({sql_literal(glob_literal(str(folder)) + '/dt=*/*.parquet')}, "
        "union_by_name = true, hive_partitioning = true, hive_types_autocast = false)"
    )
    schema = arrow_schema(plain(columns), "ms")
    with duckdb.connect() as connection:
        described = connection.sql(f"DESCRIBE SELECT * FROM {source}").fetchall()  # noqa: S608
        present = {row[0] for row in described}
        selected = [
            f"CAST({_quoted(f.name) if f.name in present else 'NULL'} AS {duckdb_type(f.type)}) "
            f"AS {_quoted(f.name)}"
            for f in schema
        ]
        query = f"SELECT {', '.join(selected)}, dt FROM {source}"  # noqa: S608 - test names
        rows: list[Row] = connection.sql(query).to_arrow_table().to_pylist()
        return rows


def _quoted(name: str) -> str:
    return f'"{name}"'


# --- what was sent --------------------------------------------------------------------------


@dataclass
class Sent:
    """Every record sent so far, with its transfer date, to compare with what reads back."""

    rows: list[tuple[str, Row]] = field(default_factory=list)

    def add(self, day: str, records: Iterable[Row]) -> None:
        """Records landed on ``day``."""
        self.rows.extend((day, r) for r in records)

    def expected(self, schema: pa.Schema) -> list[Row]:
        """Every record as the table ``schema`` reads it: missing columns and struct fields
        NULL, ``dt`` the day it landed."""
        return [
            {**{f.name: conform(r.get(f.name), f.type) for f in schema}, "dt": day}
            for day, r in self.rows
        ]


def conform(value: Any, kind: pa.DataType) -> Any:
    """``value`` (JSON) as a column of type ``kind`` holds it."""
    if value is None:
        return None
    if pa.types.is_struct(kind):
        return {f.name: conform(value.get(f.name), f.type) for f in kind}
    if pa.types.is_list(kind):
        return [conform(item, kind.value_type) for item in value]
    if pa.types.is_floating(kind):
        return float(value)
    return value


def by_id(rows: Iterable[Row]) -> list[Row]:
    """Rows in a stable order for comparison."""
    return sorted(rows, key=lambda r: (str(r.get("id")), str(r.get("dt"))))


# --- the checks -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Landed:
    """Where one model landed: the Glue table (with its bucket) and the local root."""

    glue: Any
    s3: Any
    bucket: str
    database: str
    model: str
    local_root: Path
    local_database: str
    projection: bool = False


def catalog_problems(landed: Landed, days: set[str]) -> list[str]:
    """Glue columns vs DuckDB's; every partition vs its table (equal, and Athena's rule)."""
    table = glue_table(landed.glue, landed.database, landed.model)
    columns = table["StorageDescriptor"]["Columns"]
    problems = []
    local = duckdb_columns(landed.local_root, landed.local_database, landed.model)
    if plain(columns) != local:
        problems.append(f"Glue columns {plain(columns)} != DuckDB view columns {local}")
    partitions = glue_partitions(landed.glue, landed.database, landed.model)
    if landed.projection:
        if partitions:
            problems.append(f"projection, yet partitions are registered: {partitions}")
        return problems
    if {p["Values"][0] for p in partitions} != days:
        problems.append(f"partitions {[p['Values'] for p in partitions]}, landed on {days}")
    for partition in partitions:
        where = f"partition dt={partition['Values'][0]}"
        held = partition["StorageDescriptor"]["Columns"]
        if plain(held) != plain(columns):
            problems.append(f"{where}: columns {plain(held)} != table's {plain(columns)}")
        problems.extend(f"{where}: {line}" for line in violations(columns, held))
    return problems


def value_problems(landed: Landed, sent: Sent, scratch: Path) -> list[str]:
    """Every value sent, read back through DuckDB's view and from the S3 parts with the
    Glue table's columns."""
    columns = glue_table(landed.glue, landed.database, landed.model)["StorageDescriptor"]["Columns"]
    expected = by_id(sent.expected(arrow_schema(plain(columns), "ms")))
    problems = []
    local = by_id(view_rows(landed.local_root, landed.local_database, landed.model))
    if local != expected:
        problems.append(f"DuckDB view rows differ: {_difference(local, expected)}")
    prefix = f"{landed.database}/{landed.model}/"
    remote = by_id(s3_rows(landed.s3, landed.bucket, prefix, columns, scratch))
    if remote != expected:
        problems.append(
            f"S3 rows read with the Glue columns differ: {_difference(remote, expected)}"
        )
    return problems


def _difference(got: list[Row], expected: list[Row]) -> str:
    if len(got) != len(expected):
        return f"{len(got)} rows, expected {len(expected)}: {got} vs {expected}"
    for mine, theirs in zip(got, expected, strict=True):
        if mine != theirs:
            return f"got {mine}, expected {theirs}"
    return "?"
