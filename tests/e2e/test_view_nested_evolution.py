"""The local view stays readable when a struct column gains a nested struct field after
earlier parts held NULL in that column (issue 8's "every value readable").

DuckDB 2.0.1 fails that read inside ``read_parquet(..., union_by_name = true)`` with
``INTERNAL Error: Operation requires a flat vector`` (and invalidates the connection); 2.0.0
and 1.x read it. pyproject excludes 2.0.1; this test is what catches it coming back.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa

STRING = {"type": ["string", "null"]}


def run(bill_to: dict[str, Any], records: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    schema = {
        "type": "SCHEMA",
        "stream": "Account",
        "key_properties": ["id"],
        "schema": {
            "type": "object",
            "properties": {"id": {"type": "string"}, "bill_to": bill_to},
        },
    }
    lines = [{"type": "RECORD", "stream": "Account", "record": r} for r in records]
    return [schema, *lines, {"type": "STATE", "value": {"run": n}}]


def test_a_nested_struct_added_after_null_structs_reads_back(
    run_cli: Callable[..., Any], read_view: Callable[[Path, str, str], pa.Table], tmp_path: Path
) -> None:
    config = {"local_path": str(tmp_path / "out")}
    first = run(
        {"type": ["object", "null"], "properties": {"city": STRING}},
        [{"id": "a", "bill_to": None}, {"id": "b", "bill_to": {"city": "Oslo"}}],
        1,
    )
    geo = {"type": ["object", "null"], "properties": {"lat": {"type": ["number", "null"]}}}
    second = run(
        {"type": ["object", "null"], "properties": {"city": STRING, "geo": geo}},
        [{"id": "c", "bill_to": {"city": "Quito", "geo": {"lat": -0.18}}}],
        2,
    )
    for lines in (first, second):
        result = run_cli(lines, config=config)
        assert result.returncode == 0, result.stderr
    rows = read_view(tmp_path / "out", "zuora", "account").sort_by("id").to_pylist()
    assert [(r["id"], r["bill_to"]) for r in rows] == [
        ("a", None),
        ("b", {"city": "Oslo", "geo": None}),
        ("c", {"city": "Quito", "geo": {"lat": -0.18}}),
    ]
