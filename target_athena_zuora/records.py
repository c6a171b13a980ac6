"""Records -> Arrow: whole batches at once, with the type check done by the conversion.

Every record reaches this module as the raw JSON text of its RECORD message (the Singer
envelope, whose ``record`` member Arrow parses), with its input line number. The batch is
parsed by Arrow's JSON reader against the stream's read schema (values that do not fit
raise), then finished: date-times parsed to UTC timestamps, dates to ``date32``, source
names replaced by normalised names. When a batch fails, the first failing line is found
by converting prefixes (bisection) with the same code, and described: first what is wrong
with its JSON text (``jsontext.find_problem``), else by a per-value check naming the field.

The read is strict first: every key of every line declared (envelope and record, at every
depth), so Arrow itself refuses a key given twice, and nesting is bounded by the SCHEMA's.
A batch with undeclared keys is read again ignoring them, and then each of its lines is
checked for what Arrow does not look at there (nesting, ``NaN``, a repeated envelope key).
``NaN``/``Infinity`` in a ``number`` column, which Arrow takes, are refused after the read.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from target_athena_zuora.errors import MissingKeyError, RecordError, first_line, where
from target_athena_zuora.jsontext import (
    BigInt,
    LineError,
    Problem,
    Repeated,
    loads_record,
    problems,
    too_deep,
)
from target_athena_zuora.schema import Column, Kind, StreamSchema

_MIN_BLOCK = 1 << 22
_SHOW_CHARS = 80  # longest value quoted in an error message
_UNIT_NAMES = {"s": "second", "ms": "millisecond", "us": "microsecond"}
_CONVERSION_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError)
_ZONE_SUFFIX = r"(Z|[+-]\d{2}(:?\d{2})?)$"
_NORMALISATIONS = (  # applied in order to date-time text that Arrow did not take as is
    (r"^(\d{4}-\d{2}-\d{2})$", r"\1T00:00:00Z"),  # a bare date is midnight UTC
    (r"^(\d{4}-\d{2}-\d{2}) ", r"\1T"),  # space instead of T
    (r"(\.\d{6})\d+", r"\1"),  # beyond microseconds
    (r"^([^Z+]*T[0-9:.]+)$", r"\1Z"),  # no zone: UTC
)


_ENVELOPE = (  # the RECORD keys a strict read declares besides ``record``
    pa.field("type", pa.string()),
    pa.field("stream", pa.string()),
    pa.field("time_extracted", pa.string()),
    pa.field("version", pa.int64()),
)
_READ_KEYS = ("record", "type", "stream")  # the RECORD keys a lenient read declares
_DUMPS = orjson.OPT_PASSTHROUGH_SUBCLASS  # Repeated and BigInt reach ``_default``
_BASES: tuple[type, ...] = (dict, list, str, int, float)


def dumps_record(record: Mapping[str, Any]) -> bytes:
    """Serialise a record dict (from the SDK path) as a RECORD line: exact for ``Decimal``
    and ``BigInt``, a ``Repeated`` object with its repeated keys (as they were sent)."""
    return orjson.dumps({"record": record}, default=_default, option=_DUMPS)


def _dumps(value: object) -> bytes:
    return orjson.dumps(value, default=_default, option=_DUMPS)


def _default(value: object) -> Any:
    if isinstance(value, decimal.Decimal | BigInt):
        return orjson.Fragment(str(value))
    if isinstance(value, Repeated):
        members = [*value.items(), *value.earlier]
        return orjson.Fragment(
            b"{" + b",".join(_dumps(k) + b":" + _dumps(v) for k, v in members) + b"}"
        )
    for base in _BASES:  # other subclasses of what orjson writes: as their base type
        if isinstance(value, base):
            return base(cast(Any, value))
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


@dataclass(frozen=True)
class Segment:
    """RECORD lines of one stream, newline-separated (no trailing newline); the i-th came
    from input line ``first_line + offsets[i]``."""

    data: bytes
    first_line: int
    offsets: Sequence[int]


def record_lines(segments: Sequence[Segment]) -> list[tuple[bytes, int]]:
    """Each RECORD line of ``segments`` with its input line number (used only on errors)."""
    return [
        (line, segment.first_line + offset)
        for segment in segments
        for line, offset in zip(segment.data.split(b"\n"), segment.offsets, strict=True)
    ]


_scratch = threading.local()


def _joined(segments: Sequence[Segment]) -> bytes | memoryview:
    """The segments as one buffer, copied into this thread's reusable scratch buffer (fresh
    24 MB buffers per batch cost more in page faults than the copy itself)."""
    if len(segments) == 1:
        return segments[0].data
    size = sum(len(s.data) + 1 for s in segments)
    buffer: bytearray | None = getattr(_scratch, "buffer", None)
    if buffer is None or len(buffer) < size:
        buffer = _scratch.buffer = bytearray(max(size, 2 * len(buffer or b"")))
    view = memoryview(buffer)
    offset = 0
    for segment in segments:
        view[offset : offset + len(segment.data)] = segment.data
        offset += len(segment.data)
        view[offset] = 10  # newline
        offset += 1
    return view[:size]


Lines = Sequence[tuple[bytes, int]]


class Converter:
    """Converts batches of one stream's raw records to Arrow tables of its final schema."""

    def __init__(self, schema: StreamSchema) -> None:
        self.schema = schema
        self.arrow = schema.arrow
        record = pa.field("record", pa.struct(list(schema.read_schema)))
        self._strict = pj.ParseOptions(
            explicit_schema=pa.schema([record, *_ENVELOPE]), unexpected_field_behavior="error"
        )
        self._lenient = pj.ParseOptions(  # type and stream: strings wherever lines come from
            explicit_schema=pa.schema([record, *_ENVELOPE[:2]]), unexpected_field_behavior="ignore"
        )
        self._undeclared = False  # a batch had undeclared keys: read leniently from now on
        self._float_columns = [(i, c) for i, c in enumerate(schema.columns) if _has_float(c)]
        self._json_top = any(c.kind is Kind.JSON for c in schema.columns)
        self._json_nested = any(c.has_json and c.kind is not Kind.JSON for c in schema.columns)

    def convert(self, segments: Sequence[Segment]) -> pa.Table:
        """Convert raw records to a table; ``RecordError`` names stream, field and line."""
        expected = sum(len(s.offsets) for s in segments)
        if not expected:
            return self.arrow.empty_table()
        data = _joined(segments)
        lines = _Once(lambda: record_lines(segments))
        if not self._json_nested:
            try:
                table = self._convert(data, expected, lines, quote_json=True)
            except _CONVERSION_ERRORS as error:
                if not self._json_top:
                    raise self._pinpoint(lines(), error) from None
            else:
                self._check_keys(table, lines)
                return table
        # A JSON-text column holds non-string values (or a value is bad): record by record.
        return self._convert_lines(self._json_text(lines()))

    def _convert_lines(self, lines: Lines) -> pa.Table:
        try:
            table = self._convert(b"\n".join(line for line, _ in lines), len(lines), _given(lines))
        except _CONVERSION_ERRORS as error:
            raise self._pinpoint(lines, error) from None
        self._check_keys(table, lambda: lines)
        return table

    def _convert(
        self,
        data: bytes | memoryview,
        expected: int,
        lines: Callable[[], Lines],
        *,
        quote_json: bool = False,
    ) -> pa.Table:
        """Parse and finish; ``quote_json``: JSON-text columns were read as plain strings."""
        table, declared = self._read(data)
        records = table.column("record")
        if records.null_count or len(records) != expected:
            raise pa.ArrowInvalid("a RECORD message has no 'record' object")
        if not declared:
            self._check_lines(lines())
        leaves: list[pa.Array] = []
        for chunk in records.chunks:
            for i, column in self._float_columns:
                _float_leaves(chunk.field(i), column, leaves)
        if _non_finite(leaves):
            raise pa.ArrowInvalid("NaN or Infinity in a number column")
        arrays = []
        for i, column in enumerate(self.schema.columns):
            values = pa.chunked_array([c.field(i) for c in records.chunks], type=column.read_type)
            if column.needs_finish or (quote_json and column.kind is Kind.JSON):
                values = _finish(values, column, quote_json=quote_json)
            arrays.append(values)
        return pa.Table.from_arrays(arrays, schema=self.arrow)

    def _read(self, data: bytes | memoryview) -> tuple[pa.Table, bool]:
        """The parsed lines, and whether every key in them is declared (a strict read)."""
        if not self._undeclared:
            try:
                return self._read_json(data, self._strict), True
            except pa.ArrowInvalid as error:
                undeclared = "unexpected field" in str(error)
            table = self._read_json(data, self._lenient)  # raises if a value is bad
            self._undeclared = undeclared
            return table, False
        return self._read_json(data, self._lenient), False

    @staticmethod
    def _read_json(data: bytes | memoryview, options: pj.ParseOptions) -> pa.Table:
        try:
            return pj.read_json(
                pa.BufferReader(pa.py_buffer(data)),
                read_options=pj.ReadOptions(block_size=_MIN_BLOCK),
                parse_options=options,
            )
        except pa.ArrowInvalid as error:
            if "straddl" not in str(error):
                raise
        return pj.read_json(  # a line longer than a block: read as one block
            pa.BufferReader(pa.py_buffer(data)),
            read_options=pj.ReadOptions(block_size=len(data) + 1, use_threads=False),
            parse_options=options,
        )

    def _check_lines(self, lines: Lines) -> None:
        """What a lenient read does not look at, line by line: nesting, what orjson refuses
        (``NaN``, a lone surrogate, a number beyond a double), a repeated envelope key."""
        for line, number in lines:
            if too_deep(line):
                raise self._error(line, number)
            try:
                message = orjson.loads(line)
            except orjson.JSONDecodeError:
                if self.problem_in(line) is not None:
                    raise self._error(line, number) from None
                continue  # JSON orjson cannot hold (an integer beyond 64 bits)
            if isinstance(message, dict) and any(
                line.count(orjson.dumps(key)) > 1 for key in message if key not in _READ_KEYS
            ):  # perhaps a repeated envelope key (Arrow refuses repeats of what it reads)
                found = (p for p in problems(line) if p.repeated and len(p.path) == 1)
                problem = next(found, None)
                if problem is not None:
                    raise RecordError(self._located(problem, number))

    def _json_text(self, lines: Lines) -> list[tuple[bytes, int]]:
        """Replace values of JSON-text columns by their JSON text (a per-record step)."""
        out = []
        for line, number in lines:
            if too_deep(line):
                raise self._error(line, number)
            try:
                parsed = loads_record(line, parse_float=float)  # JSON text as orjson writes it
            except LineError:
                raise self._error(line, number) from None
            if parsed.repeated and (problem := self.problem_in(line)) is not None:
                raise RecordError(self._located(problem, number))
            message = parsed.value
            record = message.get("record") if isinstance(message, dict) else None
            if isinstance(record, dict):
                _to_json_text(record, self.schema.columns)
                line = dumps_record(record)  # noqa: PLW2901
            out.append((line, number))  # a non-object is rejected by the conversion
        return out

    def problem_in(self, line: bytes) -> Problem | None:
        """The first thing wrong with the JSON text of ``line`` where this stream's records
        are read: a key given twice counts in the envelope, any declared field and anything
        in a JSON-text value; in a field the SCHEMA does not declare it is never read."""
        for problem in problems(line):
            if not problem.repeated or self._read_at(problem.path):
                return problem
        return None

    def _read_at(self, path: tuple[str | int, ...]) -> bool:
        """Whether the conversion reads the value at ``path`` (from the message root)."""
        if len(path) == 1 or path[:1] != ("record",):
            return True  # the envelope
        columns, column = self.schema.columns, None
        for step in path[1:]:
            if column is not None and column.kind is Kind.JSON:
                return True
            if isinstance(step, int):
                if column is None or column.kind is not Kind.LIST:
                    return False
                column = column.children[0]
                continue
            column = next((c for c in columns if c.source == step), None)
            if column is None:
                return False
            columns = column.children
        return True

    def _located(self, problem: Problem, number: int) -> str:
        return problem.located(number, self.schema.stream, record=True)

    def _error(self, line: bytes, number: int) -> RecordError:
        """The error for a line a parser refused: what is wrong with its JSON text."""
        problem = self.problem_in(line)
        if problem is None:
            return RecordError(f"{where(self.schema.stream, line=number)}: not valid JSON")
        return RecordError(self._located(problem, number))

    def _check_keys(self, table: pa.Table, lines: Callable[[], Lines]) -> None:
        for key in self.schema.key_properties:
            column = table.column(key.name)
            if column.null_count:
                index = pc.index(pc.is_null(column), True).as_py()
                raise MissingKeyError(
                    f"{where(self.schema.stream, key.source, lines()[index][1])}: "
                    "key property is missing or null"
                )

    def _pinpoint(self, lines: Lines, error: Exception) -> RecordError:
        """Find the first line the conversion rejects and describe what is wrong with it."""
        low, high = 0, len(lines) - 1  # the first bad line is in [low, high]
        while low < high:
            middle = (low + high) // 2
            prefix = lines[: middle + 1]
            try:
                self._convert(b"\n".join(line for line, _ in prefix), middle + 1, _given(prefix))
            except _CONVERSION_ERRORS as prefix_error:
                high, error = middle, prefix_error
            else:
                low = middle + 1
        line, number = lines[low]
        problem = self.problem_in(line)  # what is wrong with the JSON text itself, first
        if problem is not None:
            return RecordError(self._located(problem, number))
        record = json.loads(line, parse_float=decimal.Decimal).get("record")  # values as sent
        if not isinstance(record, dict):
            return RecordError(
                f"{where(self.schema.stream, line=number)}: RECORD has no 'record' object"
            )
        found = describe(record, self.schema.columns)
        if found is None:
            text = show_error(error)
            return RecordError(f"{where(self.schema.stream, line=number)}: {text}")
        field, message = found
        return RecordError(f"{where(self.schema.stream, field, number)}: {message}")


