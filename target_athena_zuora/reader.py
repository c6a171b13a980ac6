"""The Singer message reader, built so a million RECORD and STATE lines cost next to nothing.

Input is read in chunks of whole lines; a chunk that is not all ASCII must be valid UTF-8.
A chunk that holds only RECORDs of the current plain stream (no stream maps, flattening,
validation or metadata) and STATEs — recognised by prefix, with no per-line Python — goes
to that stream's sink untouched: Arrow parses the RECORDs' ``record`` members a batch at a
time. Other chunks are handled line by line: RECORD lines are recognised by their prefix
(``{"type": "RECORD", "stream": "Invoice", ``), other messages are decoded and take the
SDK's path, their envelopes checked first (the SDK's own checks print whole messages).
Every STATE line is checked (a JSON object whose ``value`` is an object, at most
``MAX_DEPTH`` deep: msgspec, a fraction of a microsecond), only the latest is parsed, and
only when the SDK may emit it. Every error names the input line; what is wrong with a
line's JSON text is said by ``jsontext.find_problem``, the same on every path.
"""

from __future__ import annotations

import decimal
import json
import queue
import sys
import threading
import typing as t
from collections import Counter, deque
from collections.abc import Callable, Iterator
from itertools import compress, count, repeat

import msgspec
import orjson
from singer_sdk.exceptions import RecordsWithoutSchemaException
from singer_sdk.singerlib.encoding import GenericSingerReader

from target_athena_zuora.errors import (
    InputError,
    RecordBeforeSchemaError,
    SchemaError,
    TargetError,
    first_line,
    where,
)
from target_athena_zuora.jsontext import (
    MAX_DEPTH,
    LineError,
    Problem,
    Repeated,
    find_problem,
    loads_record,
    loads_strict,
    show,
    too_deep,
)
from target_athena_zuora.records import Converter
from target_athena_zuora.schema import schema_message_problem
from target_athena_zuora.signals import StopRequested

if t.TYPE_CHECKING:
    from target_athena_zuora.sinks import AthenaSink

CHUNK_BYTES = 1 << 21
TICK_S = 0.1  # how often timers and signals are looked at while the input is quiet
STATE_PREFIXES = (b'{"type": "STATE"', b'{"type":"STATE"')  # how Singer writers begin STATE
Callbacks = dict[str, Callable[[dict[str, t.Any]], None]]
_STATE_ERRORS = (msgspec.DecodeError, RecursionError)


class _Envelope(msgspec.Struct):
    type: t.Any = None
    stream: t.Any = None


class _Object(msgspec.Struct, gc=False):
    """Any JSON object (its members are skipped)."""


class _StateLine(msgspec.Struct, gc=False):
    """What every STATE line must be: a JSON object whose ``value`` is an object."""

    value: _Object


# A STATE line (valid JSON, as msgspec found it) shorter than this cannot nest deeper than
# MAX_DEPTH: '{"type":"STATE","value":{"":' then arrays down to level MAX_DEPTH + 1.
SHORTEST_TOO_DEEP_STATE = len(b'{"type":"STATE","value":{"":') + 2 * (MAX_DEPTH - 1) + 2
_ALL_BUT_OPENERS = bytes(b for b in range(256) if b not in b"{[\n")  # deleted to count {[


class _Hooks(t.Protocol):
    current_line: int

    def tick(self) -> None:
        """Between chunks and while waiting for input (timers, signals); may raise
        ``StopRequested``."""
        ...

    def input_arrived(self) -> None:
        """A chunk of messages arrived."""
        ...

    def get_sink(self, stream_name: str) -> t.Any:
        """The stream's sink (the SDK target's own method); ``KeyError`` if it has none."""
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


def first_bad_utf8(chunk: bytes) -> int | None:
    """The index of the first line of ``chunk`` that is not valid UTF-8, or None."""
    if chunk.isascii():  # tap-zuora writes ASCII (\u escapes): nearly free
        return None
    try:
        chunk.decode()
    except UnicodeDecodeError as error:
        return chunk.count(b"\n", 0, error.start)
    return None


