"""Records -> Arrow: whole batches at once, with the type check done by the conversion.

Every record reaches this module as the raw JSON text of one RECORD's ``record`` object,
with its input line number. The batch is parsed by Arrow's JSON reader against the
stream's read schema (values that do not fit raise), then finished: date-times parsed to
UTC timestamps, dates to ``date32``, source names replaced by normalised names. When a
batch fails, the first failing line is found by converting prefixes (bisection) with the
same code, and described by a per-value check that names the field.
"""

from __future__ import annotations

import datetime as dt
import decimal
import io
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from target_athena_zuora.errors import RecordError, where
from target_athena_zuora.schema import Column, Kind, StreamSchema

_MIN_BLOCK = 1 << 22
_ZONE_SUFFIX = r"(Z|[+-]\d{2}(:?\d{2})?)$"
_NORMALISATIONS = (  # applied in order to date-time text that Arrow did not take as is
    (r"^(\d{4}-\d{2}-\d{2})$", r"\1T00:00:00Z"),  # a bare date is midnight UTC
    (r"^(\d{4}-\d{2}-\d{2}) ", r"\1T"),  # space instead of T
    (r"(\.\d{6})\d+", r"\1"),  # beyond microseconds
    (r"^([^Z+]*T[0-9:.]+)$", r"\1Z"),  # no zone: UTC
)


def dumps_record(record: Mapping[str, Any]) -> bytes:
    """Serialise a record dict (from the SDK path) to JSON text, exact for ``Decimal``."""
    return orjson.dumps(record, default=_default)


def _default(value: object) -> Any:
    if isinstance(value, decimal.Decimal):
        return orjson.Fragment(str(value))
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


class Converter:
    """Converts batches of one stream's raw records to Arrow tables of its final schema."""

    def __init__(self, schema: StreamSchema) -> None:
        self.schema = schema
        self.arrow = schema.arrow
        self._parse_options = pj.ParseOptions(
            explicit_schema=schema.read_schema, unexpected_field_behavior="ignore"
        )
        self._json_top = [c.source for c in schema.columns if c.kind is Kind.JSON]
        self._json_nested = any(c.has_json and c.kind is not Kind.JSON for c in schema.columns)

    def convert(self, lines: Sequence[bytes], line_numbers: Sequence[int]) -> pa.Table:
        """Convert raw records to a table; ``RecordError`` names stream, field and line."""
        if not lines:
            return self.arrow.empty_table()
        lines = self._json_text(lines, line_numbers)
        try:
            table = self._convert(lines)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as error:
            raise self._pinpoint(lines, line_numbers, error) from None
        self._check_keys(table, line_numbers)
        return table

    def _convert(self, lines: Sequence[bytes]) -> pa.Table:
        longest = max(map(len, lines))
        block = max(_MIN_BLOCK, 2 * longest + 2)
        read = pj.read_json(
            io.BytesIO(b"\n".join(lines)),
            read_options=pj.ReadOptions(block_size=block),
            parse_options=self._parse_options,
        )
        arrays = [
            _finish(read.column(i), column) if column.needs_finish else read.column(i)
            for i, column in enumerate(self.schema.columns)
        ]
        return pa.Table.from_arrays(arrays, schema=self.arrow)

    def _json_text(self, lines: Sequence[bytes], line_numbers: Sequence[int]) -> Sequence[bytes]:
        """Replace values of JSON-text columns by their JSON text (a per-record step)."""
        if not self._json_top and not self._json_nested:
            return lines
        keys = [orjson.dumps(k) for k in self._json_top]
        out = []
        for line, number in zip(lines, line_numbers, strict=True):
            if self._json_nested or any(k in line for k in keys):
                record = self._loads(line, number)
                _to_json_text(record, self.schema.columns)
                line = orjson.dumps(record)
            out.append(line)
        return out

    def _loads(self, line: bytes, number: int) -> Any:
        try:
            return orjson.loads(line)
        except orjson.JSONDecodeError as error:
            raise RecordError(f"{where(self.schema.stream, line=number)}: invalid JSON ({error})")

    def _check_keys(self, table: pa.Table, line_numbers: Sequence[int]) -> None:
        for key in self.schema.key_properties:
            column = table.column(key.name)
            if column.null_count:
                index = pc.index(pc.is_null(column), True).as_py()
                raise RecordError(
                    f"{where(self.schema.stream, key.source, line_numbers[index])}: "
                    "key property is missing or null"
                )

    def _pinpoint(
        self, lines: Sequence[bytes], line_numbers: Sequence[int], error: Exception
    ) -> RecordError:
        """Find the first line the conversion rejects and describe what is wrong with it."""
        low, high = 0, len(lines) - 1  # the first bad line is in [low, high]
        while low < high:
            middle = (low + high) // 2
            try:
                self._convert(lines[: middle + 1])
            except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as prefix_error:
                high, error = middle, prefix_error
            else:
                low = middle + 1
        line = line_numbers[low]
        record = self._loads(lines[low], line)
        if not isinstance(record, dict):
            return RecordError(f"{where(self.schema.stream, line=line)}: record is not an object")
        problem = describe(record, self.schema.columns)
        if problem is None:
            return RecordError(f"{where(self.schema.stream, line=line)}: {error}")
        field, message = problem
        return RecordError(f"{where(self.schema.stream, field, line)}: {message}")


