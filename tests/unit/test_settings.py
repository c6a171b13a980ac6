"""Settings built once from the config; a bad value is a ConfigError naming the setting."""

from __future__ import annotations

from decimal import Decimal as DecimalNumber
from typing import Any

import pytest

from target_athena_zuora.errors import ConfigError
from target_athena_zuora.settings import Decimal, Settings


def test_defaults() -> None:
    settings = Settings.from_config({})
    assert settings.local_path == "output"
    assert settings.schema == "zuora"
    assert settings.compression == "snappy"
    assert settings.timestamp_precision == "ms"
    assert settings.number_type is None
    assert settings.part_size_mb == 128
    assert settings.part_size_bytes == 128 * 1024 * 1024
    assert settings.on_aws is False
    assert settings.database == "zuora"


@pytest.mark.parametrize(
    ("config", "attribute", "expected"),
    [
        ({"local_path": "/data/out"}, "local_path", "/data/out"),
        ({"schema": "billing"}, "schema", "billing"),
        ({"schema": "billing"}, "database", "billing"),
        ({"compression": "zstd"}, "compression", "zstd"),
        ({"compression": "none"}, "compression", "none"),
        ({"compression": "gzip"}, "compression", "gzip"),
        ({"timestamp_precision": "us"}, "timestamp_precision", "us"),
        ({"number_type": "double"}, "number_type", None),
        ({"number_type": "decimal(18,2)"}, "number_type", Decimal(18, 2)),
        ({"number_type": "DECIMAL( 38 , 9 )"}, "number_type", Decimal(38, 9)),
        ({"number_type": "decimal(1,0)"}, "number_type", Decimal(1, 0)),
        ({"part_size_mb": 1}, "part_size_mb", 1),
        ({"bucket": "b"}, "on_aws", True),
        ({"flush_idle_seconds": 0.5}, "flush_idle_seconds", 0.5),
        ({"flush_idle_seconds": "0.5"}, "flush_idle_seconds", 0.5),  # Meltano passes strings
        ({"flush_max_minutes": DecimalNumber("0.01")}, "flush_max_seconds", 0.6),
        ({"flush_max_minutes": 2}, "flush_max_seconds", 120.0),
        ({"aws_read_timeout_seconds": "2.5"}, "aws_read_timeout_seconds", 2.5),
        ({"aws_max_attempts": 2}, "aws_max_attempts", 2),
        ({"current_views": False}, "current_views", False),
    ],
    ids=lambda v: str(v) if not isinstance(v, dict) else "-".join(f"{k}={w}" for k, w in v.items()),
)
def test_values(config: dict[str, Any], attribute: str, expected: Any) -> None:
    assert getattr(Settings.from_config(config), attribute) == expected


@pytest.mark.parametrize(
    ("config", "named"),
    [
        ({"schema": "Zuora"}, "schema"),
        ({"schema": "1zuora"}, "schema"),
        ({"schema": "zu-ora"}, "schema"),
        ({"compression": "lz4"}, "compression"),
        ({"timestamp_precision": "ns"}, "timestamp_precision"),
        ({"timestamp_precision": "s"}, "timestamp_precision"),
        ({"number_type": "float"}, "number_type"),
        ({"number_type": "decimal(39,2)"}, "number_type"),
        ({"number_type": "decimal(0,0)"}, "number_type"),
        ({"number_type": "decimal(5,6)"}, "number_type"),
        ({"number_type": "decimal(18)"}, "number_type"),
        ({"part_size_mb": 0}, "part_size_mb"),
        ({"part_size_mb": -5}, "part_size_mb"),
        ({"part_size_mb": 1.5}, "part_size_mb"),
        ({"part_size_mb": True}, "part_size_mb"),
        ({"part_size_mb": "128"}, "part_size_mb"),
        ({"auth_method": "password"}, "auth_method"),
        ({"auth_method": "role"}, "role_arn"),
        ({"auth_method": "access_key", "aws_access_key_id": "AKIA"}, "aws_secret_access_key"),
        ({"sse": "aws:kms"}, "kms_key_id"),
        ({"flush_idle_seconds": 0}, "flush_idle_seconds"),
        ({"flush_idle_seconds": "soon"}, "flush_idle_seconds"),
        ({"flush_max_minutes": -1}, "flush_max_minutes"),
        ({"flush_max_minutes": "nan"}, "flush_max_minutes"),
        ({"aws_connect_timeout_seconds": True}, "aws_connect_timeout_seconds"),
        ({"aws_max_attempts": 0}, "aws_max_attempts"),
    ],
    ids=lambda v: v if isinstance(v, str) else "-".join(f"{k}={w}" for k, w in v.items()),
)
def test_invalid_is_a_config_error_naming_the_setting(config: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_config(config)
    assert named in str(raised.value)


def test_secrets_never_in_messages() -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_config({"auth_method": "access_key", "aws_access_key_id": "AKIASECRETVALUE1"})
    assert "AKIASECRETVALUE1" not in str(raised.value)


def test_settings_are_frozen() -> None:
    settings = Settings.from_config({})
    with pytest.raises(AttributeError):
        settings.schema = "other"  # type: ignore[misc]
