"""The AWS catalog: Glue tables (and partitions) that Athena queries, and the tables'
``<model>_current`` views, created through Athena.

A view is (re-)created with ``CREATE OR REPLACE VIEW`` run by Athena only when its SQL
changed: the SQL's sha256 is kept in the base table's parameters (``VIEW_MARKER``), and a view
whose marker matches and that exists in Glue is left alone. A table whose stream lost its keys
loses the view this target created for it (``glue:DeleteTable``, only on ``*_current``).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import typing as t
from collections.abc import Sequence
from dataclasses import replace

from botocore.exceptions import BotoCoreError, ClientError

from target_athena_zuora.aws_errors import aws_error, error_code, one_line
from target_athena_zuora.catalog import PARTITION_KEY, TableDefinition
from target_athena_zuora.catalog.athena import Athena
from target_athena_zuora.errors import CatalogError, SchemaError
from target_athena_zuora.evolution import merge_schemas
from target_athena_zuora.glue_types import (
    arrow_schema,
    glue_columns,
    storage_descriptor,
    table_input,
)
from target_athena_zuora.views import CurrentView, describe

# IAM actions this module calls (iam.py builds the policy from these lists).
IAM_ACTIONS = (
    "glue:GetDatabase",
    "glue:CreateDatabase",
    "glue:GetTable",
    "glue:CreateTable",
    "glue:UpdateTable",
    "glue:BatchCreatePartition",
    "glue:GetPartitions",
    "glue:BatchGetPartition",
    "glue:BatchUpdatePartition",
)
_ATTEMPTS = 6  # concurrent writers: re-read the table and try again
_RETRY = {"ConcurrentModificationException", "AlreadyExistsException"}
_PARTITION_BATCH = 100  # BatchUpdatePartition / BatchGetPartition take at most 100 entries
# Called only on views named ``<model>_current`` (iam.py scopes it to those).
VIEW_IAM_ACTIONS = ("glue:DeleteTable",)
VIEW_MARKER = "target_athena_zuora.current_view_sha256"  # base table parameter
VIEW_TYPE = "VIRTUAL_VIEW"
# What GetTable returns that UpdateTable's TableInput takes back.
_TABLE_INPUT_KEYS = {
    "Name",
    "Description",
    "Owner",
    "LastAccessTime",
    "LastAnalyzedTime",
    "Retention",
    "StorageDescriptor",
    "PartitionKeys",
    "ViewOriginalText",
    "ViewExpandedText",
    "TableType",
    "Parameters",
    "TargetTable",
}
log = logging.getLogger(__name__)
TableKey = tuple[str, str]
_T = t.TypeVar("_T")


class GlueCatalog:
    """Glue databases and tables through an injected boto3 Glue client."""

    def __init__(
        self,
        client: t.Any,
        *,
        partition_projection: bool = False,
        first_date: str | None = None,
        timestamp_unit: str = "ms",
        athena: Athena | None = None,
    ) -> None:
        self.client = client
        self.partition_projection = partition_projection
        self.first_date = first_date or dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
        self.timestamp_unit = timestamp_unit
        self.athena = athena  # None: current views off, no Athena queries at all
        self._applied: dict[TableKey, TableDefinition] = {}
        self._markers: dict[TableKey, str | None] = {}  # VIEW_MARKER as last read or written
        self._published: dict[TableKey, str | None] = {}  # view SHA made sure of in this run

    def ensure_database(self, name: str) -> None:
        """Create the database when missing (already existing is fine)."""
        try:
            self.client.get_database(Name=name)
        except ClientError as error:
            if error_code(error) != "EntityNotFoundException":
                raise aws_error(
                    error, "glue:GetDatabase", f"database {name}", CatalogError
                ) from error
        except BotoCoreError as error:  # timeouts, connection errors: the endpoint named
            raise aws_error(error, "glue:GetDatabase", f"database {name}", CatalogError) from error
        else:
            return
        try:
            self.client.create_database(
                DatabaseInput={"Name": name, "Description": "Landed by target-athena-zuora"}
            )
        except ClientError as error:
            if error_code(error) != "AlreadyExistsException":
                raise aws_error(
                    error, "glue:CreateDatabase", f"database {name}", CatalogError
                ) from error
        except BotoCoreError as error:
            raise aws_error(
                error, "glue:CreateDatabase", f"database {name}", CatalogError
            ) from error

    def apply_table(self, definition: TableDefinition) -> TableDefinition:
        """Create the table, or merge ``definition``'s columns into Glue's by the one rule
        (``evolution``) and bring every partition whose columns differ up to the table's;
        optimistic retries on concurrent changes."""
        key = (definition.database, definition.name)

        def create_or_update() -> tuple[TableDefinition, bool]:
            existing = self._get_table(definition)
            if existing is None:
                self._create(definition)
                self._markers[key] = None
                return definition, True
            applied = self._update(definition, existing)
            self._markers[key] = existing.get("Parameters", {}).get(VIEW_MARKER)
            return applied, False

        applied, created = self._retrying(_resource(definition), create_or_update)
        self._applied[key] = applied
        if not created:  # a table just created has no partitions
            self._guarded(
                applied,
                "glue:BatchUpdatePartition",
                lambda: self._sync(applied, glue_columns(applied.schema)),
            )
        return applied

    def _retrying(self, resource: str, call: t.Callable[[], _T]) -> _T:
        """``call()`` (which reads the table, then writes it), again after a short wait while
        a concurrent writer changed the table first; AWS errors as one ``CatalogError``."""
        for attempt in range(_ATTEMPTS):
            try:
                return call()
            except ClientError as error:
                if error_code(error) in _RETRY and attempt < _ATTEMPTS - 1:
                    time.sleep(0.2 * 2**attempt)
                    continue
                raise aws_error(error, _action(error), resource, CatalogError) from error
            except BotoCoreError as error:
                raise aws_error(error, "glue:UpdateTable", resource, CatalogError) from error
        raise AssertionError("unreachable: the last attempt returns or raises")

    def add_partitions(self, definition: TableDefinition, values: Sequence[str]) -> None:
        """Register ``dt`` partitions with the table's columns as Glue holds them now (not
        ``definition``'s: an overlapping run may have evolved the table since this one
        applied it); already registered ones are brought up to the table. Nothing to do
        with projection."""
        if self.partition_projection or not values:
            return

        def register() -> None:
            columns = self._columns(definition)
            for start in range(0, len(values), _PARTITION_BATCH):
                self._create_partitions(
                    definition, columns, values[start : start + _PARTITION_BATCH]
                )
            self._sync(definition, columns, values)

        self._guarded(definition, "glue:BatchCreatePartition", register)

    def _sync(
        self, definition: TableDefinition, columns: list[dict[str, str]], values: Sequence[str] = ()
    ) -> None:
        """Bring every registered partition (or those of ``values``) whose columns differ from
        ``columns`` (the table's) up to them, in batches; then read the table again and
        repeat while an overlapping run changed it meanwhile, so that no partition is left
        behind (or taken back) by a run holding an older view of the table."""
        if self.partition_projection:
            return
        for _ in range(_ATTEMPTS):
            wanted = _pairs(columns)
            stale = [
                p
                for p in self._partitions(definition, values)
                if _pairs(p["StorageDescriptor"].get("Columns", [])) != wanted
            ]
            for start in range(0, len(stale), _PARTITION_BATCH):
                self._update_partitions(
                    definition, columns, stale[start : start + _PARTITION_BATCH]
                )
            latest = self._columns(definition)
            if _pairs(latest) == wanted:
                return
            columns = latest
        raise CatalogError(
            f"Glue table {definition.database}.{definition.name} kept changing while its "
            f"partitions were brought up to it ({_ATTEMPTS} times); run the load again"
        )

    def _guarded(
        self, definition: TableDefinition, action: str, call: t.Callable[[], None]
    ) -> None:
        """Run ``call``, translating AWS errors into a ``CatalogError`` naming the table (and
        ``action`` when the error names no operation)."""
        resource = _resource(definition)
        try:
            call()
        except ClientError as error:
            raise aws_error(error, _action(error), resource, CatalogError) from error
        except BotoCoreError as error:
            raise aws_error(error, action, resource, CatalogError) from error

    def _columns(self, definition: TableDefinition) -> list[dict[str, str]]:
        """The table's columns as Glue holds them now."""
        table = self._get_table(definition)
        if table is None:
            raise CatalogError(
                f"Glue table {definition.database}.{definition.name} disappeared while loading"
            )
        columns: list[dict[str, str]] = table["StorageDescriptor"].get("Columns", [])
        return [{"Name": c["Name"], "Type": c["Type"]} for c in columns]

    def _partitions(
        self, definition: TableDefinition, values: Sequence[str]
    ) -> list[dict[str, t.Any]]:
        names = {"DatabaseName": definition.database, "TableName": definition.name}
        if not values:
            pages = self.client.get_paginator("get_partitions").paginate(**names)
            return [p for page in pages for p in page.get("Partitions", [])]
        found: list[dict[str, t.Any]] = []
        for start in range(0, len(values), _PARTITION_BATCH):
            wanted = [{"Values": [v]} for v in values[start : start + _PARTITION_BATCH]]
            response = self.client.batch_get_partition(**names, PartitionsToGet=wanted)
            found.extend(response.get("Partitions", []))
        return found

    def _create_partitions(
        self, definition: TableDefinition, columns: list[dict[str, str]], values: Sequence[str]
    ) -> None:
        """BatchCreatePartition (at most 100); already registered ones are fine."""
        resource = _resource(definition)
        response = self.client.batch_create_partition(
            DatabaseName=definition.database,
            TableName=definition.name,
            PartitionInputList=[
                {
                    "Values": [value],
                    "StorageDescriptor": storage_descriptor(
                        columns, f"{definition.location}{PARTITION_KEY}={value}/"
                    ),
                }
                for value in values
            ],
        )
        for failure in response.get("Errors", []):
            detail = failure.get("ErrorDetail", {})
            if detail.get("ErrorCode") != "AlreadyExistsException":
                raise CatalogError(
                    f"glue:BatchCreatePartition on {resource} {failure.get('PartitionValues')}: "
                    f"{detail.get('ErrorCode')}: {one_line(str(detail.get('ErrorMessage')))}"
                )

    def _update_partitions(
        self,
        definition: TableDefinition,
        columns: list[dict[str, str]],
        partitions: list[dict[str, t.Any]],
    ) -> None:
        entries = [
            {
                "PartitionValueList": p["Values"],
                "PartitionInput": {
                    "Values": p["Values"],
                    "StorageDescriptor": storage_descriptor(
                        columns, p["StorageDescriptor"]["Location"]
                    ),
                },
            }
            for p in partitions
        ]
        response = self.client.batch_update_partition(
            DatabaseName=definition.database, TableName=definition.name, Entries=entries
        )
        for failure in response.get("Errors", []):
            detail = failure.get("ErrorDetail", {})
            raise CatalogError(
                f"glue:BatchUpdatePartition on {definition.database}.{definition.name} "
                f"{failure.get('PartitionValueList')}: {detail.get('ErrorCode')}: "
                f"{one_line(str(detail.get('ErrorMessage')))}"
            )

    def publish(self) -> None:
        """Bring the current view of every table applied in this run up to date (Glue's own
        changes are visible once made): created or re-created through Athena when its SQL
        changed (the sha256 kept in the table's parameters differs), dropped when the table
        lost its keys."""
        if self.athena is None:
            return
        for key, definition in self._applied.items():
            view = describe(
                definition.database,
                definition.name,
                definition.schema,
                definition.key_properties,
                definition.replication_key,
            )
            wanted = view.sha256() if view is not None else None
            if key in self._published and self._published[key] == wanted:
                continue
            if view is None:
                self._drop_view(definition)
            else:
                self._ensure_view(definition, view, self.athena)
            self._published[key] = wanted

    def _ensure_view(self, definition: TableDefinition, view: CurrentView, athena: Athena) -> None:
        name = f"{view.database}.{view.name}"
        existing = self._get_named(view.database, view.name, name)
        if existing is not None and existing.get("TableType") != VIEW_TYPE:
            log.warning("no %s view: a table of that name exists (not a view)", name)
            return
        sha = view.sha256()
        if self._markers.get((view.database, view.table)) == sha:
            return  # unchanged since this target created it: not sent to Athena again
        athena.run(view.athena_statement(), f"CREATE OR REPLACE VIEW {name}", view.database)
        log.info("created view %s (one row per key of %s.%s)", name, view.database, view.table)
        self._set_marker(definition, sha)

    def _drop_view(self, definition: TableDefinition) -> None:
        """Remove the view this target created for a table that no longer has keys."""
        key = (definition.database, definition.name)
        if not self._markers.get(key):
            return
        name = f"{definition.name}_current"
        resource = f"{definition.database}.{name}"
        existing = self._get_named(definition.database, name, resource)
        if existing is not None and existing.get("TableType") == VIEW_TYPE:
            try:
                self.client.delete_table(DatabaseName=definition.database, Name=name)
            except ClientError as error:
                if error_code(error) != "EntityNotFoundException":
                    raise aws_error(error, "glue:DeleteTable", resource, CatalogError) from error
            except BotoCoreError as error:
                raise aws_error(error, "glue:DeleteTable", resource, CatalogError) from error
            log.info(
                "dropped view %s: %s.%s has no key properties any more",
                resource,
                definition.database,
                definition.name,
            )
        self._set_marker(definition, None)

    def _get_named(self, database: str, name: str, resource: str) -> dict[str, t.Any] | None:
        """``_fetch``, its AWS errors as one ``CatalogError`` naming ``resource``."""
        try:
            return self._fetch(database, name)
        except ClientError as error:
            raise aws_error(error, "glue:GetTable", resource, CatalogError) from error
        except BotoCoreError as error:
            raise aws_error(error, "glue:GetTable", resource, CatalogError) from error

    def _set_marker(self, definition: TableDefinition, sha: str | None) -> None:
        """Record ``sha`` (or remove the record) in the base table's parameters."""
        resource = _resource(definition)

        def write_marker() -> None:
            existing = self._get_table(definition)
            if existing is None:
                raise CatalogError(f"Glue table {resource} vanished while its view was made")
            wanted = {k: v for k, v in existing.items() if k in _TABLE_INPUT_KEYS}
            parameters = dict(existing.get("Parameters", {}))
            if sha is None:
                parameters.pop(VIEW_MARKER, None)
            else:
                parameters[VIEW_MARKER] = sha
            wanted["Parameters"] = parameters
            self._update_table(definition, wanted, existing)

        self._retrying(resource, write_marker)
        self._markers[(definition.database, definition.name)] = sha

    def close(self) -> None:
        """Nothing held open."""

    def _get_table(self, definition: TableDefinition) -> dict[str, t.Any] | None:
        return self._fetch(definition.database, definition.name)

    def _fetch(self, database: str, name: str) -> dict[str, t.Any] | None:
        """The Glue table (or view), None when there is none; other errors raised as is."""
        try:
            table: dict[str, t.Any] = self.client.get_table(DatabaseName=database, Name=name)[
                "Table"
            ]
        except ClientError as error:
            if error_code(error) == "EntityNotFoundException":
                return None
            raise
        return table

    def _update_table(
        self, definition: TableDefinition, wanted: dict[str, t.Any], existing: dict[str, t.Any]
    ) -> None:
        """UpdateTable to ``wanted``, conditional on ``existing``'s version when Glue gave one
        (a concurrent writer's change then fails it, and it is retried)."""
        arguments: dict[str, t.Any] = {"DatabaseName": definition.database, "TableInput": wanted}
        if existing.get("VersionId"):
            arguments["VersionId"] = existing["VersionId"]
        self.client.update_table(**arguments)

    def _create(self, definition: TableDefinition) -> None:
        start = self.first_date if self.partition_projection else None
        self.client.create_table(
            DatabaseName=definition.database,
            TableInput=table_input(definition, projection_start=start),
        )

    def _update(self, definition: TableDefinition, existing: dict[str, t.Any]) -> TableDefinition:
        resource = _resource(definition)
        columns = existing["StorageDescriptor"].get("Columns", [])
        try:
            current = arrow_schema([(c["Name"], c["Type"]) for c in columns], self.timestamp_unit)
        except SchemaError as error:
            raise CatalogError(f"Glue table {resource}: {error}") from None
        applied = replace(definition, schema=merge_schemas(resource, current, definition.schema))
        start = None
        if self.partition_projection:
            start = _projection_start(existing) or self.first_date
        wanted = table_input(applied, projection_start=start)
        marker = existing.get("Parameters", {}).get(VIEW_MARKER)
        if marker:  # kept: the view's SQL is compared with it at the next publish
            wanted["Parameters"][VIEW_MARKER] = marker
        if not _same(existing, wanted):
            self._update_table(definition, wanted, existing)
        return applied


def _projection_start(existing: dict[str, t.Any]) -> str | None:
    """The table's projection start, or, when projection is being switched on, the day the
    table was created (no partition of it is older): earlier parts stay visible."""
    current = existing.get("Parameters", {}).get(f"projection.{PARTITION_KEY}.range", "")
    if current:
        return str(current.split(",")[0])
    created = existing.get("CreateTime")
    if isinstance(created, dt.datetime):
        return created.astimezone(dt.UTC).strftime("%Y-%m-%d")
    return None


def _same(existing: dict[str, t.Any], wanted: dict[str, t.Any]) -> bool:
    descriptor = existing.get("StorageDescriptor", {})
    return bool(
        [(c["Name"], c["Type"]) for c in descriptor.get("Columns", [])]
        == [(c["Name"], c["Type"]) for c in wanted["StorageDescriptor"]["Columns"]]
        and descriptor.get("Location") == wanted["StorageDescriptor"]["Location"]
        and {k: v for k, v in existing.get("Parameters", {}).items() if k in wanted["Parameters"]}
        == wanted["Parameters"]
    )


def _pairs(columns: list[dict[str, str]]) -> list[tuple[str, str]]:
    """Columns compared by name and type only (Glue may add keys such as ``Comment``)."""
    return [(c["Name"], c["Type"]) for c in columns]


def _resource(definition: TableDefinition) -> str:
    return f"{definition.database}.{definition.name}"


def _action(error: ClientError) -> str:
    operation = error.operation_name or "UpdateTable"
    return f"glue:{operation}"
