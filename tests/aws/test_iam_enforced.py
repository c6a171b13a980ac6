"""The printed IAM policies, enforced: a moto server with IAM access control on (its own
process, as moto's switch is process-wide) where the target runs as a user that can only
assume a role whose policies are exactly what ``--print-iam-policy`` prints.

moto evaluates S3 resources but checks Glue and Athena calls against the resource ``*``, so
those statements are widened to ``*`` here: for them the test proves the actions, for S3 the
actions and the resources.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import boto3
import pyarrow as pa
import pytest

from target_athena_zuora import checks, iam
from target_athena_zuora.aws import build_aws_destination
from target_athena_zuora.catalog import TableDefinition
from target_athena_zuora.errors import TargetError
from target_athena_zuora.settings import Settings

pytestmark = pytest.mark.aws

ACCOUNT = "123456789012"
REGION = "us-east-1"
# Actions moto cannot show to be needed: Athena writes its results with the caller's S3
# permissions in AWS, moto's Athena writes nothing; HeadObject on a missing key answers 404
# only with s3:ListBucket in AWS, moto answers 404 regardless.
NOT_PROVABLE_HERE = {
    "s3:GetBucketLocation",
    "s3:ListBucket",
    "s3:ListBucketMultipartUploads",
    "s3:ListMultipartUploadParts",
    "s3:AbortMultipartUpload",
}


@pytest.fixture(scope="module")
def enforcing_moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A moto server process; IAM enforcement is switched on per test by ``identity``."""
    with __import__("socket").socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tmp_path_factory.mktemp("moto-iam") / "moto.log"
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        _wait(endpoint, process, log)
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait(endpoint: str, process: subprocess.Popen[bytes], log: Path) -> None:
    for _ in range(300):
        if process.poll() is not None:
            raise RuntimeError(log.read_text())
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1)  # noqa: S310 - local
        except OSError:
            __import__("time").sleep(0.1)
        else:
            return
    raise RuntimeError(f"moto did not start: {log.read_text()}")


def set_enforcement(endpoint: str, *, on: bool) -> None:
    """moto's switch: authenticate and authorize every request from now on (or none)."""
    request = urllib.request.Request(  # noqa: S310 - the local emulator
        f"{endpoint}/moto-api/reset-auth",
        data=b"0" if on else b"inf",
        method="POST",
        headers={"Content-Type": "text/plain"},
    )
    with urllib.request.urlopen(request, timeout=5):  # noqa: S310
        pass


@dataclass(frozen=True)
class Identity:
    """The user the target runs as, and the config naming the role it assumes."""

    access_key: str
    secret_key: str
    config: dict[str, Any]

    def settings(self, **overrides: Any) -> Settings:
        return Settings.from_config({**self.config, **overrides})


def widened(policy: dict[str, Any]) -> dict[str, Any]:
    """The access policy with Glue/Athena resources as ``*`` (see the module docstring)."""
    statements = []
    for statement in policy["Statement"]:
        if any(a.startswith(("glue:", "athena:")) for a in statement["Action"]):
            statements.append({**statement, "Resource": "*"})
        else:
            statements.append(statement)
    return {**policy, "Statement": statements}


def create_identity(endpoint: str, drop: str | None = None) -> Identity:
    """Bucket, role (trust + access policy as printed, minus ``drop``), and a user allowed
    only to assume it; then IAM enforcement on."""
    set_enforcement(endpoint, on=False)
    admin: dict[str, Any] = {"endpoint_url": endpoint, "region_name": REGION}
    suffix = uuid.uuid4().hex[:8]
    user, role = f"syncer-{suffix}", f"zuora-sync-{suffix}"
    config = {
        "bucket": f"b-{suffix}",
        "region": REGION,
        "endpoint_url": endpoint,
        "schema": f"zuora_{suffix}",
        "role_arn": f"arn:aws:iam::{ACCOUNT}:role/{role}",
        "external_id": f"ext-{uuid.uuid4().hex}",
        "trusted_principal": f"arn:aws:iam::{ACCOUNT}:user/{user}",
    }
    documents = iam.policy_documents(Settings.from_config(config))
    access = widened(documents["access_policy"])
    if drop is not None:
        for statement in access["Statement"]:
            statement["Action"] = [a for a in statement["Action"] if a != drop]
        access["Statement"] = [s for s in access["Statement"] if s["Action"]]
    boto3.client("s3", **admin).create_bucket(Bucket=config["bucket"])
    client = boto3.client("iam", **admin)
    client.create_role(
        RoleName=role, AssumeRolePolicyDocument=json.dumps(documents["trust_policy"])
    )
    client.put_role_policy(RoleName=role, PolicyName="access", PolicyDocument=json.dumps(access))
    client.create_user(UserName=user)
    assume = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": config["role_arn"]}
        ],
    }
    client.put_user_policy(UserName=user, PolicyName="assume", PolicyDocument=json.dumps(assume))
    key = client.create_access_key(UserName=user)["AccessKey"]
    set_enforcement(endpoint, on=True)
    return Identity(key["AccessKeyId"], key["SecretAccessKey"], config)


