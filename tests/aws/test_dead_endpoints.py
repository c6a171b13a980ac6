"""AWS endpoints that misbehave at the socket: one that accepts connections and never
answers fails the run in about a minute (connect/read timeouts, bounded attempts) with one
line naming the endpoint; an error whose body spans lines is still one line."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

pytestmark = pytest.mark.aws

LINES: list[Any] = [
    {
        "type": "SCHEMA",
        "stream": "Invoice",
        "key_properties": ["Id"],
        "schema": {"type": "object", "properties": {"Id": {"type": "string"}}},
    },
    {"type": "RECORD", "stream": "Invoice", "record": {"Id": "a"}},
    {"type": "STATE", "value": {"n": 1}},
]


def serve(answer: Callable[[socket.socket], None]) -> Iterator[str]:
    """``http://127.0.0.1:<port>`` of a server calling ``answer`` on each connection."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    held: list[socket.socket] = []
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            held.append(connection)
            answer(connection)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join(5)
    for connection in held:
        connection.close()
    listener.close()


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """Accepts every connection, reads nothing, answers nothing."""
    yield from serve(lambda _: None)


@pytest.fixture
def html_error_endpoint() -> Iterator[str]:
    """Answers every request with a 502 whose HTML body spans several lines."""
    body = (
        b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n"
        b"<body>\r\nproxy\r\n</body>\r\n</html>\r\n"
    )

    def answer(connection: socket.socket) -> None:
        connection.settimeout(2)
        try:
            connection.recv(65536)
            connection.sendall(
                b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\n"
                + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
        except OSError:
            pass
        connection.close()

    yield from serve(answer)


def config(endpoint: str, **extra: Any) -> dict[str, Any]:
    return {
        "bucket": "lake",
        "region": "us-east-1",
        "endpoint_url": endpoint,
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing-secret-0d1f",
        **extra,
    }


def test_a_silent_endpoint_fails_fast_with_short_timeouts(
    run_cli: Any, silent_endpoint: str
) -> None:
    started = time.monotonic()
    result = run_cli(
        LINES,
        config=config(silent_endpoint, aws_read_timeout_seconds=1, aws_max_attempts=2),
    )
    assert time.monotonic() - started < 30
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    (error,) = result.error_lines
    assert silent_endpoint in error and "timeout" in error.lower(), error
    assert "glue:GetDatabase" in error and "input line" not in error, error
    assert result.states == []


@pytest.mark.slow
def test_a_silent_endpoint_fails_in_about_a_minute_by_default(
    run_cli: Any, silent_endpoint: str
) -> None:
    started = time.monotonic()
    result = run_cli(LINES, config=config(silent_endpoint))
    elapsed = time.monotonic() - started
    assert elapsed < 90, elapsed
    assert result.returncode == 1
    (error,) = result.error_lines
    assert silent_endpoint in error, error
    assert "testing-secret" not in result.stderr


def test_an_error_body_over_several_lines_is_one_line(
    run_cli: Any, html_error_endpoint: str
) -> None:
    result = run_cli(LINES, config=config(html_error_endpoint, aws_max_attempts=1))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert len(result.error_lines) == 1, result.stderr
    assert "<body>" not in result.stderr.split("ERROR", 1)[1].split("\n", 1)[1]
