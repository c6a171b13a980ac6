"""AWS sessions and clients from the settings, AWS error translation, the AWS destination.

Authentication: ``role`` assumes ``role_arn`` with ``external_id`` on top of the
environment's base credentials, through botocore's refreshing assume-role credentials (a run
may outlast the role session); ``access_key`` uses the configured keys; ``default`` uses the
AWS credential chain. ``endpoint_url`` applies to every client; when unset, boto3's own
``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_<SERVICE>`` variables apply.
"""

from __future__ import annotations

import logging
import typing as t

import boto3
import botocore.session
from botocore.config import Config
from botocore.credentials import AssumeRoleCredentialFetcher, DeferredRefreshableCredentials
from botocore.exceptions import NoRegionError

from target_athena_zuora.errors import ConfigError
from target_athena_zuora.settings import Settings

if t.TYPE_CHECKING:
    from target_athena_zuora.catalog import Catalog
    from target_athena_zuora.storage import Storage

USER_AGENT = "target-athena-zuora"


def client_config(settings: Settings) -> Config:
    """Retries (botocore's adaptive mode) and timeouts: an endpoint that accepts connections
    and never answers fails after about attempts x read timeout, not minutes later."""
    return Config(
        retries={"mode": "adaptive", "max_attempts": settings.aws_max_attempts},
        user_agent_extra=USER_AGENT,
        connect_timeout=settings.aws_connect_timeout_seconds,
        read_timeout=settings.aws_read_timeout_seconds,
    )


# Their DEBUG records carry request headers and bodies: the session token, the external id.
WIRE_LOGGERS = ("botocore", "boto3", "s3transfer", "urllib3")


class Clients:
    """Creates AWS clients for one configured identity."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        quiet_wire_logs()
        self.session = _session(settings)

    def client(self, service: str) -> t.Any:
        """A client for ``service`` with the configured endpoint, region and retries."""
        try:
            return self.session.client(
                service,  # type: ignore[call-overload]
                endpoint_url=self.settings.endpoint_url,
                region_name=self.settings.region,
                config=client_config(self.settings),
            )
        except NoRegionError as error:
            raise ConfigError(
                f"no AWS region for {service}: set 'region' (the bucket's region) or AWS_REGION"
            ) from error


def quiet_wire_logs() -> None:
    """Keep the AWS libraries' wire logs at INFO or above, even at ``LOGLEVEL=DEBUG``: their
    DEBUG lines print request headers and bodies, where secrets travel."""
    for name in WIRE_LOGGERS:
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.INFO:
            logger.setLevel(logging.INFO)


def _session(settings: Settings) -> boto3.Session:
    if settings.auth_method == "access_key":
        return boto3.Session(
            aws_access_key_id=settings.aws_access_key_id,
            aws_secret_access_key=settings.aws_secret_access_key,
            aws_session_token=settings.aws_session_token,
            region_name=settings.region,
        )
    base = boto3.Session(region_name=settings.region)
    if settings.auth_method == "default":
        return base
    return _assumed_role(settings, base)


def _assumed_role(settings: Settings, base: boto3.Session) -> boto3.Session:
    """A session whose credentials come from AssumeRole and refresh before they expire."""
    source = base.get_credentials()
    if source is None:
        raise ConfigError(
            f"role {settings.role_arn}: no base AWS credentials to assume it with (set "
            "AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run where an instance "
            "or container role is available)"
        )
    extra: dict[str, t.Any] = {"RoleSessionName": settings.role_session_name}
    if settings.external_id:
        extra["ExternalId"] = settings.external_id

    def sts_client(service: str, **kwargs: t.Any) -> t.Any:
        return base.client(  # type: ignore[call-overload]
            service,
            endpoint_url=settings.endpoint_url,
            region_name=settings.region,
            config=client_config(settings),
            **kwargs,
        )

    fetcher = AssumeRoleCredentialFetcher(
        client_creator=sts_client,
        source_credentials=source,
        role_arn=str(settings.role_arn),
        extra_args=extra,
    )
    credentials = DeferredRefreshableCredentials(
        refresh_using=fetcher.fetch_credentials, method="assume-role"
    )
    core = botocore.session.Session()
    # botocore has no public setter for refreshable credentials; this is the usual way.
    core._credentials = credentials  # type: ignore[attr-defined]
    if settings.region:
        core.set_config_variable("region", settings.region)
    return boto3.Session(botocore_session=core)


def athena_output(settings: Settings) -> str:
    """Where Athena writes query results: ``s3://<bucket>/<database>/athena_output/``."""
    return f"s3://{settings.bucket}/{settings.database}/athena_output/"


def build_aws_destination(
    settings: Settings, first_date: str | None = None
) -> tuple[Storage, Catalog]:
    """S3 parts and Glue tables for a configured bucket (and, with ``current_views``, Athena
    for the tables' current views). ``first_date`` (the transfer date, ``YYYY-MM-DD``) starts
    a new table's partition projection range; default: today (UTC)."""
    from target_athena_zuora.catalog.athena import Athena  # noqa: PLC0415
    from target_athena_zuora.catalog.glue import GlueCatalog  # noqa: PLC0415
    from target_athena_zuora.storage.s3 import S3Storage  # noqa: PLC0415

    assert settings.bucket is not None  # noqa: S101 - only called when a bucket is set
    clients = Clients(settings)
    storage = S3Storage(
        clients.client("s3"), settings.bucket, sse=settings.sse, kms_key_id=settings.kms_key_id
    )
    athena = None
    if settings.current_views:
        athena = Athena(clients.client("athena"), settings.workgroup, athena_output(settings))
    catalog = GlueCatalog(
        clients.client("glue"),
        partition_projection=settings.partition_projection,
        first_date=first_date,
        timestamp_unit=settings.timestamp_precision,
        athena=athena,
    )
    return storage, catalog
