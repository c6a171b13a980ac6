"""Sessions and clients from the settings: role (AssumeRole with the external id, refreshing
credentials), access keys, the default chain; endpoints, retries, region; errors."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

import botocore.credentials
import pytest
from botocore.credentials import RefreshableCredentials
from moto.sts.models import sts_backends

from target_athena_zuora.aws import Clients, build_aws_destination
from target_athena_zuora.errors import ConfigError
from target_athena_zuora.settings import Settings

pytestmark = pytest.mark.aws

ACCOUNT = "123456789012"  # moto's default account
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/zuora-sync"
SERVICES = ("s3", "glue", "sts", "athena")


def assumed_roles() -> list[Any]:
    """What moto's STS recorded for AssumeRole calls (the server runs in this process)."""
    roles: list[Any] = sts_backends[ACCOUNT]["aws"].assumed_roles
    return roles


def test_role_auth_assumes_the_role_with_the_external_id(
    moto_settings: Callable[..., Settings],
) -> None:
    external_id = f"ext-{uuid.uuid4().hex}"
    settings = moto_settings(
        aws_access_key_id=None,  # base credentials: the environment's (default chain)
        aws_secret_access_key=None,
        role_arn=ROLE_ARN,
        external_id=external_id,
    )
    assert settings.auth_method == "role"
    identity = Clients(settings).client("sts").get_caller_identity()
    assert identity["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/zuora-sync/target-athena-zuora"
    (call,) = [r for r in assumed_roles() if r.external_id == external_id]
    assert call.role_arn == ROLE_ARN
    assert call.session_name == "target-athena-zuora"


def test_role_credentials_refresh_themselves(
    moto_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    external_id = f"ext-{uuid.uuid4().hex}"
    settings = moto_settings(role_arn=ROLE_ARN, external_id=external_id, role_session_name="s1")
    clients = Clients(settings)
    credentials = clients.session.get_credentials()
    assert isinstance(credentials, RefreshableCredentials)  # botocore refreshes, not us
    first = credentials.get_frozen_credentials()
    assert first.access_key != settings.aws_access_key_id  # temporary, from AssumeRole
    # Travel 55 minutes ahead (moto's role sessions last an hour): botocore's clock is a
    # module function, bound as a default argument in the credentials object, so set both.
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=55)
    monkeypatch.setattr(botocore.credentials, "_local_now", lambda: later)
    monkeypatch.setattr(credentials, "_time_fetcher", lambda: later)
    clients.client("sts").get_caller_identity()
    second = credentials.get_frozen_credentials()
    assert second.access_key != first.access_key
    assert len([r for r in assumed_roles() if r.external_id == external_id]) >= 2


def test_access_key_auth_uses_the_configured_keys(moto_settings: Callable[..., Settings]) -> None:
    settings = moto_settings(aws_access_key_id="AKIACONFIGURED000001")
    assert settings.auth_method == "access_key"
    credentials = Clients(settings).session.get_credentials()
    assert credentials is not None
    frozen = credentials.get_frozen_credentials()
    assert frozen.access_key == "AKIACONFIGURED000001"
    assert frozen.secret_key == settings.aws_secret_access_key


def test_default_chain_uses_the_environment(
    moto_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFROMENVIRONMENT1")
    settings = moto_settings(aws_access_key_id=None, aws_secret_access_key=None)
    assert settings.auth_method == "default"
    clients = Clients(settings)
    credentials = clients.session.get_credentials()
    assert credentials is not None
    assert credentials.access_key == "AKIAFROMENVIRONMENT1"
    assert clients.client("sts").get_caller_identity()["Account"] == ACCOUNT


def test_endpoint_url_applies_to_every_client(moto_settings: Callable[..., Settings]) -> None:
    settings = moto_settings()
    clients = Clients(settings)
    for service in SERVICES:
        client = clients.client(service)
        assert client.meta.endpoint_url == settings.endpoint_url, service
        assert client.meta.config.retries["mode"] in {"standard", "adaptive"}, service
        assert client.meta.region_name == "us-east-1"


def test_boto3_service_endpoint_variables_apply_without_endpoint_url(
    moto_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = moto_settings(endpoint_url=None)
    for service in SERVICES:
        monkeypatch.setenv(f"AWS_ENDPOINT_URL_{service.upper()}", f"http://127.0.0.1:1/{service}")
    clients = Clients(settings)
    for service in SERVICES:
        assert clients.client(service).meta.endpoint_url == f"http://127.0.0.1:1/{service}"


def test_no_region_anywhere_is_a_config_error(
    moto_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    with pytest.raises(ConfigError, match="region"):
        build_aws_destination(moto_settings(region=None))


def test_role_without_base_credentials_is_a_config_error(
    moto_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    settings = moto_settings(
        aws_access_key_id=None, aws_secret_access_key=None, role_arn=ROLE_ARN, external_id="x"
    )
    with pytest.raises(ConfigError, match="zuora-sync"):
        Clients(settings)
