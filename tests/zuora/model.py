"""The fake tenant: Zuora objects as ``describe`` shows them, their rows, and exports of them.

Values are held typed (``str``, ``int``, ``bool``, ``Decimal``, ``date``, aware ``datetime``,
``None``) and rendered as Zuora writes them in CSV exports. The two APIs differ in how a
datetime is written: AQuA (``dateTimeUtc: true``) in UTC, REST exports in the tenant's zone.

Only the ZOQL tap-zuora 1.6.1 sends is understood: ``select <fields> from <Object>
[where <F> >= '<t>' and <F> < '<t>'] [order by <F> asc] [limit <n>]``, where a field may be a
joined ``<Related>.Id``. Anything else is a ``ZoqlError``, so a tap asking for a field the
tenant does not export fails loudly, as Zuora would.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from zoneinfo import ZoneInfo

Value = str | int | bool | Decimal | dt.date | dt.datetime | None

UTC = dt.UTC
TENANT_ZONE = ZoneInfo("America/Los_Angeles")  # tap-zuora's incrementalTime is US/Pacific too
TAP_TYPES = frozenset({"text", "picklist", "boolean", "integer", "decimal", "date", "datetime"})
"""The Zuora types tap-zuora 1.6.1 maps (``discover.TYPE_MAP``); others are 'unsupported'."""


class ZoqlError(ValueError):
    """A query Zuora would refuse (or the fake does not understand)."""


@dataclasses.dataclass(frozen=True)
class Field:
    """A field as ``GET v1/describe/<Object>`` lists it."""

    name: str
    type: str
    contexts: tuple[str, ...] = ("export", "soap")
    required: bool = False
    custom: bool = False

    @property
    def exportable(self) -> bool:
        return "export" in self.contexts


@dataclasses.dataclass
class Row:
    values: dict[str, Value]
    deleted: bool = False


@dataclasses.dataclass
class ZuoraObject:
    """An object: its fields in describe order, related objects (joinable as
    ``<Related>.Id``, whose value is the row's ``<Related>Id``), and rows by ``Id``."""

    name: str
    fields: list[Field]
    related: list[str] = dataclasses.field(default_factory=list)
    supports_deleted: bool = True
    exportable: bool = True
    rows: dict[str, Row] = dataclasses.field(default_factory=dict)

    def get_field(self, name: str) -> Field:
        for candidate in self.fields:
            if candidate.name == name:
                return candidate
        raise ZoqlError(f"invalid field '{name}' for object {self.name}")

    def column_types(self) -> dict[str, str]:
        """Zuora type of every name a tap record of this object can carry (``Deleted`` too)."""
        types = {f.name: f.type for f in self.fields}
        types.update({f"{related}Id": "text" for related in self.related})
        types["Deleted"] = "boolean"
        return types


@dataclasses.dataclass(frozen=True)
class Condition:
    field: str
    operator: str
    literal: str


@dataclasses.dataclass(frozen=True)
class Zoql:
    fields: tuple[str, ...]
    object: str
    conditions: tuple[Condition, ...] = ()
    order_by: str | None = None
    limit: int | None = None


_SELECT = re.compile(
    r"^\s*select\s+(?P<fields>.+?)\s+from\s+(?P<object>\w+)"
    r"(?:\s+where\s+(?P<where>.+?))?"
    r"(?:\s+order\s+by\s+(?P<order>\w+)(?:\s+asc)?)?"
    r"(?:\s+limit\s+(?P<limit>\d+))?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_CONDITION = re.compile(r"^\s*(?P<field>\w+)\s*(?P<op>>=|<=|<|>|=)\s*'(?P<literal>[^']*)'\s*$")
_OPERATORS = {
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
    "<": lambda a, b: a < b,
    ">": lambda a, b: a > b,
    "=": lambda a, b: a == b,
}


def parse_zoql(text: str) -> Zoql:
    match = _SELECT.match(text)
    if not match:
        raise ZoqlError(f"cannot parse ZOQL: {text!r}")
    conditions = []
    if match["where"]:
        for part in re.split(r"\s+and\s+", match["where"], flags=re.IGNORECASE):
            condition = _CONDITION.match(part)
            if not condition:
                raise ZoqlError(f"unsupported condition {part!r} in {text!r}")
            conditions.append(Condition(condition["field"], condition["op"], condition["literal"]))
    return Zoql(
        fields=tuple(f.strip() for f in match["fields"].split(",")),
        object=match["object"],
        conditions=tuple(conditions),
        order_by=match["order"],
        limit=int(match["limit"]) if match["limit"] else None,
    )