class FastSingerReader(GenericSingerReader[bytes]):
    """Reads lines as bytes, counting them, and routes each message the cheapest safe way."""

    def __init__(self) -> None:
        super().__init__()
        self.fast_sinks: dict[str, AthenaSink] = {}
        self.hooks: _Hooks | None = None
        self._decode = msgspec.json.Decoder(_Envelope).decode
        self._decode_state = msgspec.json.Decoder(_StateLine).decode
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
        """Parse a RECORD line for the SDK (floats as ``Decimal``; see ``loads_record``)."""
        message = loads_record(line).value
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
                bad = first_bad_utf8(chunk)
                if bad is not None:  # the lines before it are read as usual, then it fails
                    line, lines = lines[bad], lines[:bad]
                if not self._whole_chunk(lines, number):
                    self._lines(lines, number, callbacks)
                if bad is not None:
                    raise self._bad_line(line, number + bad + 1)
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
        is_record = list(map(bytes.startswith, lines, repeat(self._prefix)))
        is_state = list(map(bytes.startswith, lines, repeat(self._state_prefix)))
        records = list(compress(count(), is_record))
        states = list(compress(count(), is_state))
        if len(records) + len(states) != len(lines):
            return False
        if states:
            self._check_states(list(compress(lines, is_state)), states, lines, number)
        if records:
            self._current.take(b"\n".join(compress(lines, is_record)), number + 1, records)
        if states:
            self._pending_state = (lines[states[-1]], number + 1 + states[-1])
        self._stats["RECORD"] += len(records)
        self._stats["STATE"] += len(states)
        return True

    def _check_states(
        self, state_lines: list[bytes], states: list[int], lines: list[bytes], number: int
    ) -> None:
        """Every STATE line is a JSON object whose ``value`` is an object, nested at most
        ``MAX_DEPTH`` deep (a STATE is copied and written back, recursively): all at once
        first, then one by one when something is wrong, so the first bad line fails."""
        try:
            deque(map(self._decode_state, state_lines), maxlen=0)
            if max(map(len, state_lines)) < SHORTEST_TOO_DEEP_STATE:
                return
            openers = b"\n".join(state_lines).translate(None, _ALL_BUT_OPENERS).split(b"\n")
            if max(map(len, openers)) <= MAX_DEPTH:  # no line opens more than that many
                return
        except _STATE_ERRORS:
            pass
        for index in states:
            self._check_state(lines[index], number + 1 + index)

    def _check_state(self, line: bytes, number: int) -> None:
        if too_deep(line):
            raise self._bad_line(line, number)
        try:
            self._decode_state(line)
        except _STATE_ERRORS:
            raise self._state_error(line, number) from None

    def _state_error(self, line: bytes, number: int) -> InputError:
        try:
            message = orjson.loads(line)
        except orjson.JSONDecodeError:
            return self._bad_line(line, number)
        if not isinstance(message, dict):
            return self._bad_line(line, number)
        try:
            _check_message(message, number, "STATE")
        except InputError as error:
            return error
        return self._bad_line(line, number)  # what orjson takes and msgspec does not

    def _lines(self, lines: list[bytes], number: int, callbacks: Callbacks) -> None:
        for line in lines:
            number += 1
            if self._current is not None and line.startswith(self._prefix):
                self._current.take(line, number, (0,))
                self._stats["RECORD"] += 1
            elif line.startswith(STATE_PREFIXES):
                self._check_state(line, number)
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
        if too_deep(line):  # before any recursive parser sees it
            raise self._bad_line(line, number)
        try:
            envelope = self._decode(line)
        except (msgspec.DecodeError, RecursionError):
            raise self._bad_line(line, number) from None
        kind, stream = _kind(envelope, number), envelope.stream
        if stream is not None and not isinstance(stream, str):
            raise InputError(f"input line {number}: 'stream' must be a string, got {_show(stream)}")
        sink = self.fast_sinks.get(stream or "") if kind == "RECORD" else None
        if sink is not None:
            sink.take(line, number, (0,))
            prefix = record_prefix(sink.stream_name, line)
            self._current, self._prefix = (sink, prefix) if prefix else (None, b"\0")
        else:
            self._flush_state(callbacks)
            self._dispatch(line, number, kind, stream, callbacks)
        self._stats[kind] += 1

    def forget(self, stream: str) -> None:
        """``stream`` is no longer on the fast path (its schema changed)."""
        sink = self.fast_sinks.pop(stream, None)
        if sink is not None and sink is self._current:
            self._current, self._prefix = None, b"\0"

    def _dispatch(
        self,
        line: bytes,
        number: int,
        kind: str,
        stream: str | None,
        callbacks: Callbacks,
    ) -> None:
        if self.hooks is not None:
            self.hooks.current_line = number
        callback = callbacks.get(kind)
        if callback is None:
            raise InputError(f"input line {number}: unknown message type {show(repr(kind))}")
        message = self._parse(line, number, kind)
        _check_message(message, number, kind)
        try:
            callback(message)
        except SchemaError as error:
            raise SchemaError(f"{error} (input line {number})") from None
        except (TargetError, OSError):  # an OS error is the disk's, not this line's
            raise
        except RecordsWithoutSchemaException:
            raise RecordBeforeSchemaError(
                f"stream {stream}, input line {number}: RECORD arrived before its SCHEMA message"
            ) from None
        except Exception as error:  # the SDK's own errors: add where they happened
            where_ = f"stream {stream}, " if stream else ""
            raise InputError(f"{where_}input line {number}: {show(first_line(error))}") from error

    def _parse(self, line: bytes, number: int, kind: str) -> dict[str, t.Any]:
        """Parse a message for the SDK: a RECORD as ``loads_record`` does; a STATE's value
        as it came (numbers beyond a double too: it is passed on); any other message
        strictly (a key given twice, as everything else wrong, is an error)."""
        try:
            if kind == "RECORD":
                message = loads_record(line).value
                if isinstance(message, Repeated):  # the envelope repeats a key
                    raise LineError("repeated key")  # noqa: TRY301
            elif kind == "STATE":
                message = _loads_state(line)
            else:
                message = loads_strict(line)
        except (LineError, ValueError, RecursionError):
            raise self._bad_line(line, number) from None
        if not isinstance(message, dict):
            raise InputError(f"input line {number}: expected a JSON object")
        return message

    def _bad_line(self, line: bytes, number: int) -> InputError:
        """The error for a line a parser refused: what is wrong with its JSON text. In a
        RECORD of a stream with a sink, the first problem where that stream's conversion
        reads (as the fast path reports it: a key repeated in an undeclared field is not)."""
        problem = find_problem(line)
        if problem is None:
            return InputError(f"input line {number}: not valid JSON")
        converter = self._converter(problem) if problem.kind == "RECORD" else None
        if converter is not None:
            problem = converter.problem_in(line) or problem
        return InputError(problem.located(number))

    def _converter(self, problem: Problem) -> Converter | None:
        if self.hooks is None or problem.stream is None:
            return None
        try:
            converter = getattr(self.hooks.get_sink(problem.stream), "converter", None)
        except KeyError:
            return None
        return converter if isinstance(converter, Converter) else None


