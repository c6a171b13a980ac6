"""What is wrong with a line's JSON text, and where; the per-record path's parse."""

from __future__ import annotations

import decimal
import json

import orjson
import pytest

from target_athena_zuora.jsontext import (
    MAX_DEPTH,
    BigInt,
    LineError,
    Repeated,
    find_problem,
    loads_record,
    loads_strict,
    problems,
    too_deep,
)
from target_athena_zuora.records import dumps_record

ENVELOPE = b'{"type": "RECORD", "stream": "Invoice", "record": '


def record_line(record_text: bytes) -> bytes:
    return ENVELOPE + record_text + b"}"


PROBLEMS: list[tuple[str, bytes, str]] = [
    ("utf8-value", record_line(b'{"Note": "caf\xe9"}'), 'field Note: not valid UTF-8: "caf\\xe9"'),
    ("utf8-key", record_line(b'{"N\xffte": 1}'), "field N\\xffte: not valid UTF-8"),
    ("nan", record_line(b'{"Amount": NaN}'), "field Amount: NaN is not valid JSON"),
    ("infinity", record_line(b'{"A": [1, Infinity]}'), "field A[1]: Infinity is not valid JSON"),
    ("minus-infinity", record_line(b'{"A": {"b": -Infinity}}'), "field A.b: -Infinity is not"),
    ("out-of-range", record_line(b'{"Amount": 1e400}'), "field Amount: number 1e400 is out of"),
    ("big-integer", record_line(b'{"N": 1' + b"0" * 400 + b"}"), "field N: number 1000"),
    ("surrogate", record_line(b'{"Note": "a\\ud800"}'), 'field Note: "a\\ud800" holds a lone'),
    ("surrogate-key", record_line(b'{"\\udc00": 1}'), "lone surrogate"),
    ("repeated", record_line(b'{"A": 1, "A": 2}'), "field A: key 'A' appears twice in one object"),
    ("repeated-nested", record_line(b'{"B": {"z": 1, "z": 2}}'), "field B.z: key 'z' appears"),
    ("not-json", record_line(b'{"A": }'), "not valid JSON (unexpected character"),
    ("not-an-object", b"[1, 2]", "expected a JSON object"),
    ("too-deep", record_line(b'{"C": ' + b"[" * 80 + b"]" * 80 + b"}"), "field C: nested deeper"),
]


@pytest.mark.parametrize(("line", "expected"), [pytest.param(t, e, id=i) for i, t, e in PROBLEMS])
def test_problem_and_where(line: bytes, expected: str) -> None:
    problem = find_problem(line)
    assert problem is not None
    located = problem.located(7)
    assert expected.split(": ", 1)[-1] in located, located
    if expected.startswith("field "):
        field = expected.split(":", 1)[0]
        assert located.startswith(f"stream Invoice, {field}, input line 7: "), located
    assert len(located) < 200


def test_envelope_problems_name_the_key_not_a_field() -> None:
    line = b'{"type": "RECORD", "stream": "Invoice", "record": {}, "time_extracted": NaN}'
    problem = find_problem(line)
    assert problem is not None
    assert problem.located(3) == (
        "stream Invoice, input line 3: NaN is not valid JSON (at time_extracted)"
    )
    repeated = find_problem(b'{"type": "RECORD", "stream": "A", "record": {}, "stream": "B"}')
    assert repeated is not None
    assert repeated.located(3) == "stream A, input line 3: key 'stream' appears twice in one object"


def test_good_lines_have_no_problem() -> None:
    for line in (
        record_line(b'{"A": 1.5, "B": "\\ud83d\\ude00", "C": [{"d": null}], "E": "NaN"}'),
        b'{"type": "STATE", "value": {"bookmarks": {}}}',
        record_line(b'{"C": ' + b"[" * (MAX_DEPTH - 2) + b"]" * (MAX_DEPTH - 2) + b"}"),
        record_line(b'{"N": 100000000000000000000000000000}'),
    ):
        assert find_problem(line) is None, line