def parse_zoql_datetime(literal: str) -> dt.datetime:
    """A ZOQL datetime literal; without an offset it is in the tenant's zone."""
    parsed = dt.datetime.fromisoformat(literal.replace(" ", "T"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=TENANT_ZONE)


@dataclasses.dataclass(frozen=True)
class Export:
    """An export's result: names as queried (``Id``, ``Account.Id``, ``Deleted``), their
    Zuora types, and rows of typed values."""

    object: str
    names: tuple[str, ...]
    types: tuple[str, ...]
    rows: tuple[tuple[Value, ...], ...]


class Tenant:
    """The data behind the fake API; tests mutate it between runs."""

    def __init__(self, objects: Iterable[ZuoraObject]) -> None:
        self.objects = {o.name: o for o in objects}

    def object(self, name: str) -> ZuoraObject:
        try:
            return self.objects[name]
        except KeyError:
            raise ZoqlError(f"invalid object {name!r}") from None

    def upsert(self, object_name: str, values: Mapping[str, Value], at: dt.datetime) -> Row:
        """Create or update the row ``values['Id']`` as of ``at`` (its ``UpdatedDate``, and its
        ``CreatedDate`` when new)."""
        zobject = self.object(object_name)
        for name in values:
            zobject.get_field(name)
        row = zobject.rows.get(str(values["Id"]))
        if row is None:
            row = Row({f.name: None for f in zobject.fields})
            row.values["CreatedDate"] = at
            zobject.rows[str(values["Id"])] = row
        row.values.update(values)
        row.values["UpdatedDate"] = at
        return row

    def soft_delete(self, object_name: str, row_id: str, at: dt.datetime) -> None:
        """Delete a row as Zuora does: AQuA still exports it (``Deleted`` true) when asked."""
        row = self.object(object_name).rows[row_id]
        row.deleted = True
        row.values["UpdatedDate"] = at

    def add_field(self, object_name: str, new_field: Field) -> None:
        """Add a (custom) field at the end of the object's describe; every row holds null."""
        zobject = self.object(object_name)
        zobject.fields.append(new_field)
        for row in zobject.rows.values():
            row.values.setdefault(new_field.name, None)

    def export(self, query: Zoql, since: dt.datetime | None, with_deleted: bool) -> Export:
        """Run ``query``: rows updated at or after ``since`` (AQuA's incrementalTime), soft-
        deleted ones only ``with_deleted`` (then with a ``Deleted`` column)."""
        zobject = self.object(query.object)
        if not zobject.exportable:
            raise ZoqlError(f"object {zobject.name} cannot be exported")
        names = list(query.fields)
        types = [self._name_type(zobject, name) for name in names]
        rows = [r for r in zobject.rows.values() if with_deleted or not r.deleted]
        rows = [r for r in rows if self._matches(zobject, r, query.conditions, since)]
        if query.order_by:
            zobject.get_field(query.order_by)
            rows.sort(key=lambda r: _sort_key(r.values[query.order_by or ""]))
        if query.limit is not None:
            rows = rows[: query.limit]
        table = [tuple(self._value(zobject, row, name) for name in names) for row in rows]
        if with_deleted:
            names.append("Deleted")
            types.append("boolean")
            table = [(*values, row.deleted) for values, row in zip(table, rows, strict=True)]
        return Export(zobject.name, tuple(names), tuple(types), tuple(table))

    @staticmethod
    def _name_type(zobject: ZuoraObject, name: str) -> str:
        if "." in name:
            related, _, key = name.partition(".")
            if related not in zobject.related or key != "Id":
                raise ZoqlError(f"invalid field '{name}' for object {zobject.name}")
            return "text"
        described = zobject.get_field(name)
        if not described.exportable:
            raise ZoqlError(f"field '{name}' of {zobject.name} is not exportable")
        return described.type

    @staticmethod
    def _value(zobject: ZuoraObject, row: Row, name: str) -> Value:
        if "." in name:
            return row.values.get(name.partition(".")[0] + "Id")
        return row.values.get(name)

    @staticmethod
    def _matches(
        zobject: ZuoraObject, row: Row, conditions: Iterable[Condition], since: dt.datetime | None
    ) -> bool:
        updated = row.values.get("UpdatedDate")
        if since is not None and not (isinstance(updated, dt.datetime) and updated >= since):
            return False
        for condition in conditions:
            if zobject.get_field(condition.field).type != "datetime":
                raise ZoqlError(f"the fake filters datetime fields only, not {condition.field}")
            value = row.values.get(condition.field)
            literal = parse_zoql_datetime(condition.literal)
            if not isinstance(value, dt.datetime):
                return False
            if not _OPERATORS[condition.operator](value, literal):
                return False
        return True


def _sort_key(value: Value) -> tuple[bool, str]:
    if value is None:
        return (True, "")
    if isinstance(value, dt.datetime):
        return (False, value.astimezone(UTC).isoformat())
    return (False, str(value))


def render_value(value: Value, zone: dt.tzinfo) -> str:
    """A value as it appears in a Zuora CSV export (empty for null; dates ``2025-02-01``)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if zone is UTC:
            return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return value.astimezone(zone).isoformat(timespec="seconds")
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def render_csv(header: Iterable[str], rows: Iterable[Iterable[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")