def _given(lines: Lines) -> Callable[[], Lines]:
    return lambda: lines


class _Once:
    """A value computed on first use (a batch's lines, split only when needed)."""

    def __init__(self, make: Callable[[], Lines]) -> None:
        self._make = make
        self._value: Lines | None = None

    def __call__(self) -> Lines:
        if self._value is None:
            self._value = self._make()
        return self._value


def show_error(error: Exception) -> str:
    """A library's error message, first line only and shortened (it may quote input)."""
    text = first_line(error)
    return text if len(text) <= 2 * _SHOW_CHARS else text[: 2 * _SHOW_CHARS - 3] + "..."


def _has_float(column: Column) -> bool:
    return column.type == pa.float64() or any(_has_float(c) for c in column.children)


def _float_leaves(values: pa.Array, column: Column, out: list[pa.Array]) -> None:
    """Collect the float64 arrays under ``values`` (a column as read) into ``out``."""
    if column.kind is Kind.STRUCT:
        for i, child in enumerate(column.children):
            if _has_float(child):
                _float_leaves(values.field(i), child, out)
    elif column.kind is Kind.LIST:
        _float_leaves(values.flatten(), column.children[0], out)
    elif column.type == pa.float64():
        out.append(values)


def _non_finite(leaves: list[pa.Array]) -> bool:
    """Whether a value in ``leaves`` is NaN or infinite (Arrow reads the literals
    ``NaN``/``Infinity``, which are not JSON). One sum over all of them: finite unless some
    value is not (or the sum overflows, then each is looked at)."""
    if not leaves:
        return False
    total = pc.sum(pa.chunked_array(leaves, pa.float64())).as_py()
    if total is None or math.isfinite(total):
        return False
    return not all(pc.all(pc.is_finite(leaf)).as_py() is not False for leaf in leaves)


