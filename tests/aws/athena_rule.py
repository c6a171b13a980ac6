"""Athena's rule for reading a registered partition against its table, as a test helper.

Athena (Trino's Hive connector) reads each partition with the partition's own column types
and coerces them to the table's. For Parquet:

- top-level columns are matched by name (case-insensitive);
- a partition type must equal the table's or be coercible to it (integer widening,
  ``float`` -> ``double``, ``varchar`` widening, decimal widening);
- struct fields are matched by position: the partition's fields must be a prefix of the
  table's (same names, coercible types, recursively) — only fields appended at the end are
  tolerated; anything else is ``HIVE_PARTITION_SCHEMA_MISMATCH``;
- array elements and map values likewise (map keys must be equal).

Written apart from the target's own type code (its own small Hive type parser) so that it
checks the target rather than repeating it. ``violations`` returns one line per problem.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

_TOKEN = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*|\d+|[<>(),:])")
_INTEGERS = ("tinyint", "smallint", "int", "bigint")
_ALIASES = {"integer": "int"}


@dataclass(frozen=True)
class HiveType:
    """A parsed Hive type: ``name`` (lower case) with its parameters or children."""

    name: str
    params: tuple[int, ...] = ()
    children: tuple[tuple[str, HiveType], ...] = ()  # struct fields; array/map: ("", type)

    def __str__(self) -> str:
        if self.name == "struct":
            return "struct<" + ",".join(f"{n}:{t}" for n, t in self.children) + ">"
        if self.name in ("array", "map"):
            return f"{self.name}<{','.join(str(t) for _, t in self.children)}>"
        if self.params:
            return f"{self.name}({','.join(map(str, self.params))})"
        return self.name


def parse(text: str) -> HiveType:
    """Parse a Hive/Glue type string; ``ValueError`` when it is not one."""
    tokens = _TOKEN.findall(text)
    if "".join(tokens) != re.sub(r"\s+", "", text):
        raise ValueError(f"cannot read {text!r}")
    parsed, rest = _parse(tokens)
    if rest:
        raise ValueError(f"unexpected {''.join(rest)!r} in {text!r}")
    return parsed


def _parse(tokens: list[str]) -> tuple[HiveType, list[str]]:
    if not tokens:
        raise ValueError("type expected")
    name, rest = tokens[0].lower(), tokens[1:]
    name = _ALIASES.get(name, name)
    if name == "struct":
        return _parse_struct(rest)
    if name in ("array", "map"):
        _expect(rest, "<")
        children, rest = [], rest[1:]
        while True:
            child, rest = _parse(rest)
            children.append(("", child))
            if rest[:1] != [","]:
                break
            rest = rest[1:]
        _expect(rest, ">")
        if len(children) != (1 if name == "array" else 2):
            raise ValueError(f"{name} with {len(children)} type arguments")
        return HiveType(name, children=tuple(children)), rest[1:]
    params: list[int] = []
    if rest[:1] == ["("]:
        rest = rest[1:]
        while rest and rest[0].isdigit():
            params.append(int(rest[0]))
            rest = rest[1:]
            if rest[:1] == [","]:
                rest = rest[1:]
        _expect(rest, ")")
        rest = rest[1:]
    return HiveType(name, tuple(params)), rest


def _parse_struct(rest: list[str]) -> tuple[HiveType, list[str]]:
    _expect(rest, "<")
    fields, rest = [], rest[1:]
    while True:
        if len(rest) < 2 or rest[1] != ":":
            raise ValueError("struct field name expected")
        name = rest[0].lower()
        kind, rest = _parse(rest[2:])
        fields.append((name, kind))
        if rest[:1] != [","]:
            break
        rest = rest[1:]
    _expect(rest, ">")
    return HiveType("struct", children=tuple(fields)), rest[1:]


def _expect(tokens: list[str], token: str) -> None:
    if not tokens or tokens[0] != token:
        raise ValueError(f"{token!r} expected")


def type_problems(path: str, partition: HiveType, table: HiveType) -> list[str]:
    """Why a value of the partition's type cannot be read as the table's (empty: it can)."""
    if partition == table:
        return []
    if partition.name == "struct" and table.name == "struct":
        return _struct_problems(path, partition, table)
    if partition.name == table.name and partition.name in ("array", "map"):
        (*keys, (_, item)), (*table_keys, (_, table_item)) = partition.children, table.children
        if keys != table_keys:
            return [f"{path}: map key {keys[0][1]} vs {table_keys[0][1]}"]
        return type_problems(f"{path}[]", item, table_item)
    if _coercible(partition, table):
        return []
    return [f"{path}: partition type {partition} is not coercible to the table's {table}"]


def _struct_problems(path: str, partition: HiveType, table: HiveType) -> list[str]:
    if len(partition.children) > len(table.children):
        extra = [n for n, _ in partition.children[len(table.children) :]]
        return [f"{path}: partition struct has fields {extra} beyond the table's"]
    problems = []
    for index, ((name, kind), (table_name, table_kind)) in enumerate(
        zip(partition.children, table.children, strict=False)
    ):
        if name != table_name:
            problems.append(
                f"{path}: struct field {index} is {name} in the partition, {table_name} in the "
                "table (fields are matched by position; only appending is tolerated)"
            )
            continue
        problems.extend(type_problems(f"{path}.{name}", kind, table_kind))
    return problems


_WIDENING = {  # partition type -> table types Athena coerces it to
    **{kind: set(_INTEGERS[index:]) | {"double"} for index, kind in enumerate(_INTEGERS)},
    "float": {"double"},
    "varchar": {"string"},
}


def _coercible(partition: HiveType, table: HiveType) -> bool:
    if partition.name == table.name == "varchar":  # varchar(n) widening; bare varchar: any
        return not table.params or (bool(partition.params) and partition.params <= table.params)
    if partition.name == table.name == "decimal":
        (precision, scale), (table_precision, table_scale) = partition.params, table.params
        return table_scale >= scale and table_precision - table_scale >= precision - scale
    return table.name in _WIDENING.get(partition.name, set())


Columns = Iterable[Mapping[str, str]]


def violations(table_columns: Columns, partition_columns: Columns) -> list[str]:
    """What Athena would refuse (or misread) reading a partition with ``partition_columns``
    as part of a table with ``table_columns`` (Glue ``{"Name", "Type"}`` dicts)."""
    table = {c["Name"].lower(): parse(c["Type"]) for c in table_columns}
    problems = []
    for column in partition_columns:
        name = column["Name"].lower()
        if name not in table:
            problems.append(f"{name}: in the partition, not in the table")
            continue
        problems.extend(type_problems(name, parse(column["Type"]), table[name]))
    return problems