def _kind(envelope: _Envelope, number: int) -> str:
    kind = envelope.type
    if kind is None:
        raise InputError(f"input line {number}: message has no 'type'")
    if not isinstance(kind, str):
        raise InputError(f"input line {number}: 'type' must be a string, got {_show(kind)}")
    return kind


def _show(value: object) -> str:
    return show(json.dumps(value, default=str))


def _loads_state(line: bytes) -> t.Any:
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:  # a number beyond a double: kept exact, as it is passed on
        return json.loads(line, parse_float=decimal.Decimal)


_ENVELOPE_KEYS: dict[str, tuple[str, ...]] = {
    "RECORD": ("stream", "record"),
    "SCHEMA": ("stream", "schema"),
    "STATE": ("value",),
    "ACTIVATE_VERSION": ("stream", "version"),
    "BATCH": ("stream", "encoding", "manifest"),
}


def _check_message(message: dict[str, t.Any], number: int, kind: str) -> None:
    """The keys each message type needs, checked before the SDK sees the message (its own
    checks quote the whole message, record values included)."""
    stream = message.get("stream")
    located = where(stream if isinstance(stream, str) else None, line=number)
    if kind == "RECORD" and not isinstance(message.get("record"), dict):
        raise InputError(f"{located}: RECORD has no 'record' object")
    for key in _ENVELOPE_KEYS.get(kind, ()):
        if key not in message:
            raise InputError(f"{located}: {kind} has no {key!r}")
    if "stream" in message and not isinstance(stream, str):
        raise InputError(f"{located}: 'stream' must be a string, got {_show(stream)}")
    if kind == "STATE" and not isinstance(message["value"], dict):
        value = _show(message["value"])
        raise InputError(f"{located}: STATE 'value' must be an object, got {value}")
    if kind == "SCHEMA":
        problem = schema_message_problem(message)
        if problem is not None:
            raise SchemaError(f"{located}: {problem}")
