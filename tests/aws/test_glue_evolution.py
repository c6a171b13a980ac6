"""Issue 8: one column rule for DuckDB and Glue, and Glue partitions that agree with their
table, proven with real CLI runs.

Each step is one run of the CLI on its transfer day (the clock fixed by a launcher, see
``landing_runs``), the same Singer input landing in S3 + Glue on moto's server and locally
with the DuckDB catalog. After every step: Glue's columns equal DuckDB's view's, every
registered partition's columns equal the table's and pass Athena's partition rule
(``athena_rule``), and every value sent reads back through DuckDB's view and from the S3
parts read with the Glue table's columns (new columns NULL for older rows, columns no
longer sent keep their values).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from .landing_runs import Landed, Row, Sent, catalog_problems, cli_runs, glue_table, value_problems

pytestmark = pytest.mark.aws

Aws = Callable[[str], Any]
STRING = {"type": ["string", "null"]}
INTEGER = {"type": ["integer", "null"]}
NUMBER = {"type": ["number", "null"]}


def obj(**properties: Any) -> dict[str, Any]:
    return {"type": ["object", "null"], "properties": properties}


def items(**properties: Any) -> dict[str, Any]:
    return {"type": ["array", "null"], "items": {"type": "object", "properties": properties}}


@dataclass(frozen=True)
class Step:
    """One run: its transfer day, the stream's SCHEMA properties, the records it sends."""

    name: str
    day: str
    properties: dict[str, Any]
    records: tuple[Row, ...]


BASE = {
    "id": {"type": "string"},
    "deleted": {"type": "boolean"},
    "bill_to": obj(city=STRING, zip=INTEGER),
    "lines": items(sku=STRING),
}
WITH_STATUS = {**BASE, "status": STRING}
WITH_AMOUNT = {**WITH_STATUS, "amount": NUMBER}
STREET_APPENDED = {**WITH_AMOUNT, "bill_to": obj(city=STRING, zip=INTEGER, street=STRING)}
COUNTRY_IN_THE_MIDDLE = {
    **WITH_AMOUNT,
    "bill_to": obj(city=STRING, country=STRING, zip=INTEGER, street=STRING),
}
QTY_IN_ITEMS = {**COUNTRY_IN_THE_MIDDLE, "lines": items(qty=INTEGER, sku=STRING)}
NO_DELETED = {k: v for k, v in QTY_IN_ITEMS.items() if k != "deleted"}  # AQuA -> REST
NESTED_STRUCT = {
    **NO_DELETED,
    "bill_to": obj(
        city=STRING, geo=obj(lat=NUMBER, lon=NUMBER), zip=INTEGER, street=STRING, country=STRING
    ),
}
WITH_NOTES = {**NESTED_STRUCT, "notes": STRING}

STEPS = [
    Step(
        "first-run",
        "2026-01-01",
        BASE,
        (
            {"id": "a1", "deleted": True, "bill_to": {"city": "Oslo", "zip": 150}, "lines": []},
            {"id": "a2", "deleted": False, "bill_to": None, "lines": [{"sku": "x"}]},
        ),
    ),
    Step(
        "new-column-same-day",
        "2026-01-01",
        WITH_STATUS,
        ({"id": "b1", "deleted": False, "status": "Active", "bill_to": {"city": "Rome"}},),
    ),
    Step(
        "new-column-next-day",
        "2026-01-02",
        WITH_AMOUNT,
        ({"id": "c1", "deleted": False, "amount": 12.5, "lines": [{"sku": "y"}, {"sku": None}]},),
    ),
    Step(
        "struct-field-appended-same-day",
        "2026-01-02",
        STREET_APPENDED,
        (
            {
                "id": "d1",
                "deleted": True,
                "bill_to": {"city": "Lyon", "zip": 69001, "street": "Rue A"},
            },
        ),
    ),
    Step(
        "struct-field-in-the-middle",
        "2026-01-03",
        COUNTRY_IN_THE_MIDDLE,
        (
            {
                "id": "e1",
                "deleted": False,
                "bill_to": {"city": "Kyiv", "country": "UA", "zip": 1001, "street": "Khreshchatyk"},
            },
        ),
    ),
    Step(
        "array-of-structs-gains-a-field-same-day",
        "2026-01-03",
        QTY_IN_ITEMS,
        ({"id": "f1", "deleted": False, "lines": [{"qty": 3, "sku": "z"}, {"sku": "w"}]},),
    ),
    Step(
        "column-no-longer-sent",
        "2026-01-04",
        NO_DELETED,
        ({"id": "g1", "status": "Cancelled", "amount": 1e16},),
    ),
    Step(
        "nested-struct-in-the-middle-same-day",
        "2026-01-04",
        NESTED_STRUCT,
        (
            {
                "id": "h1",
                "bill_to": {"city": "Quito", "geo": {"lat": -0.18, "lon": -78.47}, "zip": None},
            },
        ),
    ),
    Step("schema-only-new-column", "2026-01-05", WITH_NOTES, ()),
]


def messages(step: Step, index: int) -> list[dict[str, Any]]:
    schema = {
        "type": "SCHEMA",
        "stream": "Account",
        "key_properties": ["id"],
        "schema": {"type": "object", "properties": step.properties},
    }
    records = [{"type": "RECORD", "stream": "Account", "record": r} for r in step.records]
    return [schema, *records, {"type": "STATE", "value": {"step": index}}]


