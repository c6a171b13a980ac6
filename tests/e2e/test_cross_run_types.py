"""Across runs into one local destination: a column changing type is refused up front."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any


def _stream(qty_type: str, qty: object) -> list[dict[str, Any]]:
    return [
        {
            "type": "SCHEMA",
            "stream": "Invoice",
            "key_properties": ["Id"],
            "schema": {"properties": {"Id": {"type": "string"}, "Qty": {"type": qty_type}}},
        },
        {"type": "RECORD", "stream": "Invoice", "record": {"Id": "a", "Qty": qty}},
        {"type": "STATE", "value": {"qty": qty}},
    ]


def test_a_type_change_against_earlier_parts_is_refused_before_writing(
    run_cli: Callable[..., Any], tmp_path: Path
) -> None:
    config = {"local_path": str(tmp_path / "out")}
    first = run_cli(_stream("integer", 1), config=config)
    assert first.returncode == 0, first.stderr
    parts = sorted((tmp_path / "out").rglob("*.parquet"))
    before = {p: p.read_bytes() for p in parts}

    second = run_cli(_stream("string", "one"), config=config)
    assert second.returncode == 1
    assert second.states == []
    (line,) = second.error_lines
    assert "qty" in line and "bigint" in line and "string" in line, line
    assert sorted((tmp_path / "out").rglob("*.parquet")) == parts  # nothing new landed
    assert {p: p.read_bytes() for p in parts} == before
