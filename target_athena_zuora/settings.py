"""Typed, validated settings built once from the config dict."""

from __future__ import annotations

import contextlib
import decimal
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from target_athena_zuora.errors import ConfigError

COMPRESSIONS = ("snappy", "zstd", "gzip", "none")
TIMESTAMP_PRECISIONS = ("ms", "us")
AUTH_METHODS = ("role", "access_key", "default")
SSE_MODES = ("none", "AES256", "aws:kms")
_DECIMAL = re.compile(r"^decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)$")
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
_MAX_DECIMAL_PRECISION = 38


@dataclass(frozen=True)
class Decimal:
    """A configured ``decimal(precision,scale)`` for JSON ``number``."""

    precision: int
    scale: int


@dataclass(frozen=True)
class Settings:
    """Everything the target needs from its config, checked across fields."""

    local_path: str = "output"
    schema: str = "zuora"
    compression: str = "snappy"
    timestamp_precision: str = "ms"
    number_type: Decimal | None = None
    part_size_mb: int = 128
    bucket: str | None = None
    region: str | None = None
    database: str = "zuora"
    workgroup: str = "primary"
    auth_method: str = "default"
    role_arn: str | None = None
    external_id: str | None = field(default=None, repr=False)  # secret
    role_session_name: str = "target-athena-zuora"
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = field(default=None, repr=False)  # secret
    aws_session_token: str | None = field(default=None, repr=False)  # secret
    aws_account_id: str | None = None
    trusted_principal: str | None = None
    endpoint_url: str | None = None
    sse: str = "none"
    kms_key_id: str | None = None
    partition_projection: bool = False
    flush_idle_seconds: float = 30.0
    flush_max_minutes: float = 5.0
    current_views: bool = True
    aws_connect_timeout_seconds: float = 5.0
    aws_read_timeout_seconds: float = 10.0
    aws_max_attempts: int = 4

    @property
    def on_aws(self) -> bool:
        """True when a bucket is configured (S3 + Glue), false for the embedded default."""
        return self.bucket is not None

    @property
    def flush_max_seconds(self) -> float:
        """``flush_max_minutes`` in seconds."""
        return self.flush_max_minutes * 60

    @property
    def part_size_bytes(self) -> int:
        """Parquet bytes after which an open part is closed."""
        return self.part_size_mb * 1024 * 1024

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        """Build and check settings; raises ``ConfigError`` naming the setting at fault."""
        schema = str(config.get("schema") or "zuora")
        _check_identifier("schema", schema)
        database = str(config.get("database") or schema)
        settings = cls(
            local_path=str(config.get("local_path") or "output"),
            schema=schema,
            compression=_choice(config, "compression", COMPRESSIONS, "snappy"),
            timestamp_precision=_choice(config, "timestamp_precision", TIMESTAMP_PRECISIONS, "ms"),
            number_type=_number_type(config.get("number_type")),
            part_size_mb=_positive_int(config, "part_size_mb", 128),
            bucket=_optional(config, "bucket"),
            region=_optional(config, "region"),
            database=database,
            workgroup=str(config.get("workgroup") or "primary"),
            auth_method=_auth_method(config),
            role_arn=_optional(config, "role_arn"),
            external_id=_optional(config, "external_id"),
            role_session_name=str(config.get("role_session_name") or "target-athena-zuora"),
            aws_access_key_id=_optional(config, "aws_access_key_id"),
            aws_secret_access_key=_optional(config, "aws_secret_access_key"),
            aws_session_token=_optional(config, "aws_session_token"),
            aws_account_id=_optional(config, "aws_account_id"),
            trusted_principal=_optional(config, "trusted_principal"),
            endpoint_url=_optional(config, "endpoint_url"),
            sse=_choice(config, "sse", SSE_MODES, "none"),
            kms_key_id=_optional(config, "kms_key_id"),
            partition_projection=bool(config.get("partition_projection", False)),
            flush_idle_seconds=_positive_number(config, "flush_idle_seconds", 30.0),
            flush_max_minutes=_positive_number(config, "flush_max_minutes", 5.0),
            current_views=config.get("current_views", True) is not False,
            aws_connect_timeout_seconds=_positive_number(
                config, "aws_connect_timeout_seconds", 5.0
            ),
            aws_read_timeout_seconds=_positive_number(config, "aws_read_timeout_seconds", 10.0),
            aws_max_attempts=_positive_int(config, "aws_max_attempts", 4),
        )
        settings._check_auth()
        if config.get("load_method") not in (None, "", "append-only"):
            msg = (
                f"setting 'load_method' is {config.get('load_method')!r}; parts are insert-only "
                "(object storage, as in the Zuora connector), so only 'append-only' is supported"
            )
            raise ConfigError(msg)
        if settings.sse == "aws:kms" and not settings.kms_key_id:
            msg = "setting 'sse' is 'aws:kms' but 'kms_key_id' is not set"
            raise ConfigError(msg)
        return settings

    def _check_auth(self) -> None:
        if self.auth_method == "role" and not self.role_arn:
            msg = "auth_method 'role' needs 'role_arn' (and usually 'external_id')"
            raise ConfigError(msg)
        if self.auth_method == "access_key" and not (
            self.aws_access_key_id and self.aws_secret_access_key
        ):
            msg = "auth_method 'access_key' needs 'aws_access_key_id' and 'aws_secret_access_key'"
            raise ConfigError(msg)