def transfer_start(step: Step, index: int) -> dt.datetime:
    """Each run starts at a different second of its day (distinct part names)."""
    return dt.datetime.fromisoformat(step.day).replace(hour=8, second=index, tzinfo=dt.UTC)


@dataclass
class Walk:
    """The steps' outcomes: problems found after each one, by step name."""

    problems: dict[str, list[str]]
    landed: Landed


def walk(steps: list[Step], aws: Aws, bucket: str, work: Path, *, projection: bool = False) -> Walk:
    """Run every step into both destinations, checking after each (problems, not asserts,
    so that every step reports)."""
    database = f"zuora_{uuid.uuid4().hex[:8]}"
    remote = {
        "bucket": bucket,
        "region": "us-east-1",
        "endpoint_url": aws("s3").meta.endpoint_url,
        "schema": database,
        "partition_projection": projection,
    }
    local = {"local_path": str(work / "local")}
    landed = Landed(aws("glue"), aws("s3"), bucket, database, "account", work / "local", "zuora")
    landed = Landed(**{**landed.__dict__, "projection": projection})
    sent, days, found = Sent(), set[str](), {}
    for index, step in enumerate(steps):
        start = transfer_start(step, index)
        problems = [
            f"run into {config}: exit {run.returncode}, {run.stderr[-3000:]}"
            for config, run in zip(
                (remote, local),
                cli_runs(messages(step, index), (remote, local), start, work / "configs"),
                strict=True,
            )
            if run.returncode != 0 or run.states != [{"step": index}]
        ]
        if step.records:
            sent.add(step.day, step.records)
            days.add(step.day)
        if not problems:
            problems = catalog_problems(landed, days) + value_problems(landed, sent, work)
        found[step.name] = problems
    return Walk(found, landed)


@pytest.fixture(scope="module")
def steps_walked(moto_s3: Any, tmp_path_factory: pytest.TempPathFactory, aws_module: Aws) -> Walk:
    return walk(STEPS, aws_module, moto_s3.new_bucket(), tmp_path_factory.mktemp("walk"))


@pytest.fixture(scope="module")
def aws_module(moto_endpoint: str) -> Aws:
    import boto3  # noqa: PLC0415

    def client(service: str) -> Any:
        return boto3.client(service, endpoint_url=moto_endpoint, region_name="us-east-1")  # type: ignore[call-overload]

    return client


@pytest.mark.parametrize("step", [s.name for s in STEPS])
def test_both_catalogs_agree_after(step: str, steps_walked: Walk) -> None:
    problems = steps_walked.problems[step]
    assert not problems, "\n".join(problems)


def test_the_readme_dedup_query_runs_after_a_column_stops_being_sent(steps_walked: Walk) -> None:
    """Issue 8's first symptom: ``deleted`` vanished from the view, and this query failed."""
    landed = steps_walked.landed
    with duckdb.connect(str(landed.local_root / "catalog.duckdb"), read_only=True) as connection:
        rows = connection.sql(
            "SELECT id FROM (SELECT *, row_number() OVER (PARTITION BY id ORDER BY dt DESC) AS n "
            "FROM zuora.account) WHERE n = 1 AND NOT coalesce(deleted, false) ORDER BY id"
        ).fetchall()
    assert [r[0] for r in rows] == ["a2", "b1", "c1", "e1", "f1", "g1", "h1"]


def test_the_final_columns_are_every_column_in_first_seen_order(steps_walked: Walk) -> None:
    landed = steps_walked.landed
    table = glue_table(landed.glue, landed.database, landed.model)
    assert [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]] == [
        ("id", "string"),
        ("deleted", "boolean"),
        (
            "bill_to",
            "struct<city:string,zip:bigint,street:string,country:string,"
            "geo:struct<lat:double,lon:double>>",
        ),
        ("lines", "array<struct<sku:string,qty:bigint>>"),
        ("status", "string"),
        ("amount", "double"),
        ("notes", "string"),
    ]


PROJECTION_STEPS = [STEPS[0], STEPS[4], STEPS[6], STEPS[7]]


def test_partition_projection_survives_evolution(
    moto_s3: Any, aws_module: Aws, tmp_path: Path
) -> None:
    """With projection no partition is ever registered, and every evolution keeps the
    projection parameters (range from the first run's day)."""
    walked = walk(PROJECTION_STEPS, aws_module, moto_s3.new_bucket(), tmp_path, projection=True)
    problems = [f"{step}: {line}" for step, lines in walked.problems.items() for line in lines]
    assert not problems, "\n".join(problems)
    landed = walked.landed
    parameters = glue_table(landed.glue, landed.database, landed.model)["Parameters"]
    assert parameters["projection.enabled"] == "true"
    assert parameters["projection.dt.range"] == f"{PROJECTION_STEPS[0].day},NOW"
    assert parameters["projection.dt.type"] == "date"
    assert parameters["storage.location.template"] == (
        f"s3://{landed.bucket}/{landed.database}/account/dt=${{dt}}/"
    )
    assert parameters["classification"] == "parquet"
