"""Secret values (secret key, session token, external id) appear in no log line, error or
summary — also at ``LOGLEVEL=DEBUG``, where the AWS libraries would print request headers
and bodies."""

from __future__ import annotations

from typing import Any

import pytest

from target_athena_zuora.settings import Settings

pytestmark = pytest.mark.aws

SECRETS = {
    "aws_secret_access_key": "sEcReT-KeY/0123456789abcdefghij+klm",
    "aws_session_token": "SeSsIoN-ToKeN-0123456789abcdefghijklmn",
    "external_id": "eXtErNaL-iD-0123456789abcdef",
}
LINES = [
    {
        "type": "SCHEMA",
        "stream": "Invoice",
        "key_properties": ["Id"],
        "schema": {"type": "object", "properties": {"Id": {"type": "string"}}},
    },
    {"type": "RECORD", "stream": "Invoice", "record": {"Id": "a"}},
    {"type": "STATE", "value": {"n": 1}},
]


def assert_no_secret(result: Any) -> None:
    output = result.stderr + "\n".join(result.stdout)
    for name, value in SECRETS.items():
        assert value not in output, f"{name} printed"


@pytest.mark.parametrize("auth_method", ["role", "access_key"])
def test_debug_logs_carry_no_secret(
    run_cli: Any, aws_config: dict[str, Any], monkeypatch: pytest.MonkeyPatch, auth_method: str
) -> None:
    monkeypatch.setenv("LOGLEVEL", "DEBUG")
    config = {
        **aws_config,
        **SECRETS,
        "auth_method": auth_method,
        "aws_access_key_id": "AKIATESTKEYID0000001",
        "role_arn": "arn:aws:iam::123456789012:role/zuora-sync",
    }
    result = run_cli(LINES, config=config)
    assert result.returncode == 0, result.stderr
    assert "DEBUG" in result.stderr  # the level took effect
    assert_no_secret(result)
    tested = run_cli([], config=config, extra_args=["--test"])
    assert tested.returncode == 0, tested.stdout
    assert_no_secret(tested)


def test_a_failing_run_names_no_secret(run_cli: Any, aws_config: dict[str, Any]) -> None:
    config = {**aws_config, **SECRETS, "bucket": "no-such-bucket-here"}
    result = run_cli(LINES, config=config)
    assert result.returncode != 0
    assert any("no-such-bucket-here" in line for line in result.error_lines), result.stderr
    assert_no_secret(result)


def test_settings_repr_hides_secrets() -> None:
    settings = Settings.from_config({"bucket": "b", "aws_access_key_id": "AKIA1", **SECRETS})
    for value in SECRETS.values():
        assert value not in repr(settings)
    assert settings.external_id == SECRETS["external_id"]
