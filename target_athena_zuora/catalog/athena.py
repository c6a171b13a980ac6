"""Statements run through Athena itself: ``StartQueryExecution`` in the configured workgroup,
results under ``s3://<bucket>/<database>/athena_output/``, then waiting for the query's end.

A failed or cancelled query is a ``CatalogError`` on one line carrying Athena's reason
(``StateChangeReason``); a query still running after ``wait_seconds`` is one too.
"""

from __future__ import annotations

import time
import typing as t
from collections.abc import Callable
from dataclasses import dataclass, field

from botocore.exceptions import BotoCoreError, ClientError

from target_athena_zuora.aws_errors import aws_error, one_line
from target_athena_zuora.errors import CatalogError

# IAM actions this module calls (iam.py builds the policy from these lists).
IAM_ACTIONS = ("athena:StartQueryExecution", "athena:GetQueryExecution")
WAIT_S = 300.0  # how long a statement may run before the run fails
_FIRST_POLL_S = 0.2
_MAX_POLL_S = 2.0


@dataclass
class Athena:
    """Runs statements in one workgroup with one output location (an injected client)."""

    client: t.Any
    workgroup: str
    output_location: str  # s3://<bucket>/<database>/athena_output/
    wait_seconds: float = WAIT_S
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)

    def run(self, statement: str, what: str, database: str | None = None) -> str:
        """Run ``statement`` (``what`` names it in errors) with ``database`` as the default
        schema; wait for it to succeed; return the query execution id."""
        arguments: dict[str, t.Any] = {
            "QueryString": statement,
            "WorkGroup": self.workgroup,
            "ResultConfiguration": {"OutputLocation": self.output_location},
        }
        if database is not None:
            arguments["QueryExecutionContext"] = {"Database": database}
        try:
            query: str = self.client.start_query_execution(**arguments)["QueryExecutionId"]
        except (ClientError, BotoCoreError) as error:
            raise aws_error(
                error,
                "athena:StartQueryExecution",
                f"{what} in workgroup {self.workgroup}",
                CatalogError,
            ) from error
        self._wait(query, what)
        return query

    def _wait(self, query: str, what: str) -> None:
        deadline = time.monotonic() + self.wait_seconds
        pause = _FIRST_POLL_S
        while True:
            status = self._status(query, what)
            state = status.get("State")
            if state == "SUCCEEDED":
                return
            if state in ("FAILED", "CANCELLED"):
                reason = one_line(str(status.get("StateChangeReason") or "no reason given"))
                raise CatalogError(
                    f"athena: {what} {state.lower()} in workgroup {self.workgroup} "
                    f"(query {query}): {reason}"
                )
            if time.monotonic() >= deadline:
                raise CatalogError(
                    f"athena: {what} still {str(state).lower()} after {self.wait_seconds:.0f} s "
                    f"in workgroup {self.workgroup} (query {query}); is the workgroup's "
                    "concurrency used up?"
                )
            self.sleep(pause)
            pause = min(pause * 2, _MAX_POLL_S)

    def _status(self, query: str, what: str) -> dict[str, t.Any]:
        try:
            execution = self.client.get_query_execution(QueryExecutionId=query)
        except (ClientError, BotoCoreError) as error:
            raise aws_error(
                error, "athena:GetQueryExecution", f"{what} (query {query})", CatalogError
            ) from error
        status: dict[str, t.Any] = execution["QueryExecution"]["Status"]
        return status
