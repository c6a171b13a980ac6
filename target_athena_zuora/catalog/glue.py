"""The AWS catalog: Glue tables (and partitions) that Athena queries."""

from __future__ import annotations

import datetime as dt
import time
import typing as t
from collections.abc import Sequence

from botocore.exceptions import BotoCoreError, ClientError

from target_athena_zuora.aws import aws_error, error_code
from target_athena_zuora.catalog import PARTITION_KEY, TableDefinition
from target_athena_zuora.errors import CatalogError
from target_athena_zuora.glue_types import glue_columns, storage_descriptor, table_input

# IAM actions this module calls (iam.py builds the policy from these lists).
IAM_ACTIONS = (
    "glue:GetDatabase",
    "glue:CreateDatabase",
    "glue:GetTable",
    "glue:CreateTable",
    "glue:UpdateTable",
    "glue:BatchCreatePartition",
)
_ATTEMPTS = 6  # concurrent writers: re-read the table and try again
_RETRY = {"ConcurrentModificationException", "AlreadyExistsException"}


def merge_columns(
    table: str, existing: list[dict[str, str]], new: list[dict[str, str]]
) -> list[dict[str, str]]:
    """Additive evolution: existing columns keep their place, new ones are appended."""
    merged = {c["Name"]: dict(c) for c in existing}
    for column in new:
        old = merged.get(column["Name"])
        if old is None or widens(old["Type"], column["Type"]):
            merged[column["Name"]] = {"Name": column["Name"], "Type": column["Type"]}
        else:
            raise CatalogError(
                f"Glue table {table}: column {column['Name']} is {old['Type']} in Glue but "
                f"{column['Type']} in the data; Athena cannot read both — keep the type or land "
                "it under another column name"
            )
    return list(merged.values())


def widens(old: str, new: str) -> bool:
    """Whether Glue type ``new`` only adds to ``old``: equal, or struct fields added (at any
    depth, Parquet structs are read by field name) with every existing field widened."""
    if old == new:
        return True
    old_fields, new_fields = _struct_fields(old), _struct_fields(new)
    if old_fields is not None and new_fields is not None:
        return all(
            name in new_fields and widens(kind, new_fields[name])
            for name, kind in old_fields.items()
        )
    old_item, new_item = _inner(old, "array<"), _inner(new, "array<")
    return old_item is not None and new_item is not None and widens(old_item, new_item)


def _inner(glue_type: str, opening: str) -> str | None:
    if glue_type.startswith(opening) and glue_type.endswith(">"):
        return glue_type[len(opening) : -1]
    return None


def _struct_fields(glue_type: str) -> dict[str, str] | None:
    """``struct<a:bigint,b:decimal(9,2)>`` -> ``{"a": "bigint", "b": "decimal(9,2)"}``."""
    inner = _inner(glue_type, "struct<")
    if inner is None:
        return None
    fields: dict[str, str] = {}
    depth, start = 0, 0
    for index, char in enumerate(f"{inner},"):
        if char in "<(":
            depth += 1
        elif char in ">)":
            depth -= 1
        elif char == "," and depth == 0 and index > start:
            name, _, kind = inner[start:index].partition(":")
            fields[name] = kind
            start = index + 1
    return fields


class GlueCatalog:
    """Glue databases and tables through an injected boto3 Glue client."""

    def __init__(
        self,
        client: t.Any,
        *,
        partition_projection: bool = False,
        first_date: str | None = None,
    ) -> None:
        self.client = client
        self.partition_projection = partition_projection
        self.first_date = first_date or dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")

    def ensure_database(self, name: str) -> None:
        """Create the database when missing (already existing is fine)."""
        try:
            self.client.get_database(Name=name)
        except ClientError as error:
            if error_code(error) != "EntityNotFoundException":
                raise aws_error(
                    error, "glue:GetDatabase", f"database {name}", CatalogError
                ) from error
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

    def apply_table(self, definition: TableDefinition) -> None:
        """Create the table or evolve it (new columns appended), with optimistic retries."""
        resource = f"{definition.database}.{definition.name}"
        for attempt in range(_ATTEMPTS):
            try:
                existing = self._get_table(definition)
                if existing is None:
                    self._create(definition)
                else:
                    self._update(definition, existing)
            except ClientError as error:
                if error_code(error) in _RETRY and attempt < _ATTEMPTS - 1:
                    time.sleep(0.2 * 2**attempt)
                    continue
                raise aws_error(error, _action(error), resource, CatalogError) from error
            except BotoCoreError as error:
                raise aws_error(error, "glue:UpdateTable", resource, CatalogError) from error
            return

    def add_partitions(self, definition: TableDefinition, values: Sequence[str]) -> None:
        """Register ``dt`` partitions; existing ones are fine; nothing to do with projection."""
        if self.partition_projection or not values:
            return
        columns = glue_columns(definition.schema)
        partitions = [
            {
                "Values": [value],
                "StorageDescriptor": storage_descriptor(
                    columns, f"{definition.location}{PARTITION_KEY}={value}/"
                ),
            }
            for value in values
        ]
        resource = f"{definition.database}.{definition.name}"
        try:
            response = self.client.batch_create_partition(
                DatabaseName=definition.database,
                TableName=definition.name,
                PartitionInputList=partitions,
            )
        except (ClientError, BotoCoreError) as error:
            raise aws_error(error, "glue:BatchCreatePartition", resource, CatalogError) from error
        for failure in response.get("Errors", []):
            detail = failure.get("ErrorDetail", {})
            if detail.get("ErrorCode") != "AlreadyExistsException":
                raise CatalogError(
                    f"glue:BatchCreatePartition on {resource} {failure.get('PartitionValues')}: "
                    f"{detail.get('ErrorCode')}: {detail.get('ErrorMessage')}"
                )

    def close(self) -> None:
        """Nothing held open."""

    def _get_table(self, definition: TableDefinition) -> dict[str, t.Any] | None:
        try:
            table: dict[str, t.Any] = self.client.get_table(
                DatabaseName=definition.database, Name=definition.name
            )["Table"]
        except ClientError as error:
            if error_code(error) == "EntityNotFoundException":
                return None
            raise
        return table

    def _create(self, definition: TableDefinition) -> None:
        start = self.first_date if self.partition_projection else None
        self.client.create_table(
            DatabaseName=definition.database,
            TableInput=table_input(definition, projection_start=start),
        )

    def _update(self, definition: TableDefinition, existing: dict[str, t.Any]) -> None:
        resource = f"{definition.database}.{definition.name}"
        columns = merge_columns(
            resource, existing["StorageDescriptor"]["Columns"], glue_columns(definition.schema)
        )
        start = None
        if self.partition_projection:
            start = _projection_start(existing) or self.first_date
        wanted = table_input(definition, columns, projection_start=start)
        if _same(existing, wanted):
            return
        arguments: dict[str, t.Any] = {"DatabaseName": definition.database, "TableInput": wanted}
        if existing.get("VersionId"):
            arguments["VersionId"] = existing["VersionId"]
        self.client.update_table(**arguments)


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


def _action(error: ClientError) -> str:
    operation = error.operation_name or "UpdateTable"
    return f"glue:{operation}"
