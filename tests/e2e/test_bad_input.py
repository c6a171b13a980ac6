r"""One test per bad-input case (tests/data/bad_input.json), through the CLI.

Each case: a non-zero exit; exactly one ERROR line on stderr naming what and where (stream,
field, input line as they apply), no traceback, none of the case's ``absent`` strings (values
that must not be echoed); every STATE printed was sent *before* the bad line and every record
sent before that STATE is in a complete part (no STATE past durable data); parts that existed
before the run are unchanged; no temporary files are left.

Lines are text; ``\udcXX`` in a line stands for the raw byte 0xXX (invalid UTF-8), as
Python's ``surrogateescape`` writes it (``case_bytes``).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

CASES: list[dict[str, Any]] = json.loads(
    (Path(__file__).parents[1] / "data" / "bad_input.json").read_text()
)
GOOD = [
    {
        "type": "SCHEMA",
        "stream": "Invoice",
        "schema": {
            "properties": {"Id": {"type": "string"}, "Amount": {"type": ["number", "null"]}}
        },
        "key_properties": ["Id"],
    },
    {"type": "RECORD", "stream": "Invoice", "record": {"Id": "old-1", "Amount": 1.0}},
    {"type": "STATE", "value": {"earlier": True}},
]


@pytest.fixture(scope="module")
def earlier_run(run_cli_module: Callable[..., Any]) -> Path:
    """A root holding a complete part from an earlier, successful run."""
    result = run_cli_module(GOOD)
    assert result.returncode == 0, result.stderr
    assert list(result.root.rglob("*.parquet"))
    return Path(result.root)


def case_bytes(case: dict[str, Any]) -> bytes:
    r"""The case's input: its lines, ``\udcXX`` written as the byte 0xXX."""
    return ("\n".join(case["lines"]) + "\n").encode("utf-8", "surrogateescape")


def snapshot(root: Path) -> dict[str, tuple[str, int]]:
    return {
        str(p.relative_to(root)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in root.rglob("*.parquet")
    }


def durable_ids(root: Path) -> set[str]:
    ids: set[str] = set()
    for path in root.rglob("*.parquet"):
        table = pq.read_table(path)
        if "id" in table.column_names:
            ids.update(v for v in table.column("id").to_pylist() if v is not None)
    return ids


def check_states(case: dict[str, Any], states: list[Any], root: Path) -> None:
    """Every printed STATE was sent before the bad line, and what preceded it is durable."""
    sent = [json.loads(line) for line in case["lines"][: case["bad_line"] - 1]]
    landed = durable_ids(root)
    for value in states:
        positions = [
            i for i, m in enumerate(sent) if m.get("type") == "STATE" and m["value"] == value
        ]
        assert positions, f"STATE {value} was not sent before the bad line"
        before = sent[: positions[-1]]
        needed = {
            m["record"]["Id"] for m in before if m.get("type") == "RECORD" and m["record"].get("Id")
        }
        assert needed <= landed, f"STATE {value} emitted but {needed - landed} not durable"


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_bad_input(
    case: dict[str, Any], run_cli: Callable[..., Any], earlier_run: Path, tmp_path: Path
) -> None:
    root = tmp_path / "root"
    shutil.copytree(earlier_run, root)  # copy2 keeps mtimes
    before = snapshot(root)
    result = run_cli(case_bytes(case), root=root)

    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert len(result.error_lines) == 1, result.stderr
    (error,) = result.error_lines
    for expected in case["expect"]:
        assert expected in error, (expected, error)
    for echoed in case.get("absent", []):
        assert echoed not in error.rsplit(" | ", 1)[-1], (echoed, error)
    assert len(error.rsplit(" | ", 1)[-1]) < 400, error  # never a whole message or record
    check_states(case, result.states, root)
    if not any(
        json.loads(line).get("type") == "STATE" for line in case["lines"][: case["bad_line"] - 1]
    ):
        assert result.states == []
    after = snapshot(root)
    for key, value in before.items():
        assert after.get(key) == value, f"{key} changed"
    leftovers = [
        p
        for p in root.rglob("*")
        if (p.name.startswith(".") or p.suffix == ".tmp") and p.name != ".catalog.lock"
    ]
    assert leftovers == []


def test_every_case_names_its_line() -> None:
    for case in CASES:
        assert f"input line {case['bad_line']}" in " ".join(case["expect"]), case["name"]
