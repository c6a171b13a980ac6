"""The fast path and the SDK's per-record path (``fast_path: false``) land the same Parquet
values and types, emit the same STATE, and fail with the same error message."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

DATA = Path(__file__).parents[1] / "data"
SAMPLE = (DATA / "zuora_sample.singer").read_bytes()
BAD_CASES: list[dict[str, Any]] = json.loads((DATA / "bad_input.json").read_text())

NESTED_SCHEMA = {
    "type": "SCHEMA",
    "stream": "SubscriptionCharge",
    "key_properties": ["Id"],
    "schema": {
        "properties": {
            "Id": {"type": "string"},
            "Tiers": {
                "type": ["array", "null"],
                "items": {
                    "type": "object",
                    "properties": {
                        "Tier": {"type": "integer"},
                        "Price": {"type": ["number", "null"]},
                        "EndsAt": {"type": ["null", "string"], "format": "date-time"},
                    },
                },
            },
            "BillTo": {
                "anyOf": [
                    {"type": "null"},
                    {"type": "object", "properties": {"City": {"type": "string"}, "Meta": {}}},
                ]
            },
            "Tags": {"type": "array", "items": {"type": "string"}},
            "Custom": {},
            "Mixed": {"type": ["string", "integer", "null"]},
            "EffectiveDate": {"type": "string", "format": "date"},
            "Note": {"type": ["string", "null"]},
        }
    },
}
NESTED_RECORDS = [
    {
        "Id": "c1",
        "Tiers": [
            {"Tier": 1, "Price": 9.99, "EndsAt": "2024-01-01T00:00:00-05:00"},
            {"Tier": 2, "Price": None},
        ],
        "BillTo": {"City": "Zürich", "Meta": {"floor": 3}},
        "Tags": ["a", "b"],
        "Custom": {"nested": [1, 2, {"x": None}]},
        "Mixed": 5,
        "EffectiveDate": "2024-02-29",
        "Note": 'quote " backslash \\ newline \n tab \t nul \u0000',
    },
    {
        "Id": "c2",
        "Tiers": None,
        "BillTo": None,
        "Tags": [],
        "Custom": "text",
        "Mixed": "five",
        "EffectiveDate": "9999-12-31",
    },
    {
        "Id": "c3",
        "Tiers": [],
        "Custom": 12.5,
        "Mixed": None,
        "EffectiveDate": "1970-01-01",
        "Note": "简单",
    },
    {
        "Id": "c4",
        "BillTo": {"City": None},
        "Tags": ["x"],
        "Custom": [True, False],
        "EffectiveDate": "2000-01-01",
    },
]


def nested_lines() -> list[Any]:
    lines: list[Any] = [NESTED_SCHEMA]
    for i, record in enumerate(NESTED_RECORDS):
        lines.append({"type": "RECORD", "stream": "SubscriptionCharge", "record": record})
        lines.append({"type": "STATE", "value": {"n": i}})
    return lines


def precise_lines() -> list[Any]:
    schema = {
        "type": "SCHEMA",
        "stream": "Payment",
        "key_properties": ["Id"],
        "schema": {
            "properties": {
                "Id": {"type": "string"},
                "Amount": {"type": "number"},
                "At": {"type": "string", "format": "date-time"},
            }
        },
    }
    return [
        schema,
        '{"type":"RECORD","stream":"Payment","record":{"Id":"p1",'
        '"Amount":12345678901234567890.123456789,"At":"2024-03-10T02:30:00.1234567+01:00"}}',
        '{"type":"RECORD","stream":"Payment","record":{"Id":"p2","Amount":0.1,"At":"2024-03-10"}}',
        '{"type":"RECORD","stream":"Payment","record":{"Id":"p3","Amount":-7,'
        '"At":"2024-03-10 23:59:59.999999Z"}}',
        {"type": "STATE", "value": {"p": 3}},
    ]


STREAMS: list[tuple[str, Any, dict[str, Any]]] = [
    ("zuora-sample", SAMPLE, {}),
    ("nested-json-text-and-dates", nested_lines(), {}),
    (
        "decimal-and-microseconds",
        precise_lines(),
        {"number_type": "decimal(38,9)", "timestamp_precision": "us"},
    ),
]


def models(root: Path) -> list[str]:
    """The models landed, without _transfer_status (its times differ between runs)."""
    found = {p.parent.parent.name for p in root.glob("zuora/*/dt=*/*.parquet")}
    return sorted(found - {"_transfer_status"})


@pytest.mark.parametrize(
    ("lines", "config"), [pytest.param(lines, c, id=i) for i, lines, c in STREAMS]
)
def test_same_values_types_and_state(
    lines: Any,
    config: dict[str, Any],
    run_cli: Callable[..., Any],
    read_parts: Callable[..., pa.Table],
) -> None:
    fast = run_cli(lines, config={**config, "fast_path": True})
    plain = run_cli(lines, config={**config, "fast_path": False})
    assert fast.returncode == 0, fast.stderr
    assert plain.returncode == 0, plain.stderr
    assert fast.states == plain.states
    assert fast.states
    assert models(fast.root) == models(plain.root)
    assert models(fast.root)
    for model in models(fast.root):
        a = read_parts(fast.root, "zuora", model)
        b = read_parts(plain.root, "zuora", model)
        assert a.schema.equals(b.schema), (model, a.schema, b.schema)
        assert a.num_rows == b.num_rows
        for column in a.column_names:  # value by value, naming the column on a difference
            assert a.column(column).equals(b.column(column)), (
                model,
                column,
                a.column(column),
                b.column(column),
            )


def message(stderr: str) -> list[str]:
    """ERROR lines without the logger's timestamp/level/name prefix."""
    return [line.rsplit(" | ", 1)[-1] for line in stderr.splitlines() if "| ERROR" in line]


@pytest.mark.parametrize("case", BAD_CASES, ids=[c["name"] for c in BAD_CASES])
def test_same_error(case: dict[str, Any], run_cli: Callable[..., Any]) -> None:
    data = ("\n".join(case["lines"]) + "\n").encode("utf-8", "surrogateescape")
    fast = run_cli(data, config={"fast_path": True})
    plain = run_cli(data, config={"fast_path": False})
    assert fast.returncode == plain.returncode == 1
    assert len(message(fast.stderr)) == 1, fast.stderr
    assert message(fast.stderr) == message(plain.stderr)
    assert fast.states == plain.states