def _optional(config: Mapping[str, Any], name: str) -> str | None:
    value = config.get(name)
    return None if value in (None, "") else str(value)


def _choice(config: Mapping[str, Any], name: str, allowed: tuple[str, ...], default: str) -> str:
    value = config.get(name)
    if value in (None, ""):
        return default
    if value not in allowed:
        msg = f"setting '{name}' is {value!r}; expected one of {', '.join(allowed)}"
        raise ConfigError(msg)
    return str(value)


def _positive_int(config: Mapping[str, Any], name: str, default: int) -> int:
    value = config.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        msg = f"setting '{name}' is {value!r}; expected a positive integer"
        raise ConfigError(msg)
    return value


def _positive_number(config: Mapping[str, Any], name: str, default: float) -> float:
    """A positive number, also when written as a string (``"0.5"``: Meltano passes strings)."""
    value = config.get(name, default)
    if value in (None, ""):
        return default
    if isinstance(value, str):
        with contextlib.suppress(ValueError):  # else refused below, naming the value as given
            value = float(value)
    number = isinstance(value, int | float | decimal.Decimal) and not isinstance(value, bool)
    if not number or not value > 0:  # NaN is not > 0 either
        msg = f"setting '{name}' is {value!r}; expected a positive number (fractions allowed)"
        raise ConfigError(msg)
    return float(value)


def _check_identifier(name: str, value: str) -> None:
    if not _IDENTIFIER.match(value):
        msg = (
            f"setting '{name}' is {value!r}; Athena and Glue need lower snake_case "
            "([a-z0-9_], not starting with a digit)"
        )
        raise ConfigError(msg)


def _number_type(value: object) -> Decimal | None:
    if value in (None, "", "double"):
        return None
    match = _DECIMAL.match(str(value).strip().lower())
    if not match:
        msg = f"setting 'number_type' is {value!r}; expected 'double' or 'decimal(P,S)'"
        raise ConfigError(msg)
    precision, scale = int(match.group(1)), int(match.group(2))
    if not 1 <= precision <= _MAX_DECIMAL_PRECISION or scale > precision:
        msg = (
            f"setting 'number_type' is {value!r}; decimal(P,S) needs "
            f"1 <= P <= {_MAX_DECIMAL_PRECISION} and S <= P"
        )
        raise ConfigError(msg)
    return Decimal(precision, scale)


def _auth_method(config: Mapping[str, Any]) -> str:
    explicit = config.get("auth_method")
    if explicit not in (None, ""):
        return _choice(config, "auth_method", AUTH_METHODS, "default")
    if config.get("role_arn"):
        return "role"
    if config.get("aws_access_key_id"):
        return "access_key"
    return "default"