def _finish(
    values: pa.ChunkedArray | pa.Array, column: Column, *, quote_json: bool = False
) -> pa.ChunkedArray | pa.Array:
    """Turn values read with ``column.read_type`` into ``column.type`` (names included).

    ``quote_json``: JSON-text columns were read as plain strings and still need quoting.
    """
    if isinstance(values, pa.ChunkedArray):
        chunks = [_finish(c, column, quote_json=quote_json) for c in values.chunks]
        return pa.chunked_array(chunks, type=column.type)
    if column.kind is Kind.STRUCT:
        children = [
            _finish(values.field(i), c, quote_json=quote_json)
            for i, c in enumerate(column.children)
        ]
        return pa.StructArray.from_arrays(children, fields=list(column.type), mask=values.is_null())
    if column.kind is Kind.LIST:
        items = _finish(values.values, column.children[0], quote_json=quote_json)
        return pa.ListArray.from_arrays(
            values.offsets, items, type=column.type, mask=values.is_null()
        )
    if column.kind is Kind.JSON:
        return _json_quote(values) if quote_json else values
    return _SCALAR_FINISH[column.kind](values, column.type)


def _json_quote(text: pa.Array) -> pa.Array:
    """JSON text of string values, as ``orjson.dumps`` writes it."""
    if pc.any(pc.match_substring_regex(text, r"[\x00-\x1f]")).as_py():
        raise pa.ArrowInvalid("control characters in a JSON-text column: quoting per record")
    escaped = pc.replace_substring(pc.replace_substring(text, "\\", "\\\\"), '"', '\\"')
    return pc.binary_join_element_wise('"', escaped, '"', "")


