"""``--test``: the connection test to run before the first transfer.

One line per check, ``ok`` or ``failed`` with what to fix; exit 0 only when all pass.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from botocore.exceptions import BotoCoreError, ClientError, NoRegionError

from target_athena_zuora.aws import Clients, athena_output
from target_athena_zuora.aws_errors import ACCESS_DENIED, error_code
from target_athena_zuora.catalog.athena import Athena
from target_athena_zuora.errors import TargetError
from target_athena_zuora.settings import Settings

# IAM actions this module calls, plus those Athena calls on our behalf to write results.
IAM_ACTIONS = (
    "s3:PutObject",
    "s3:GetObject",
    "s3:DeleteObject",
    "s3:GetBucketLocation",
    "s3:ListBucket",
    "s3:ListBucketMultipartUploads",
    "s3:ListMultipartUploadParts",
    "s3:AbortMultipartUpload",
    "glue:GetDatabase",
    "glue:CreateDatabase",
    "athena:StartQueryExecution",
    "athena:GetQueryExecution",
    "glue:DeleteTable",  # drops the probe view (only views named *_current; iam.py)
)
ATHENA_TIMEOUT_S = 60.0
# With current_views, the Athena check creates (and drops) a view as the runs do: it needs
# what Athena needs for that (Glue on the database, S3 for its results), not just SELECT 1.
PROBE_VIEW = "target_athena_zuora_probe_current"


def run_connection_test(settings: Settings, out: Callable[[str], None] = print) -> int:
    """Run every check, print one line each; 0 when all pass."""
    if not settings.bucket:
        out("failed: no bucket configured — set 'bucket' (the embedded default needs no test)")
        return 1
    try:
        clients = Clients(settings)
    except TargetError as error:
        out(f"failed: credentials — {error}")
        return 1
    checks: list[tuple[str, Callable[[Clients, Settings], str]]] = [
        ("credentials", _credentials),
        ("s3 write/read/delete", _probe_object),
        ("glue database", _database),
        ("athena query", _athena),
    ]
    failures = 0
    for name, check in checks:
        try:
            out(f"ok: {name} — {check(clients, settings)}")
        except (TargetError, ClientError, BotoCoreError) as error:
            failures += 1
            out(f"failed: {name} — {_explain(error)}")
    return 1 if failures else 0


def _credentials(clients: Clients, settings: Settings) -> str:
    identity = clients.client("sts").get_caller_identity()
    return f"{settings.auth_method} auth as {identity['Arn']}"


def _probe_object(clients: Clients, settings: Settings) -> str:
    s3 = clients.client("s3")
    key = f"{settings.schema}/_target_athena_zuora_probe_{uuid.uuid4().hex}"
    body = b"target-athena-zuora connection test"
    s3.put_object(Bucket=settings.bucket, Key=key, Body=body, IfNoneMatch="*")
    try:
        read = s3.get_object(Bucket=settings.bucket, Key=key)["Body"].read()
    finally:
        s3.delete_object(Bucket=settings.bucket, Key=key)
    if read != body:
        raise TargetError(f"s3://{settings.bucket}/{key} read back different bytes")
    return f"s3://{settings.bucket}/{settings.schema}/"


def _database(clients: Clients, settings: Settings) -> str:
    from target_athena_zuora.catalog.glue import GlueCatalog  # noqa: PLC0415

    GlueCatalog(clients.client("glue")).ensure_database(settings.schema)
    return f"{settings.schema} exists"


def _athena(clients: Clients, settings: Settings) -> str:
    output = athena_output(settings)
    athena = Athena(
        clients.client("athena"), settings.workgroup, output, wait_seconds=ATHENA_TIMEOUT_S
    )
    where = f"in workgroup {settings.workgroup}, results under {output}"
    if not settings.current_views:
        athena.run("SELECT 1", "SELECT 1")
        return f"SELECT 1 {where}"
    name = f"{settings.schema}.{PROBE_VIEW}"
    athena.run(
        f'CREATE OR REPLACE VIEW "{settings.schema}"."{PROBE_VIEW}" AS SELECT 1 AS "probe"',
        f"CREATE OR REPLACE VIEW {name}",
        settings.schema,
    )
    try:
        clients.client("glue").delete_table(DatabaseName=settings.schema, Name=PROBE_VIEW)
    except ClientError as error:
        if error_code(error) != "EntityNotFoundException":
            raise
    return f"view {name} created and dropped {where}"


def _explain(error: Exception) -> str:
    if isinstance(error, TargetError) and isinstance(error.__cause__, ClientError | NoRegionError):
        error = error.__cause__  # an AWS call's error: explained with its IAM action and hint
    if isinstance(error, NoRegionError):
        return "no AWS region: set 'region' (the bucket's region) or AWS_REGION"
    if not isinstance(error, ClientError):
        return str(error)
    operation = error.operation_name
    action = next(
        (a for a in (*IAM_ACTIONS, "sts:AssumeRole") if a.endswith(f":{operation}")), operation
    )
    code = error_code(error)
    if code in ACCESS_DENIED and action == "sts:AssumeRole":
        return (
            "sts:AssumeRole: access denied — the role's trust policy must allow this identity "
            "with this external_id (trust_policy of --print-iam-policy)"
        )
    if code in ACCESS_DENIED:
        return f"{action}: access denied — grant {action} (see --print-iam-policy)"
    message = error.response.get("Error", {}).get("Message", "")
    hint = {
        "NoSuchBucket": "create the bucket or fix 'bucket'/'region'",
        "InvalidRequestException": "check 'workgroup' and 'database'",
        "InvalidClientTokenId": "check the access key or base credentials",
        "SignatureDoesNotMatch": "check the secret key",
    }.get(code, "see the AWS message")
    return f"{action}: {code}: {message} — {hint}"
