"""The Singer message reader, built so a million RECORD and STATE lines cost next to nothing.

Input is read in chunks of whole lines. A chunk that holds only RECORDs of the current plain
stream (no stream maps, flattening, validation or metadata) and STATEs — checked with a few
byte counts, not per line — goes to that stream's sink untouched: Arrow parses the RECORDs'
``record`` members a batch at a time. Other chunks are handled line by line: RECORD lines are
recognised by their prefix (``{"type": "RECORD", "stream": "Invoice", ``), other messages are
decoded and take the SDK's path. Only the latest STATE is parsed, and only when the SDK may
emit it. Every error names the input line.
"""

from __future__ import annotations

import queue
import sys
import threading
import typing as t
from collections import Counter
from collections.abc import Callable, Iterator

import msgspec
import orjson
from singer_sdk.exceptions import RecordsWithoutSchemaException
from singer_sdk.singerlib.encoding import GenericSingerReader
from singer_sdk.singerlib.json import deserialize_json

from target_athena_zuora.errors import (
    InputError,
    RecordBeforeSchemaError,
    SchemaError,
    TargetError,
    malformed_json,
)
from target_athena_zuora.signals import StopRequested

if t.TYPE_CHECKING:
    from target_athena_zuora.sinks import AthenaSink

CHUNK_BYTES = 1 << 21
TICK_S = 0.1  # how often timers and signals are looked at while the input is quiet
STATE_PREFIXES = (b'{"type": "STATE"', b'{"type":"STATE"')  # how Singer writers begin STATE
Callbacks = dict[str, Callable[[dict[str, t.Any]], None]]


class _Envelope(msgspec.Struct):
    type: str | None = None
    stream: str | None = None


class _Hooks(t.Protocol):
    current_line: int

    def tick(self) -> None:
        """Between chunks and while waiting for input (timers, signals); may raise
        ``StopRequested``."""
        ...

    def input_arrived(self) -> None:
        """A chunk of messages arrived."""
        ...


class InputFeed:
    """Reads the input on a thread of its own, so the run loop can wait for it with a
    timeout (timers and signals act while the tap is silent): whole-line chunks in a small
    queue, then the end (None), or the read's own error."""

    def __init__(self, stream: t.IO[bytes] | t.IO[str]) -> None:
        self._queue: queue.Queue[bytes | BaseException | None] = queue.Queue(maxsize=2)
        self._thread = threading.Thread(
            target=self._read, args=(stream,), name="input", daemon=True
        )
        self._thread.start()

    def _read(self, stream: t.IO[bytes] | t.IO[str]) -> None:
        try:
            for chunk in chunks(stream):
                self._queue.put(chunk)
        except Exception as error:
            self._queue.put(error)
        else:
            self._queue.put(None)

    def get(self, timeout: float) -> bytes | None:
        """The next chunk, or None at the end; ``queue.Empty`` after ``timeout`` s."""
        item = self._queue.get(timeout=timeout)
        if isinstance(item, BaseException):
            raise item
        return item


def record_prefix(stream: str, line: bytes) -> bytes | None:
    """The prefix ``line`` (a RECORD of ``stream``) begins with, in singer-python's or the
    compact layout; None when it is laid out otherwise."""
    name = orjson.dumps(stream)
    for prefix in (
        b'{"type": "RECORD", "stream": ' + name + b", ",
        b'{"type":"RECORD","stream":' + name + b",",
    ):
        if line.startswith(prefix):
            return prefix
    return None


def chunks(stream: t.IO[bytes] | t.IO[str]) -> Iterator[bytes]:
    """Whole lines in chunks of about ``CHUNK_BYTES``, each ending in a newline."""
    read = getattr(stream, "read1", stream.read)
    rest = b""
    while block := read(CHUNK_BYTES):
        data = block.encode() if isinstance(block, str) else block
        end = data.rfind(b"\n") + 1
        if not end:
            rest += data
            continue
        yield rest + data[:end] if rest or end < len(data) else data
        rest = data[end:]
    if rest:
        yield rest + b"\n"


