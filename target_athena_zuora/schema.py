"""JSON Schema -> Arrow schema: the one place where types are decided.

A SCHEMA message becomes a ``StreamSchema``: a tree of ``Column`` objects holding the
normalised name, the source (JSON) name, the final Arrow type and how values are read.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from target_athena_zuora.errors import SchemaError
from target_athena_zuora.settings import Decimal

_CAMEL_1 = re.compile(r"([A-Z]+)([A-Z][a-z])")
_CAMEL_2 = re.compile(r"([a-z0-9])([A-Z])")
_INVALID = re.compile(r"[^a-z0-9]+")
JSON_TYPES = ("string", "integer", "number", "boolean", "object", "array", "null")


def normalise(name: str) -> str:
    """Athena-safe lower snake_case: ``BillToContactId`` -> ``bill_to_contact_id``."""
    snake = _CAMEL_2.sub(r"\1_\2", _CAMEL_1.sub(r"\1_\2", name)).lower()
    body = _INVALID.sub("_", snake).strip("_")
    if not body:
        return ""
    prefix = "_" if name.startswith("_") or body[0].isdigit() else ""
    return prefix + body


class Kind(enum.Enum):
    """How a column's values are read from JSON and finished into Arrow."""

    PLAIN = "plain"  # read directly with the final type
    TIMESTAMP = "timestamp"  # read as text, parsed to a UTC timestamp
    DATE = "date"  # read as text, parsed to date32
    JSON = "json"  # any JSON value, stored as its JSON text
    STRUCT = "struct"
    LIST = "list"


@dataclass(frozen=True)
class Column:
    """One (possibly nested) column. A list's single child is its item."""

    name: str
    source: str
    type: pa.DataType
    kind: Kind
    children: tuple[Column, ...] = ()

    @property
    def field(self) -> pa.Field:
        """The final Arrow field (always nullable: absence is null)."""
        return pa.field(self.name, self.type)

    @property
    def read_type(self) -> pa.DataType:
        """The type handed to the JSON reader: source names, text for parsed kinds."""
        if self.kind is Kind.STRUCT:
            return pa.struct([pa.field(c.source, c.read_type) for c in self.children])
        if self.kind is Kind.LIST:
            return pa.list_(self.children[0].read_type)
        if self.kind in (Kind.TIMESTAMP, Kind.DATE, Kind.JSON):
            return pa.string()
        return self.type

    @property
    def needs_finish(self) -> bool:
        """Whether values read from JSON must be transformed to reach the final type."""
        if self.kind in (Kind.TIMESTAMP, Kind.DATE):
            return True
        return any(c.needs_finish or c.name != c.source for c in self.children)

    @property
    def has_json(self) -> bool:
        """Whether this column or a descendant holds JSON text."""
        return self.kind is Kind.JSON or any(c.has_json for c in self.children)


@dataclass(frozen=True)
class TypeOptions:
    """Settings that change how JSON types map to Arrow."""

    decimal: Decimal | None = None
    timestamp_unit: str = "ms"

    @property
    def number(self) -> pa.DataType:
        """Arrow type of JSON ``number``."""
        if self.decimal is None:
            return pa.float64()
        return pa.decimal128(self.decimal.precision, self.decimal.scale)

    @property
    def timestamp(self) -> pa.DataType:
        """Arrow type of ``date-time``."""
        return pa.timestamp(self.timestamp_unit, tz="UTC")


@dataclass(frozen=True)
class StreamSchema:
    """A stream's mapped schema."""

    stream: str
    model: str
    columns: tuple[Column, ...]
    key_properties: tuple[Column, ...]
    replication_key: str | None = None  # a column name, from the SCHEMA's bookmark_properties

    @property
    def arrow(self) -> pa.Schema:
        """The final Arrow schema, as written to Parquet and printed to the catalog."""
        return pa.schema([c.field for c in self.columns])

    @property
    def read_schema(self) -> pa.Schema:
        """The schema handed to the JSON reader."""
        return pa.schema([pa.field(c.source, c.read_type) for c in self.columns])


def schema_message_problem(message: Mapping[str, Any]) -> str | None:
    """What makes a SCHEMA message unusable before its types are even looked at, or None
    (checked before the SDK sees the message: its own checks fail with unrelated errors,
    e.g. ``pop expected at most 1 argument`` for a list of properties)."""
    schema = message.get("schema")
    if not isinstance(schema, Mapping):
        return "'schema' must be an object"
    if "properties" not in schema:
        return "schema has no 'properties' object"
    if not isinstance(schema["properties"], Mapping):
        return "schema 'properties' must be an object"
    keys = message.get("key_properties")
    if keys is not None and not (isinstance(keys, list) and all(isinstance(k, str) for k in keys)):
        return "'key_properties' must be a list of field names"
    return None


def map_stream(
    stream: str,
    json_schema: Mapping[str, Any],
    key_properties: Sequence[str] | None,
    options: TypeOptions,
    bookmark_properties: Sequence[str] | None = None,
) -> StreamSchema:
    """Map a SCHEMA message's JSON Schema to a ``StreamSchema``; the first of
    ``bookmark_properties`` that is a top-level property is its replication key."""
    model = normalise(stream)
    if not model:
        raise SchemaError(f"stream {stream!r}: name has no letters or digits for a table name")
    properties = json_schema.get("properties")
    if not isinstance(properties, Mapping):
        raise SchemaError(f"stream {stream}: schema has no 'properties' object")
    columns = _map_properties(stream, "", properties, options)
    by_source = {c.source: c for c in columns}
    keys = []
    for key in key_properties or ():
        if key not in by_source:
            raise SchemaError(f"stream {stream}: key property {key!r} is not in the schema")
        keys.append(by_source[key])
    bookmarks = [by_source[b].name for b in bookmark_properties or () if b in by_source]
    return StreamSchema(stream, model, columns, tuple(keys), bookmarks[0] if bookmarks else None)