def _finish(values: pa.ChunkedArray | pa.Array, column: Column) -> pa.ChunkedArray | pa.Array:
    """Turn values read with ``column.read_type`` into ``column.type`` (names included)."""
    if isinstance(values, pa.ChunkedArray):
        return pa.chunked_array([_finish(c, column) for c in values.chunks], type=column.type)
    if column.kind is Kind.TIMESTAMP:
        return _to_timestamp(values, column.type)
    if column.kind is Kind.DATE:
        return pc.cast(values, pa.date32())
    if column.kind is Kind.STRUCT:
        children = [_finish(values.field(i), c) for i, c in enumerate(column.children)]
        return pa.StructArray.from_arrays(children, fields=list(column.type), mask=values.is_null())
    if column.kind is Kind.LIST:
        items = _finish(values.values, column.children[0])
        return pa.ListArray.from_arrays(
            values.offsets, items, type=column.type, mask=values.is_null()
        )
    return values


def _to_timestamp(text: pa.Array, target: pa.TimestampType) -> pa.Array:
    micros = pa.timestamp("us", tz="UTC")
    try:
        parsed = pc.cast(text, micros)
    except pa.ArrowInvalid:
        for pattern, replacement in _NORMALISATIONS:
            text = pc.replace_substring_regex(text, pattern, replacement)
        parsed = pc.cast(text, micros)
    return parsed if target.unit == "us" else pc.cast(parsed, target, safe=False)


def _to_json_text(record: dict[str, Any], columns: Sequence[Column]) -> None:
    for column in columns:
        value = record.get(column.source)
        if value is None:
            continue
        if column.kind is Kind.JSON:
            record[column.source] = orjson.dumps(value).decode()
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
        for child in column.children:
            problem = _describe_value(value.get(child.source), child, f"{path}.{child.source}")
            if problem is not None:
                return problem
        return None
    if column.kind is Kind.LIST:
        if not isinstance(value, list):
            return path, f"expected an array, got {_show(value)}"
        for index, item in enumerate(value):
            problem = _describe_value(item, column.children[0], f"{path}[{index}]")
            if problem is not None:
                return problem
        return None
    expected, check = _scalar_check(column)
    return None if check(value) else (path, f"expected {expected}, got {_show(value)}")


def _scalar_check(column: Column) -> tuple[str, Callable[[object], bool]]:
    if column.kind is Kind.TIMESTAMP:
        return "a date-time (ISO 8601, e.g. 2024-01-31T12:00:00Z)", _is_datetime
    if column.kind is Kind.DATE:
        return "a date (YYYY-MM-DD)", _is_date
    arrow = column.type
    if pa.types.is_int64(arrow):
        return "an integer", _is_int64
    if pa.types.is_float64(arrow):
        return "a number", _is_number
    if pa.types.is_decimal(arrow):
        return f"a number that fits decimal({arrow.precision},{arrow.scale})", _fits(arrow)
    if pa.types.is_boolean(arrow):
        return "a boolean", lambda v: isinstance(v, bool)
    return "a string", lambda v: isinstance(v, str)


def _is_int64(value: object) -> bool:
    return type(value) is int and -(2**63) <= value < 2**63


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _fits(arrow: pa.Decimal128Type) -> Callable[[object], bool]:
    def check(value: object) -> bool:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
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
    if not isinstance(value, str):
        return False
    try:
        pc.cast(pa.array([value]), pa.timestamp("us", tz="UTC"))
    except pa.ArrowInvalid:
        text = pa.array([value])
        for pattern, replacement in _NORMALISATIONS:
            text = pc.replace_substring_regex(text, pattern, replacement)
        try:
            pc.cast(text, pa.timestamp("us", tz="UTC"))
        except pa.ArrowInvalid:
            return False
    return True


def _is_date(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        pc.cast(pa.array([value]), pa.date32())
    except pa.ArrowInvalid:
        return False
    return True


def _show(value: object) -> str:
    text = orjson.dumps(value, default=str).decode()
    return text if len(text) <= 80 else text[:77] + "..."