class FastSingerReader(GenericSingerReader[bytes]):
    """Reads lines as bytes, counting them, and routes each message the cheapest safe way."""

    def __init__(self) -> None:
        super().__init__()
        self.fast_sinks: dict[str, AthenaSink] = {}
        self.hooks: _Hooks | None = None
        self._decode = msgspec.json.Decoder(_Envelope).decode
        self._pending_state: tuple[bytes, int] | None = None
        self._current: AthenaSink | None = None
        self._prefix = b"\0"  # how the current stream's RECORD lines begin
        self._state_prefix = STATE_PREFIXES[0]  # how this input's STATE lines begin
        self._stats: Counter[str] = Counter()
        self.stopped_by: int | None = None  # the signal that stopped the read, if any

    @property
    def default_input(self) -> t.IO[bytes]:
        """Standard input, as bytes."""
        return sys.stdin.buffer

    def deserialize_json(self, line: bytes) -> dict[str, t.Any]:
        """Parse one line (floats as ``Decimal``, as the SDK expects)."""
        message = deserialize_json(line)
        if not isinstance(message, dict):
            raise InputError("expected a JSON object")
        return message

    def process_lines(
        self, file_input: t.IO[bytes] | t.IO[str] | None, callbacks: Callbacks
    ) -> Counter[str]:
        """Process every line of the input, or until a signal asks for a graceful stop
        (then ``stopped_by`` holds it)."""
        self._stats = Counter()
        number = 0  # input lines consumed so far
        feed = InputFeed(file_input or self.default_input)
        try:
            while (chunk := self._next_chunk(feed)) is not None:
                lines = chunk.split(b"\n")
                lines.pop()  # the chunk ends with a newline
                if not self._whole_chunk(lines, number):
                    self._lines(lines, number, callbacks)
                number += len(lines)
                self._flush_state(callbacks)
        except StopRequested as stop:
            self.stopped_by = stop.signum
        self._flush_state(callbacks)
        return self._stats

    def _next_chunk(self, feed: InputFeed) -> bytes | None:
        """The next chunk; runs the hooks' timers and signal checks while waiting."""
        hooks = self.hooks
        while True:
            if hooks is not None:
                hooks.tick()
            try:
                chunk = feed.get(TICK_S)
            except queue.Empty:
                continue
            if chunk is not None and hooks is not None:
                hooks.input_arrived()
            return chunk

    def _whole_chunk(self, lines: list[bytes], number: int) -> bool:
        """Hand the RECORDs to the current sink if ``lines`` are only its RECORDs and STATEs."""
        if self._current is None:
            return False
        prefix, state_prefix = self._prefix, self._state_prefix
        records = [i for i, line in enumerate(lines) if line.startswith(prefix)]
        states = [i for i, line in enumerate(lines) if line.startswith(state_prefix)]
        if len(records) + len(states) != len(lines):
            return False
        if records:
            data = b"\n".join([lines[i] for i in records])
            self._current.take(data, number + 1, records)
        if states:
            self._pending_state = (lines[states[-1]], number + 1 + states[-1])
        self._stats["RECORD"] += len(records)
        self._stats["STATE"] += len(states)
        return True

    def _lines(self, lines: list[bytes], number: int, callbacks: Callbacks) -> None:
        for line in lines:
            number += 1
            if self._current is not None and line.startswith(self._prefix):
                self._current.take(line, number, (0,))
                self._stats["RECORD"] += 1
            elif line.startswith(STATE_PREFIXES):
                self._pending_state = (line, number)
                spaced = line.startswith(STATE_PREFIXES[0])
                self._state_prefix = STATE_PREFIXES[0] if spaced else STATE_PREFIXES[1]
                self._stats["STATE"] += 1
            elif line.strip():
                self._slow(line, number, callbacks)

    def _flush_state(self, callbacks: Callbacks) -> None:
        if self._pending_state is not None:
            line, number = self._pending_state
            self._pending_state = None
            self._dispatch(line, number, "STATE", None, callbacks)

    def _slow(self, line: bytes, number: int, callbacks: Callbacks) -> None:
        """Decode the envelope; a fast stream's RECORD becomes the current stream."""
        try:
            envelope = self._decode(line)
        except msgspec.DecodeError:
            raise malformed_json(number, line) from None
        sink = self.fast_sinks.get(envelope.stream or "") if envelope.type == "RECORD" else None
        if sink is not None:
            sink.take(line, number, (0,))
            prefix = record_prefix(sink.stream_name, line)
            self._current, self._prefix = (sink, prefix) if prefix else (None, b"\0")
        else:
            self._flush_state(callbacks)
            self._dispatch(line, number, envelope.type, envelope.stream, callbacks)
        self._stats[envelope.type or ""] += 1

    def forget(self, stream: str) -> None:
        """``stream`` is no longer on the fast path (its schema changed)."""
        sink = self.fast_sinks.pop(stream, None)
        if sink is not None and sink is self._current:
            self._current, self._prefix = None, b"\0"

    def _dispatch(
        self,
        line: bytes,
        number: int,
        kind: str | None,
        stream: str | None,
        callbacks: Callbacks,
    ) -> None:
        if self.hooks is not None:
            self.hooks.current_line = number
        try:
            message = self.deserialize_json(line) if kind == "RECORD" else orjson.loads(line)
            self.assert_line_requires(message, requires={"type"})
            callback = callbacks.get(message["type"])
            if callback is None:
                raise InputError(f"unknown message type {message['type']!r}")  # noqa: TRY301
            callback(message)
        except SchemaError as error:
            raise SchemaError(f"{error} (input line {number})") from None
        except TargetError:
            raise
        except RecordsWithoutSchemaException:
            raise RecordBeforeSchemaError(
                f"stream {stream}, input line {number}: RECORD arrived before its SCHEMA message"
            ) from None
        except Exception as error:  # the SDK's own errors: add where they happened
            where = f"stream {stream}, " if stream else ""
            text = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise InputError(f"{where}input line {number}: {text}") from error
