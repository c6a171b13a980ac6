"""The singer-sdk standard target tests (all 16), each followed by reading its output back.

How the read-back works, and why this way: the SDK's generated class runs each standard test
in-process through a ``runner`` fixture. We subclass it, override ``runner`` so every test
gets a fresh ``local_path`` under its own ``tmp_path``, and wrap every generated
``test_target_*`` method so that, after the SDK's own checks pass, the same test reads
*that run's* output back: the Parquet parts with pyarrow and the catalog view with DuckDB,
compared against the RECORD messages of the test's input file. The check lives in the test
itself (not in fixture teardown), so a mismatch is reported as that test's failure, and no
second run is needed, so nothing can differ between what the SDK checked and what we read.
Tests whose input must be rejected check that no part was written.
"""

from __future__ import annotations

import datetime as dt
import decimal
import importlib.resources
import json
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from singer_sdk.testing import get_target_test_class, target_test_streams
from singer_sdk.testing.config import SuiteConfig
from singer_sdk.testing.runners import TargetTestRunner

from target_athena_zuora.schema import normalise
from target_athena_zuora.target import TargetAthenaZuora

SCHEMA = "zuora"
# Inputs the target must reject: the SDK test asserts the error, we assert nothing landed.
REJECTED = {"invalid_schema", "record_before_schema", "record_missing_key_property"}
NO_INPUT = {"cli_prints"}

_Base = get_target_test_class(TargetAthenaZuora, config={"local_path": "unused"})


def _records_by_stream(name: str) -> dict[str, list[dict[str, Any]]]:
    path = importlib.resources.files(target_test_streams) / f"{name}.singer"
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in path.read_text(encoding="utf8").splitlines():
        if not line.strip():
            continue
        message = json.loads(line)
        if message["type"] == "SCHEMA":
            found.setdefault(message["stream"], [])
        elif message["type"] == "RECORD":
            found[message["stream"]].append(message["record"])
    return found


def _matches(expected: Any, actual: Any, arrow_type: pa.DataType) -> bool:  # noqa: PLR0911
    """Whether ``actual`` (read back, as Python) is what the input value ``expected`` becomes."""
    if expected is None:
        return actual is None
    if pa.types.is_struct(arrow_type):
        if not isinstance(expected, dict) or not isinstance(actual, dict):
            return False
        return _record_matches(expected, actual, arrow_type)
    if pa.types.is_list(arrow_type):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(
                _matches(e, a, arrow_type.value_type) for e, a in zip(expected, actual, strict=True)
            )
        )
    if pa.types.is_timestamp(arrow_type):
        parsed = dt.datetime.fromisoformat(expected).astimezone(dt.UTC)
        if arrow_type.unit == "ms":
            parsed = parsed.replace(microsecond=parsed.microsecond // 1000 * 1000)
        return bool(actual == parsed)
    if pa.types.is_string(arrow_type):  # plain text, or JSON text of any value
        return bool(actual == expected or _json(actual) == expected)
    if pa.types.is_decimal(arrow_type):
        return bool(actual == decimal.Decimal(str(expected)))
    if pa.types.is_floating(arrow_type):
        return isinstance(actual, float) and actual == float(expected)
    return type(actual) is type(expected) and actual == expected


def _json(text: Any) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return _NOT_JSON


_NOT_JSON = object()


def _record_matches(expected: dict[str, Any], actual: dict[str, Any], arrow_type: Any) -> bool:
    fields = {f.name: f for f in arrow_type}
    columns = {normalise(k): v for k, v in expected.items()}
    if not set(columns) <= set(fields):  # a sent field was dropped
        return False
    return all(_matches(columns.get(name), actual.get(name), f.type) for name, f in fields.items())


def check_output(name: str, root: Path) -> None:
    """Read back what the standard test ``name`` landed under ``root`` and compare."""
    parts = sorted(root.glob(f"{SCHEMA}/*/dt=*/*.parquet"))
    if name in REJECTED | NO_INPUT:
        assert parts == [], f"{name}: rejected input left parts behind: {parts}"
        return
    for stream, records in _records_by_stream(name).items():
        model = normalise(stream)
        paths = sorted(
            root.glob(f"{SCHEMA}/{model}/dt=*/*.parquet"),
            key=lambda p: int(p.name.split("_")[0]),
        )
        with duckdb.connect(str(root / "catalog.duckdb"), read_only=True) as connection:
            view = connection.sql(f'SELECT * FROM "{SCHEMA}"."{model}"').to_arrow_table()  # noqa: S608 - names chosen by the test
        assert view.num_rows == len(records), f"{name}/{stream}: view rows"
        assert view.column_names[-1] == "dt"
        assert pa.types.is_date32(view.schema.field("dt").type)
        if not records:
            continue
        table = pa.concat_tables([pq.read_table(p) for p in paths], promote_options="default")
        assert "dt" not in table.column_names, f"{name}/{stream}: dt inside the files"
        assert set(view.column_names) == {*table.column_names, "dt"}
        struct = pa.struct(list(table.schema))
        for index, (sent, landed) in enumerate(zip(records, table.to_pylist(), strict=True)):
            assert _record_matches(sent, landed, struct), (
                f"{name}/{stream} record {index}: sent {sent!r}, landed {landed!r}"
            )


def _with_read_back(name: str, run: Callable[..., None]) -> Callable[..., None]:
    def test(self: Any, config: SuiteConfig, resource: Any, runner: TargetTestRunner) -> None:
        run(config, resource, runner)
        check_output(name, Path(runner.config["local_path"]))

    test.__name__ = f"test_target_{name}"
    return test


class TestTargetAthenaZuoraStandard(_Base):  # type: ignore[misc, valid-type]
    """The SDK's standard target tests, each in a fresh ``local_path``, with read-back."""

    @pytest.fixture
    def runner(self, tmp_path: Path) -> TargetTestRunner:
        return TargetTestRunner(
            target_class=TargetAthenaZuora,
            config={"local_path": str(tmp_path / "out")},
            suite_config=None,
            parse_env_config=False,
        )


for _attribute in [a for a in vars(_Base) if a.startswith("test_target_")]:
    setattr(
        TestTargetAthenaZuoraStandard,
        _attribute,
        _with_read_back(_attribute.removeprefix("test_target_"), getattr(_Base, _attribute)),
    )


def test_all_sixteen_standard_tests_are_wired() -> None:
    names = [a for a in vars(TestTargetAthenaZuoraStandard) if a.startswith("test_target_")]
    assert len(names) == 16, names


def test_read_back_detects_missing_and_wrong_output(tmp_path: Path) -> None:
    """The read-back check is able to fail: nothing landed, or a value differs."""
    with pytest.raises(Exception):  # noqa: B017 - no catalog at all
        check_output("array_data", tmp_path)
    struct = pa.struct([pa.field("id", pa.int64()), pa.field("fruits", pa.list_(pa.string()))])
    assert _record_matches({"id": 1, "fruits": ["a"]}, {"id": 1, "fruits": ["a"]}, struct)
    assert not _record_matches({"id": 1, "fruits": ["a"]}, {"id": 1, "fruits": ["b"]}, struct)
    assert not _record_matches({"id": 1, "extra": 2}, {"id": 1, "fruits": None}, struct)
