"""Property (issue 8): any sequence of SCHEMA evolutions over several runs leaves DuckDB's
view and Glue's table with the same columns and types — those of the one rule, modelled
here independently (union in first-seen order, struct fields appended at every depth,
nothing dropped) — every Glue partition equal to its table and passing Athena's rule, and
every value sent readable from both.

Each example: 2-4 runs, each on the same transfer day as the one before or a later one,
each changing the stream's SCHEMA by one or two random evolutions (add a top-level column
anywhere in the SCHEMA, add a struct field at the end or in the middle at any depth, add a
field inside array-of-struct items, nest a struct in a struct, stop sending a column or a
struct field, send a dropped column again) and landing 0-3 random records, in process, into
S3 + Glue (moto's server) and locally (DuckDB).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from .landing_runs import (
    Landed,
    Row,
    Sent,
    catalog_problems,
    glue_table,
    in_process_run,
    plain,
    value_problems,
)

pytestmark = [pytest.mark.aws, pytest.mark.slow]

PRIMITIVES = {"string": "string", "integer": "bigint", "number": "double", "boolean": "boolean"}


@dataclass
class Struct:
    """Object fields in SCHEMA order; ``repeated``: an array of such objects."""

    fields: list[tuple[str, Kind]]
    repeated: bool = False


Kind = str | Struct


def json_schema(kind: Kind) -> dict[str, Any]:
    if isinstance(kind, str):
        return {"type": [kind, "null"]}
    properties = {name: json_schema(k) for name, k in kind.fields}
    if kind.repeated:
        return {"type": ["array", "null"], "items": {"type": "object", "properties": properties}}
    return {"type": ["object", "null"], "properties": properties}


def glue_text(kind: Kind) -> str:
    if isinstance(kind, str):
        return PRIMITIVES[kind]
    struct = "struct<" + ",".join(f"{n}:{glue_text(k)}" for n, k in kind.fields) + ">"
    return f"array<{struct}>" if kind.repeated else struct


def merged(table: Kind | None, sent: Kind) -> Kind:
    """The one rule, modelled here: ``table`` with ``sent``'s new fields appended."""
    if table is None:
        return _copy(sent)
    if isinstance(table, str) or isinstance(sent, str):
        return table
    fields = dict(table.fields)
    for name, kind in sent.fields:
        fields[name] = merged(fields.get(name), kind)
    return Struct(list(fields.items()), table.repeated)


def _copy(kind: Kind) -> Kind:
    if isinstance(kind, str):
        return kind
    return Struct([(n, _copy(k)) for n, k in kind.fields], kind.repeated)