def _to_timestamp(text: pa.Array, target: pa.DataType) -> pa.Array:
    micros = pa.timestamp("us", tz="UTC")
    try:
        parsed = pc.cast(text, micros)
    except pa.ArrowInvalid:
        for pattern, replacement in _NORMALISATIONS:
            text = pc.replace_substring_regex(text, pattern, replacement)
        parsed = pc.cast(text, micros)
    if target.unit == "us":
        return parsed
    earliest = pc.min(parsed.cast(pa.int64())).as_py()
    if earliest is None or earliest >= 0:  # from 1970 on, dropping digits is the floor
        return pc.cast(parsed, target, safe=False)  # (a third of floor_temporal's cost)
    # Truncate to the unit in time order (floor), also before 1970, then cast exactly.
    return pc.cast(pc.floor_temporal(parsed, unit=_UNIT_NAMES[target.unit]), target)


_SCALAR_FINISH: dict[Kind, Callable[[pa.Array, pa.DataType], pa.Array]] = {
    Kind.PLAIN: lambda values, _: values,
    Kind.TIMESTAMP: _to_timestamp,
    Kind.DATE: lambda values, _: pc.cast(values, pa.date32()),
}


def _to_json_text(record: dict[str, Any], columns: Sequence[Column]) -> None:
    for column in columns:
        value = record.get(column.source)
        if value is None:
            continue
        if column.kind is Kind.JSON:
            record[column.source] = _dumps(value).decode()
        elif column.kind is Kind.STRUCT and isinstance(value, dict):
            _to_json_text(value, column.children)
        elif column.kind is Kind.LIST and isinstance(value, list) and column.children[0].has_json:
            item = column.children[0]
            holder = [{item.source: v} for v in value]
            for h in holder:
                _to_json_text(h, column.children)
            record[column.source] = [h[item.source] for h in holder]


