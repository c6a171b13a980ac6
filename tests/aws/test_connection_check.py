"""``--test`` and ``--print-iam-policy`` through the CLI, against moto's server."""

from __future__ import annotations

import json
from typing import Any

import pytest

from target_athena_zuora.iam import policy_documents, used_actions
from target_athena_zuora.settings import Settings

pytestmark = pytest.mark.aws

SECRET = "sEcReT/only-in-config+0123456789abcdef"  # noqa: S105 - a fake credential
EXTERNAL_ID = "ext-only-in-config-0123456789"


def lines_of(result: Any) -> list[str]:
    return [line for line in result.stdout if line.strip()]


def test_passes_with_one_ok_line_per_check(run_cli: Any, aws_config: dict[str, Any]) -> None:
    config = {**aws_config, "aws_access_key_id": "AKIATEST", "aws_secret_access_key": SECRET}
    result = run_cli([], config=config, extra_args=["--test"])
    assert result.returncode == 0, [*result.stdout, result.stderr]
    lines = lines_of(result)
    assert len(lines) == 4, lines
    assert all(line.startswith("ok: ") for line in lines), lines
    database = aws_config["schema"]
    assert any(f"s3://{aws_config['bucket']}/{database}/" in line for line in lines), lines
    assert any(f"s3://{aws_config['bucket']}/{database}/athena_output/" in line for line in lines)
    assert SECRET not in result.stderr + "\n".join(result.stdout)


def test_creates_the_glue_database_and_leaves_no_probe(
    run_cli: Any, aws_config: dict[str, Any], aws: Any
) -> None:
    result = run_cli([], config=aws_config, extra_args=["--test"])
    assert result.returncode == 0, result.stdout
    assert aws("glue").get_database(Name=aws_config["schema"])["Database"]["Name"]
    assert aws("s3").list_objects_v2(Bucket=aws_config["bucket"]).get("KeyCount", 0) == 0


def test_fails_on_a_missing_bucket_and_says_what_to_fix(
    run_cli: Any, aws_config: dict[str, Any]
) -> None:
    config = {**aws_config, "bucket": "no-such-bucket-here"}
    result = run_cli([], config=config, extra_args=["--test"])
    assert result.returncode == 1
    failed = [line for line in lines_of(result) if line.startswith("failed")]
    assert failed, result.stdout
    assert any("NoSuchBucket" in line and "'bucket'" in line for line in failed), failed
    assert "Traceback" not in result.stderr


def test_fails_on_a_missing_workgroup(run_cli: Any, aws_config: dict[str, Any]) -> None:
    config = {**aws_config, "workgroup": "no_such_workgroup"}
    result = run_cli([], config=config, extra_args=["--test"])
    assert result.returncode == 1
    (failed,) = [line for line in lines_of(result) if line.startswith("failed")]
    assert "athena" in failed and "workgroup" in failed, failed


def test_fails_without_a_bucket(run_cli: Any) -> None:
    result = run_cli([], config={}, extra_args=["--test"])
    assert result.returncode == 1
    assert any("bucket" in line for line in lines_of(result)), result.stdout


def test_role_auth_shows_the_assumed_identity_and_hides_the_external_id(
    run_cli: Any, aws_config: dict[str, Any]
) -> None:
    config = {
        **aws_config,
        "role_arn": "arn:aws:iam::123456789012:role/zuora-sync",
        "external_id": EXTERNAL_ID,
    }
    result = run_cli([], config=config, extra_args=["--test"])
    assert result.returncode == 0, result.stdout
    assert any("assumed-role/zuora-sync/target-athena-zuora" in x for x in result.stdout)
    assert EXTERNAL_ID not in result.stderr + "\n".join(result.stdout)


def test_print_iam_policy_prints_the_documents(run_cli: Any, aws_config: dict[str, Any]) -> None:
    config = {
        **aws_config,
        "role_arn": "arn:aws:iam::210987654321:role/zuora-sync",
        "external_id": EXTERNAL_ID,
    }
    result = run_cli([], config=config, extra_args=["--print-iam-policy"])
    assert result.returncode == 0, result.stderr
    printed = json.loads("\n".join(result.stdout))
    assert printed == json.loads(json.dumps(policy_documents(Settings.from_config(config))))
    statements = printed["access_policy"]["Statement"]
    assert {a for s in statements for a in s["Action"]} == used_actions()
    resources = {r for s in statements for r in s["Resource"]}
    assert f"arn:aws:s3:::{aws_config['bucket']}" in resources
    assert f"arn:aws:glue:us-east-1:210987654321:table/{aws_config['schema']}/*" in resources
    assert "arn:aws:athena:us-east-1:210987654321:workgroup/primary" in resources
    assert not any(r == "*" for r in resources)
    (trust,) = printed["trust_policy"]["Statement"]
    assert trust["Condition"] == {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}}


def test_fails_without_a_region_and_says_so(
    run_cli: Any, aws_config: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    config = {k: v for k, v in aws_config.items() if k != "region"}
    result = run_cli([], config=config, extra_args=["--test"])
    assert result.returncode == 1
    failed = [line for line in lines_of(result) if line.startswith("failed")]
    assert failed, result.stdout
    assert all("set 'region'" in line for line in failed), failed