@dataclass
class Names:
    counter: int = 0

    def new(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"


@dataclass
class Evolution:
    """The stream's SCHEMA as it evolves, the table the rule makes of it, what was dropped."""

    columns: list[tuple[str, Kind]]
    table: Struct = field(default_factory=lambda: Struct([]))
    dropped: dict[str, Kind] = field(default_factory=dict)
    names: Names = field(default_factory=Names)

    def land(self) -> None:
        self.table = merged(self.table, Struct(self.columns))  # type: ignore[assignment]


def kinds(names: Names, depth: int = 0) -> st.SearchStrategy[Kind]:
    simple: st.SearchStrategy[Kind] = st.sampled_from(sorted(PRIMITIVES))
    if depth >= 2:
        return simple
    nested = st.builds(
        Struct,
        st.lists(
            st.tuples(
                st.builds(lambda: names.new("f")), st.deferred(lambda: kinds(names, depth + 1))
            ),
            min_size=1,
            max_size=3,
        ),
        st.booleans(),
    )
    return st.one_of(simple, simple, nested)


def structs(kind: Kind, path: tuple[int, ...] = ()) -> list[tuple[tuple[int, ...], Struct]]:
    """Every struct (or array-of-struct items) inside ``kind``, with its index path."""
    if isinstance(kind, str):
        return []
    found = [(path, kind)] if path else []
    for index, (_, child) in enumerate(kind.fields):
        found.extend(structs(child, (*path, index)))
    return found


def evolve(data: st.DataObject, evolution: Evolution) -> str:
    """Apply one random evolution to the stream's SCHEMA; say which."""
    top = Struct(evolution.columns)
    nested = structs(top)
    choices = ["add-column"]
    droppable = [s for _, s in nested if len(s.fields) > 1]  # never an object without fields
    if nested:
        choices.append("add-struct-field")
    if droppable:
        choices.append("drop-struct-field")
    if len(evolution.columns) > 1:
        choices.append("drop-column")
    if evolution.dropped:
        choices.append("send-dropped-again")
    choice = data.draw(st.sampled_from(choices), label="evolution")
    names = evolution.names
    if choice == "add-column":
        at = data.draw(st.integers(1, len(evolution.columns)), label="at")
        evolution.columns.insert(at, (names.new("c"), data.draw(kinds(names), label="kind")))
    elif choice == "add-struct-field":
        path, struct = data.draw(st.sampled_from(nested), label="struct")
        at = data.draw(st.integers(0, len(struct.fields)), label="at")
        kind = data.draw(kinds(names, 1), label="kind")
        struct.fields.insert(at, (names.new("f"), kind))
        where = "at the end" if at == len(struct.fields) - 1 else "in the middle"
        inside = "array items" if struct.repeated else f"a struct at depth {len(path)}"
        nesting = ", itself a struct" if isinstance(kind, Struct) else ""
        return f"add a field {where} of {inside}{nesting}"
    elif choice == "drop-struct-field":
        struct = data.draw(st.sampled_from(droppable), label="struct")
        struct.fields.pop(data.draw(st.integers(0, len(struct.fields) - 1), label="field"))
    elif choice == "drop-column":
        index = data.draw(st.integers(1, len(evolution.columns) - 1), label="column")
        name, kind = evolution.columns.pop(index)
        evolution.dropped[name] = kind
    else:
        name = data.draw(st.sampled_from(sorted(evolution.dropped)), label="column")
        evolution.columns.append((name, evolution.dropped.pop(name)))
    return choice


def values(kind: Kind, depth: int = 0) -> st.SearchStrategy[Any]:
    if isinstance(kind, str):
        primitive = {
            "string": st.text("abcé ", max_size=4),
            "integer": st.integers(-(2**63), 2**63 - 1),
            "number": st.floats(allow_nan=False, allow_infinity=False),
            "boolean": st.booleans(),
        }[kind]
        return st.none() | primitive
    one = st.fixed_dictionaries({}, optional={n: values(k, depth + 1) for n, k in kind.fields})
    if kind.repeated:
        return st.none() | st.lists(one, max_size=2)
    return st.none() | one


@st.composite
def records(draw: st.DrawFn, columns: list[tuple[str, Kind]], run: int) -> list[Row]:
    count = draw(st.integers(0, 3), label="records")
    rows = []
    for n in range(count):
        row = draw(
            st.fixed_dictionaries({}, optional={c: values(k) for c, k in columns[1:]}),
            label="record",
        )
        rows.append({"id": f"r{run}_{n}", **row})
    return rows


def messages(columns: list[tuple[str, Kind]], rows: list[Row], run: int) -> list[dict[str, Any]]:
    properties = {"id": {"type": "string"}} | {n: json_schema(k) for n, k in columns[1:]}
    return [
        {
            "type": "SCHEMA",
            "stream": "Account",
            "key_properties": ["id"],
            "schema": {"type": "object", "properties": properties},
        },
        *({"type": "RECORD", "stream": "Account", "record": r} for r in rows),
        {"type": "STATE", "value": {"run": run}},
    ]


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_random_evolutions_leave_both_catalogs_agreeing(
    data: st.DataObject, moto_s3: Any, aws_clients: dict[str, Any], scratch: Path
) -> None:
    names = Names()
    first = data.draw(
        st.lists(st.tuples(st.builds(lambda: names.new("c")), kinds(names)), max_size=2)
    )
    struct = Struct([(names.new("f"), "string"), (names.new("f"), "number")])  # always structs
    items = Struct([(names.new("f"), "integer")], repeated=True)
    columns = [("id", "string"), *first, (names.new("c"), struct), (names.new("c"), items)]
    evolution = Evolution(columns, names=names)
    work = scratch / uuid.uuid4().hex[:8]
    bucket, database = moto_s3.new_bucket(), f"zuora_{uuid.uuid4().hex[:8]}"
    landed = Landed(
        aws_clients["glue"], aws_clients["s3"], bucket, database, "account", work, "zuora"
    )
    remote = {"bucket": bucket, "region": "us-east-1", "endpoint_url": moto_s3.endpoint}
    remote["schema"] = database
    local = {"local_path": str(work)}
    sent, days, day = Sent(), set[str](), dt.date(2026, 1, 1)
    for run in range(data.draw(st.integers(2, 4), label="runs")):
        if run:
            for _ in range(data.draw(st.integers(1, 2), label="evolutions")):
                event(evolve(data, evolution))
            day += dt.timedelta(days=data.draw(st.integers(0, 1), label="next day"))
        rows = data.draw(records(evolution.columns, run))
        start = dt.datetime.combine(day, dt.time(8, 0, run), dt.UTC)
        for config in (remote, local):
            outcome = in_process_run(messages(evolution.columns, rows, run), config, start)
            assert outcome.states == [{"run": run}]
        evolution.land()
        sent.add(day.isoformat(), rows)
        if rows:
            days.add(day.isoformat())

        columns = glue_table(landed.glue, database, "account")["StorageDescriptor"]["Columns"]
        assert plain(columns) == [(n, glue_text(k)) for n, k in evolution.table.fields]
        problems = catalog_problems(landed, days) + value_problems(landed, sent, work)
        assert problems == [], "\n".join(problems)


@pytest.fixture(scope="module")
def aws_clients(moto_endpoint: str) -> dict[str, Any]:
    import boto3  # noqa: PLC0415

    return {
        service: boto3.client(service, endpoint_url=moto_endpoint, region_name="us-east-1")
        for service in ("glue", "s3")
    }


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("property")
