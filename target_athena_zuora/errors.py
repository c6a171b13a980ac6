"""One error hierarchy: every failure the target reports on purpose is a ``TargetError``.

Messages say what, where and what to do; they never contain secret values.
"""

from __future__ import annotations

from singer_sdk.exceptions import MissingKeyPropertiesError, RecordsWithoutSchemaException


class TargetError(Exception):
    """Base of every error the target reports as a one-line message."""


class ConfigError(TargetError):
    """The configuration is invalid or inconsistent."""


class InputError(TargetError):
    """A Singer message is malformed or arrives out of order."""


class SchemaError(TargetError):
    """A SCHEMA message cannot be mapped to an Arrow schema, or evolves incompatibly."""


class RecordError(TargetError):
    """A RECORD does not fit its stream's declared schema."""


class RecordBeforeSchemaError(InputError, RecordsWithoutSchemaException):
    """A RECORD arrived before its stream's SCHEMA (also the SDK's exception for it)."""


class MissingKeyError(RecordError, MissingKeyPropertiesError):
    """A record lacks a key property (also the SDK's exception for it)."""


class StorageError(TargetError):
    """Writing a part to the destination failed."""


class KeyExistsError(StorageError):
    """The key already exists; parts are never overwritten."""


class CatalogError(TargetError):
    """Applying a table definition to the catalog failed."""


def first_line(error: BaseException) -> str:
    """The first non-blank line of ``error``'s message, or its type's name: library messages
    may run over several lines (a body, a traceback, the input quoted)."""
    for line in str(error).splitlines():
        if line.strip():
            return line.strip()
    return type(error).__name__


def where(stream: str | None = None, field: str | None = None, line: int | None = None) -> str:
    """Render the location prefix shared by input errors: ``stream X, field Y, input line N``."""
    parts = []
    if stream is not None:
        parts.append(f"stream {stream}")
    if field is not None:
        parts.append(f"field {field}")
    if line is not None:
        parts.append(f"input line {line}")
    return ", ".join(parts)