# --- describing a rejected record: the per-value check behind the error messages -----------


def describe(record: Mapping[str, Any], columns: Sequence[Column]) -> tuple[str, str] | None:
    """The first (field path, problem) in ``record``, or None if every value fits."""
    for column in columns:
        problem = _describe_value(record.get(column.source), column, column.source)
        if problem is not None:
            return problem
    return None


def _describe_value(value: object, column: Column, path: str) -> tuple[str, str] | None:
    if value is None or column.kind is Kind.JSON:
        return None
    if column.kind is Kind.STRUCT:
        if not isinstance(value, dict):
            return path, f"expected an object, got {_show(value)}"
        return _first_problem(
            (value.get(c.source), c, f"{path}.{c.source}") for c in column.children
        )
    if column.kind is Kind.LIST:
        if not isinstance(value, list):
            return path, f"expected an array, got {_show(value)}"
        item = column.children[0]
        return _first_problem((v, item, f"{path}[{i}]") for i, v in enumerate(value))
    expected, check = _scalar_check(column)
    return None if check(value) else (path, f"expected {expected}, got {_show(value)}")


def _first_problem(
    values: Iterable[tuple[object, Column, str]],
) -> tuple[str, str] | None:
    for value, column, path in values:
        problem = _describe_value(value, column, path)
        if problem is not None:
            return problem
    return None


