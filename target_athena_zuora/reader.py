"""The Singer message reader: RECORD lines of plain streams go straight to their sink as raw
JSON bytes (no per-record dict, no per-field parsing); everything else takes the SDK's path.
"""

from __future__ import annotations

import sys
import typing as t
from collections import Counter
from collections.abc import Callable

import msgspec
import orjson
from singer_sdk.singerlib.encoding import GenericSingerReader
from singer_sdk.singerlib.json import deserialize_json

from target_athena_zuora.errors import InputError, SchemaError, TargetError

if t.TYPE_CHECKING:
    from target_athena_zuora.sinks import AthenaSink

_AGE_CHECK_EVERY = 4096


class _Envelope(msgspec.Struct):
    type: str | None = None
    stream: str | None = None
    record: msgspec.Raw = msgspec.Raw()


class _Hooks(t.Protocol):
    current_line: int

    def _handle_max_record_age(self) -> None: ...


class FastSingerReader(GenericSingerReader[bytes]):
    """Reads bytes lines, counting them, and routes RECORDs of fast streams to their sinks."""

    def __init__(self) -> None:
        super().__init__()
        self.fast_sinks: dict[str, AthenaSink] = {}
        self.hooks: _Hooks | None = None
        self._decode = msgspec.json.Decoder(_Envelope).decode

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
        self,
        file_input: t.IO[bytes] | None,
        callbacks: dict[str, Callable[[dict[str, t.Any]], None]],
    ) -> Counter[str]:
        """Process every line; errors name the input line."""
        stats: Counter[str] = Counter()
        fast = self.fast_sinks
        decode = self._decode
        hooks = self.hooks
        records = 0
        for number, raw in enumerate(file_input or self.default_input, start=1):
            line = raw.encode() if isinstance(raw, str) else raw
            try:
                envelope = decode(line)
            except msgspec.DecodeError as error:
                if not line.strip():
                    continue
                raise InputError(f"input line {number}: not a JSON object ({error})") from None
            sink = fast.get(envelope.stream) if envelope.type == "RECORD" else None  # type: ignore[arg-type]
            if sink is not None and len(envelope.record):
                sink.add_raw(bytes(envelope.record), number)
                records += 1
                if records % _AGE_CHECK_EVERY == 0 and hooks is not None:
                    hooks._handle_max_record_age()  # noqa: SLF001 - the SDK's drain-by-age
            else:
                if hooks is not None:
                    hooks.current_line = number
                self._dispatch(line, number, envelope, callbacks)
            stats[envelope.type or ""] += 1
        return stats

    def _dispatch(
        self,
        line: bytes,
        number: int,
        envelope: _Envelope,
        callbacks: dict[str, Callable[[dict[str, t.Any]], None]],
    ) -> None:
        stream = f"stream {envelope.stream}, " if envelope.stream else ""
        try:
            message = (
                self.deserialize_json(line) if envelope.type == "RECORD" else orjson.loads(line)
            )
            self.assert_line_requires(message, requires={"type"})
            callback = callbacks.get(message["type"])
            if callback is None:
                raise InputError(f"unknown message type {message['type']!r}")
            callback(message)
        except SchemaError as error:
            raise SchemaError(f"{error} (input line {number})") from None
        except TargetError:
            raise
        except Exception as error:  # the SDK's own errors: add where they happened
            raise InputError(f"{stream}input line {number}: {_describe(error)}") from error


def _describe(error: Exception) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    if "before a corresponding schema" in text:
        return "RECORD arrived before its SCHEMA message"
    return text
