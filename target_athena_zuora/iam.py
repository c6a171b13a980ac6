"""``--print-iam-policy``: the least-privilege access policy and the role's trust policy.

The actions come from the lists each module keeps next to its AWS calls, so the policy
names every action the target calls and nothing more.
"""

from __future__ import annotations

import re
import typing as t

from target_athena_zuora import checks
from target_athena_zuora.catalog import athena, glue
from target_athena_zuora.errors import ConfigError
from target_athena_zuora.settings import Settings
from target_athena_zuora.storage import s3

_ACCOUNT = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):")
_BUCKET_LEVEL = {"s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"}


def used_actions(*, current_views: bool = True) -> set[str]:
    """Every IAM action the target calls (or Athena calls for it: query results in S3, and
    for current views the Glue actions of ``CREATE OR REPLACE VIEW``, which the target's own
    Glue actions already cover); without ``current_views``, none only views need."""
    actions = {*s3.IAM_ACTIONS, *glue.IAM_ACTIONS, *athena.IAM_ACTIONS, *checks.IAM_ACTIONS}
    if current_views:
        actions.update(glue.VIEW_IAM_ACTIONS)
    else:
        actions.difference_update(glue.VIEW_IAM_ACTIONS)
    return actions


def policy_documents(settings: Settings) -> dict[str, t.Any]:
    """``{"access_policy": ..., "trust_policy": ...}`` for the configured bucket and role."""
    if not settings.bucket:
        raise ConfigError("--print-iam-policy needs 'bucket'")
    account = _account(settings)
    region = settings.region or "*"
    actions = used_actions(current_views=settings.current_views)
    bucket = f"arn:aws:s3:::{settings.bucket}"
    view_actions = sorted(actions & set(glue.VIEW_IAM_ACTIONS))
    glue_actions = sorted(a for a in actions if a.startswith("glue:") and a not in view_actions)
    catalog = [
        f"arn:aws:glue:{region}:{account}:catalog",
        f"arn:aws:glue:{region}:{account}:database/{settings.schema}",
    ]
    statements = [
        _statement("Bucket", sorted(actions & _BUCKET_LEVEL), [bucket]),
        _statement(
            "Parts",
            sorted(a for a in actions if a in {"s3:PutObject", "s3:GetObject", "s3:DeleteObject"}),
            [f"{bucket}/{settings.schema}/*"],
        ),
        _statement(
            "AthenaResults",
            sorted(
                a
                for a in actions
                if a.startswith("s3:") and a not in _BUCKET_LEVEL and a != "s3:DeleteObject"
            ),
            [f"{bucket}/{settings.database}/athena_output/*"],
        ),
        _statement(
            "GlueCatalog",
            glue_actions,
            [*catalog, f"arn:aws:glue:{region}:{account}:table/{settings.schema}/*"],
        ),
        _statement(
            "AthenaQueries",
            sorted(a for a in actions if a.startswith("athena:")),
            [f"arn:aws:athena:{region}:{account}:workgroup/{settings.workgroup}"],
        ),
    ]
    if view_actions:  # drop a view whose table lost its keys: views only, never a table
        statements.append(
            _statement(
                "CurrentViews",
                view_actions,
                [*catalog, f"arn:aws:glue:{region}:{account}:table/{settings.schema}/*_current"],
            )
        )
    return {
        "access_policy": {"Version": "2012-10-17", "Statement": statements},
        "trust_policy": _trust_policy(settings, account),
    }


def _statement(sid: str, actions: list[str], resources: list[str]) -> dict[str, t.Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}


def _account(settings: Settings) -> str:
    match = _ACCOUNT.match(settings.role_arn or "")
    if match:
        return match.group(1)
    if settings.aws_account_id:
        return settings.aws_account_id
    raise ConfigError("--print-iam-policy needs 'role_arn' or 'aws_account_id' for the account id")


def _trust_policy(settings: Settings, account: str) -> dict[str, t.Any]:
    statement: dict[str, t.Any] = {
        "Effect": "Allow",
        "Principal": {"AWS": settings.trusted_principal or f"arn:aws:iam::{account}:root"},
        "Action": "sts:AssumeRole",
    }
    if settings.external_id:
        statement["Condition"] = {"StringEquals": {"sts:ExternalId": settings.external_id}}
    return {"Version": "2012-10-17", "Statement": [statement]}
