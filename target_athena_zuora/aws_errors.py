"""AWS errors as one line each: the resource, what AWS said, the IAM action to grant.

Its own module so that the AWS clients (``aws.py``) and their users (``storage/s3.py``,
``catalog/glue.py``, ``checks.py``) all depend on it, and never on each other in a cycle.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from target_athena_zuora.errors import TargetError

ACCESS_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "Forbidden"}
_MAX_CHARS = 300


def aws_error(
    error: Exception, action: str, resource: str, kind: type[TargetError] = TargetError
) -> TargetError:
    """One line for an AWS failure: the resource, what AWS said, and for access denied the
    IAM action to grant. Never includes request parameters (where secrets could be)."""
    if isinstance(error, ClientError) and error.operation_name == "AssumeRole":
        action, resource = "sts:AssumeRole", "the configured role_arn"  # credentials refresh
    if isinstance(error, ClientError):
        code = error_code(error)
        if code in ACCESS_DENIED:
            return kind(f"{action} on {resource}: access denied (grant {action})")
        message = error.response.get("Error", {}).get("Message", "") or code
        return kind(f"{action} on {resource}: {one_line(f'{code}: {message}')}")
    return kind(f"{action} on {resource}: {one_line(str(error))}")


def one_line(text: str, limit: int = _MAX_CHARS) -> str:
    """``text`` on one line (an error body may hold newlines, even HTML), shortened."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def error_code(error: ClientError) -> str:
    """The AWS error code of ``error``."""
    return str(error.response.get("Error", {}).get("Code", ""))