def _map_properties(
    stream: str, path: str, properties: Mapping[str, Any], options: TypeOptions
) -> tuple[Column, ...]:
    columns = [
        _map_column(stream, f"{path}{source}", source, spec, options)
        for source, spec in properties.items()
    ]
    _check_collisions(stream, path, columns)
    return tuple(columns)


def _check_collisions(stream: str, path: str, columns: Iterable[Column]) -> None:
    seen: dict[str, str] = {}
    for column in columns:
        if column.name in seen:
            raise SchemaError(
                f"stream {stream}: fields {path}{seen[column.name]!s} and {path}{column.source} "
                f"both become column {column.name!r} after normalising; rename one with a "
                "stream map"
            )
        seen[column.name] = column.source


def _map_column(stream: str, path: str, source: str, spec: object, options: TypeOptions) -> Column:
    name = normalise(source)
    if not name:
        raise SchemaError(f"stream {stream}, field {path}: name has no letters or digits")
    if not isinstance(spec, Mapping):
        raise SchemaError(f"stream {stream}, field {path}: expected a JSON Schema object")
    kind, arrow, children = _map_type(stream, path, spec, options)
    return Column(name, source, arrow, kind, children)


_Mapped = tuple[Kind, pa.DataType, tuple[Column, ...]]
_JSON_TEXT: _Mapped = (Kind.JSON, pa.string(), ())


def _map_type(stream: str, path: str, spec: Mapping[str, Any], options: TypeOptions) -> _Mapped:
    alternatives = _non_null_alternatives(stream, path, spec)
    if len(alternatives) != 1:  # untyped, null only, or several types: keep the JSON text
        return _JSON_TEXT
    spec, json_type = alternatives[0]
    if json_type == "object":
        properties = spec.get("properties")
        if not isinstance(properties, Mapping) or not properties:
            return _JSON_TEXT
        children = _map_properties(stream, f"{path}.", properties, options)
        return Kind.STRUCT, pa.struct([c.field for c in children]), children
    if json_type == "array":
        items = spec.get("items")
        if not isinstance(items, Mapping) or not items:
            return _JSON_TEXT
        item = _map_column(stream, f"{path}[]", "item", items, options)
        return Kind.LIST, pa.list_(item.field), (item,)
    return _scalar(json_type, spec, options)


def _scalar(json_type: str, spec: Mapping[str, Any], options: TypeOptions) -> _Mapped:
    if json_type == "string":
        fmt = spec.get("format")
        if fmt == "date-time":
            return Kind.TIMESTAMP, options.timestamp, ()
        if fmt == "date":
            return Kind.DATE, pa.date32(), ()
        return Kind.PLAIN, pa.string(), ()
    if json_type == "integer":
        return Kind.PLAIN, pa.int64(), ()
    if json_type == "number":
        return Kind.PLAIN, options.number, ()
    if json_type == "boolean":
        return Kind.PLAIN, pa.bool_(), ()
    raise AssertionError(json_type)  # pragma: no cover - types are checked on entry


def _non_null_alternatives(
    stream: str, path: str, spec: Mapping[str, Any]
) -> list[tuple[Mapping[str, Any], str]]:
    """The distinct non-null (spec, type) alternatives a property allows."""
    union = spec.get("anyOf", spec.get("oneOf"))
    if isinstance(union, list):
        found: list[tuple[Mapping[str, Any], str]] = []
        for option in union:
            if not isinstance(option, Mapping):
                raise SchemaError(f"stream {stream}, field {path}: anyOf entries must be objects")
            found.extend(_non_null_alternatives(stream, path, option))
        return _dedupe(found)
    types = _declared_types(stream, path, spec)
    non_null = [t for t in types if t != "null"]
    if set(non_null) == {"integer", "number"}:
        non_null = ["number"]
    return [(spec, t) for t in non_null]


def _declared_types(stream: str, path: str, spec: Mapping[str, Any]) -> list[str]:
    declared = spec.get("type")
    if declared is None:
        return ["object"] if "properties" in spec else []
    types = [declared] if isinstance(declared, str) else declared
    if not isinstance(types, list) or not types:
        raise SchemaError(f"stream {stream}, field {path}: 'type' must be a string or a list")
    for json_type in types:
        if json_type not in JSON_TYPES:
            raise SchemaError(
                f"stream {stream}, field {path}: unknown JSON Schema type {json_type!r}; "
                f"expected one of {', '.join(JSON_TYPES)}"
            )
    return list(dict.fromkeys(types))


def _dedupe(
    alternatives: list[tuple[Mapping[str, Any], str]],
) -> list[tuple[Mapping[str, Any], str]]:
    kinds = {t for _, t in alternatives}
    if kinds == {"integer", "number"}:
        return [next(a for a in alternatives if a[1] == "number")]
    formats = {spec.get("format") for spec, _ in alternatives}
    if kinds == {"string"} and len(formats) > 1:  # e.g. a date-time or any string: text
        return [({"type": "string"}, "string")]
    unique: dict[str, tuple[Mapping[str, Any], str]] = {}
    for spec, json_type in alternatives:
        key = f"{json_type}:{spec.get('format') if json_type == 'string' else ''}"
        unique.setdefault(key, (spec, json_type))
    return list(unique.values())