_CHECKS: dict[pa.DataType, tuple[str, Callable[[object], bool]]] = {
    pa.int64(): ("an integer", lambda v: type(v) is int and -(2**63) <= v < 2**63),
    pa.float64(): (
        "a number",
        lambda v: isinstance(v, int | float | decimal.Decimal) and not isinstance(v, bool),
    ),
    pa.bool_(): ("a boolean", lambda v: isinstance(v, bool)),
    pa.string(): ("a string", lambda v: isinstance(v, str)),
}


def _scalar_check(column: Column) -> tuple[str, Callable[[object], bool]]:
    if column.kind is Kind.TIMESTAMP:
        return "a date-time (ISO 8601, e.g. 2024-01-31T12:00:00Z)", _is_datetime
    if column.kind is Kind.DATE:
        return "a date (YYYY-MM-DD)", _is_date
    arrow = column.type
    if pa.types.is_decimal(arrow):
        return f"a number that fits decimal({arrow.precision},{arrow.scale})", _fits(arrow)
    return _CHECKS[arrow]


def _fits(arrow: pa.Decimal128Type) -> Callable[[object], bool]:
    def check(value: object) -> bool:
        if isinstance(value, bool) or not isinstance(value, int | float | str | decimal.Decimal):
            return False
        try:
            number = decimal.Decimal(str(value))
        except decimal.InvalidOperation:
            return False
        exponent = number.as_tuple().exponent
        scale = -exponent if isinstance(exponent, int) and exponent < 0 else 0
        digits = len(number.as_tuple().digits) - scale
        return (
            number.is_finite() and scale <= arrow.scale and digits <= arrow.precision - arrow.scale
        )

    return check


def _is_datetime(value: object) -> bool:
    return _converts(value, Kind.TIMESTAMP, pa.timestamp("us", tz="UTC"))


def _is_date(value: object) -> bool:
    return _converts(value, Kind.DATE, pa.date32())


def _converts(value: object, kind: Kind, target: pa.DataType) -> bool:
    """Whether the batch conversion itself takes ``value`` (so the message matches it)."""
    if not isinstance(value, str):
        return False
    try:
        _SCALAR_FINISH[kind](pa.array([value]), target)
    except pa.ArrowInvalid:
        return False
    return True


def _show(value: object) -> str:
    """A value as it was sent (exact numbers), shortened."""
    if isinstance(value, decimal.Decimal):
        text = str(value)
    else:
        text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= _SHOW_CHARS else text[: _SHOW_CHARS - 3] + "..."