def test_repeated_keys_reported_before_values_whatever_their_order() -> None:
    """An object's repeated keys come before problems in its values: the per-record path
    writes repeated members after the others, and must name the same one."""
    a = record_line(b'{"B": 1, "B": 2, "A": {"x": 1, "x": 2}}')
    b = record_line(b'{"B": 2, "A": {"x": 2, "x": 1}, "B": 1}')
    assert [p.path for p in problems(a)] == [p.path for p in problems(b)]
    first = find_problem(a)
    assert first is not None
    assert first.path == ("record", "B")


def test_depth_limit_is_exact_and_strings_do_not_count() -> None:
    def nested(levels: int) -> bytes:  # the envelope is level 1, record level 2
        inner = levels - 2
        return record_line(b'{"C": ' + b"[" * inner + b"]" * inner + b"}")

    assert not too_deep(nested(MAX_DEPTH))
    assert too_deep(nested(MAX_DEPTH + 1))
    assert not too_deep(record_line(b'{"C": "' + b"[{" * 200 + b'"}'))


def test_very_deep_lines_are_found_without_recursion() -> None:
    line = record_line(b'{"C": ' + b"[" * 200_000 + b"]" * 200_000 + b"}")
    assert too_deep(line)
    problem = find_problem(line)
    assert problem is not None
    assert problem.located(1) == (
        f"stream Invoice, field C, input line 1: nested deeper than {MAX_DEPTH} levels"
    )
    unterminated = record_line(b'{"C": ' + b"{" * 5000)
    assert find_problem(unterminated) is not None


# --- the per-record path's parse ----------------------------------------------------------


def test_loads_record_is_the_sdk_view() -> None:
    parsed = loads_record(record_line(b'{"A": 1.10, "B": [1, {"c": "x"}], "D": null}'))
    assert parsed.repeated is False
    assert parsed.value["record"] == {"A": decimal.Decimal("1.10"), "B": [1, {"c": "x"}], "D": None}


def test_loads_record_keeps_repeated_keys_and_big_integers() -> None:
    line = record_line(b'{"A": 1, "B": {"z": 1, "z": 2}, "N": 100000000000000000000000, "A": 3}')
    parsed = loads_record(line)
    assert parsed.repeated is True
    record = parsed.value["record"]
    assert isinstance(record, Repeated)
    assert record == {"A": 3, "B": {"z": 2}, "N": 10**23}
    assert record.earlier == [["A", 1]]
    assert isinstance(record["B"], Repeated)
    assert isinstance(record["N"], BigInt)
    written = dumps_record(record)  # written back with the repeats, digits exact
    assert written.count(b'"A":') == 2
    assert written.count(b'"z":') == 2
    assert b"100000000000000000000000" in written
    assert [p.path[1:] for p in problems(written) if p.repeated] == [
        p.path[1:] for p in problems(line) if p.repeated
    ]


def test_loads_record_masked_repeats_are_found() -> None:
    """A space before a colon or '":' inside a string must not hide a repeated key."""
    for text in (b'{"A" : 1, "A": 2}', b'{"A": "x\\":", "A": 2}'):
        assert loads_record(record_line(text)).repeated, text


@pytest.mark.parametrize(
    "record_text",
    [
        b'{"A": NaN}',
        b'{"A": 1e400}',
        b'{"A": "\\ud800"}',
        b'{"A": ',
        b'{"A": -1' + b"0" * 5000 + b"}",
    ],
    ids=["nan", "out-of-range", "surrogate", "not-json", "past-int-digits-limit"],
)
def test_loads_record_refuses(record_text: bytes) -> None:
    with pytest.raises(LineError):
        loads_record(record_line(record_text))


def test_loads_strict_refuses_a_repeated_key_anywhere() -> None:
    schema = {"type": "SCHEMA", "stream": "S", "schema": {"properties": {"a": {}}}}
    assert loads_strict(json.dumps(schema).encode()) == schema
    with pytest.raises(ValueError, match="twice"):
        loads_strict(b'{"type": "SCHEMA", "schema": {"properties": {"a" : {}, "a": {}}}}')
    with pytest.raises(orjson.JSONDecodeError):
        loads_strict(b'{"type": "SCHEMA", "x": NaN}')