@pytest.fixture
def as_user(monkeypatch: pytest.MonkeyPatch, enforcing_moto: str) -> Iterator[Any]:
    """``as_user(drop=None)``: an identity whose keys are the environment's base credentials."""

    def make(drop: str | None = None) -> Identity:
        identity = create_identity(enforcing_moto, drop)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", identity.access_key)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", identity.secret_key)
        return identity

    yield make
    set_enforcement(enforcing_moto, on=False)


def run_everything(settings: Settings, scratch: Path) -> list[str]:
    """The connection test, then what a run does: a part, a table created and evolved, a
    partition, a current view published (through Athena) and dropped when the table's keys
    go. Returns the connection test's lines; raises the run's first error."""
    lines: list[str] = []
    checks.run_connection_test(settings, out=lines.append)
    storage, catalog = build_aws_destination(settings)
    source = scratch / f"{uuid.uuid4().hex}.parquet"
    source.write_bytes(b"PAR1 not really PAR1")
    key = f"{settings.schema}/invoice/dt=2024-01-31/0_20240131120000.parquet"
    assert not storage.exists(key)
    storage.create(key, source)
    assert storage.exists(key)
    location = storage.uri(f"{settings.schema}/invoice/")
    v1 = TableDefinition(settings.schema, "invoice", location, pa.schema([("id", pa.string())]))
    v2 = TableDefinition(
        settings.schema, "invoice", location, pa.schema([*v1.schema, ("n", pa.int64())])
    )
    catalog.ensure_database(settings.schema)
    catalog.apply_table(v1)
    catalog.add_partitions(v1, ["2024-01-31"])
    catalog.apply_table(v2)  # columns change: the partition is brought up to the table
    catalog.add_partitions(v2, ["2024-01-31"])  # registered already: checked, left alone
    keyed = replace(v2, key_properties=("id",))
    catalog.apply_table(keyed)
    catalog.publish()  # CREATE OR REPLACE VIEW through Athena, the SQL's marker in Glue
    catalog.apply_table(replace(keyed, key_properties=()))
    catalog.publish()  # keys gone: the view (moto runs no SQL: none made) and the marker go
    return lines


def test_the_printed_policies_are_enough(as_user: Any, tmp_path: Path) -> None:
    identity = as_user()
    lines = run_everything(identity.settings(), tmp_path)
    assert all(line.startswith("ok") for line in lines), lines
    assert len(lines) == 4, lines


def test_the_external_id_is_required(as_user: Any, tmp_path: Path) -> None:
    identity = as_user()
    lines: list[str] = []
    wrong = identity.settings(external_id="not-the-external-id")
    assert checks.run_connection_test(wrong, out=lines.append) == 1
    assert lines[0].startswith("failed"), lines
    assert "AssumeRole" in lines[0], lines
    assert "not-the-external-id" not in "\n".join(lines)


@pytest.mark.parametrize("action", sorted(iam.used_actions() - NOT_PROVABLE_HERE), ids=str)
def test_every_action_is_needed_and_named_when_missing(
    as_user: Any, tmp_path: Path, action: str
) -> None:
    identity = as_user(drop=action)
    try:
        lines = run_everything(identity.settings(), tmp_path)
    except TargetError as error:
        failures = [str(error)]
    else:
        failures = [line for line in lines if not line.startswith("ok")]
    assert failures, f"nothing failed without {action}"
    assert any(action in failure for failure in failures), failures


def test_policy_lists_exactly_the_used_actions() -> None:
    settings = Settings.from_config(
        {"bucket": "b", "role_arn": f"arn:aws:iam::{ACCOUNT}:role/r", "external_id": "e"}
    )
    documents = json.loads(json.dumps(iam.policy_documents(settings)))  # plain JSON
    listed = {a for s in documents["access_policy"]["Statement"] for a in s["Action"]}
    assert listed == iam.used_actions()
    (trust,) = documents["trust_policy"]["Statement"]
    assert trust["Action"] == "sts:AssumeRole"
    assert trust["Condition"] == {"StringEquals": {"sts:ExternalId": "e"}}
    assert os.environ.get("AWS_EC2_METADATA_DISABLED") == "true"
