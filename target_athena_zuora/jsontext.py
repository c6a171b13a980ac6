"""JSON text of input lines: the limits every path enforces, and what is wrong with a line.

The fast parsers (Arrow, msgspec, orjson) say *that* a line is bad, seldom where or why, and
they disagree on what is bad: Arrow takes ``NaN`` and ignores a key given twice outside the
declared fields, orjson and msgspec keep the last of two keys, Python's ``json`` takes lone
surrogates and any nesting its recursion allows. So whichever parser refuses a line,
``find_problem`` reads it again, slowly, and names the first problem and its path: invalid
UTF-8, nesting deeper than ``MAX_DEPTH``, not JSON, ``NaN``/``Infinity``, a number beyond a
double's range, a lone surrogate, a key given twice in one object.

``loads_record`` parses a RECORD for the SDK's per-record path and keeps what the batch
conversion must still see after the SDK has handled the record: a key given twice
(``Repeated``) and integers beyond 64 bits (``BigInt``), both written back as they came by
``records.dumps_record``. So both paths reach the same conversion with the same text.
"""

from __future__ import annotations

import decimal
import json
import math
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from target_athena_zuora.errors import where

# Objects and arrays nest at most this deep in a message (the message itself is level 1).
# Real Singer data stays far below (tap-zuora: 2 in a RECORD, 5 in a SCHEMA); the limit
# keeps every parser and recursive step of both paths far from its own ceiling: orjson
# writes at most 255 levels, Python's recursion limit (1000 frames) is shared by json,
# jsonschema validation, the SDK's flattening and the deep copy of a STATE, which take one
# or more frames per level.
MAX_DEPTH = 64
SHOW_CHARS = 80  # longest value or path quoted in an error message

_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"?|[{}\[\]:,]')
_SURROGATE = re.compile("[\ud800-\udfff]")
_INT64 = (-(2**63), 2**64)  # what orjson writes as an integer (int64 and uint64)


@dataclass(frozen=True)
class Problem:
    """What is wrong with one input line, and where (the path from the message's root)."""

    path: tuple[str | int, ...]
    text: str
    stream: str | None = None  # the message's first ``stream`` string, when it has one
    kind: str | None = None  # the message's first ``type`` string, when it has one
    repeated: bool = False  # a key given twice (``path`` ends with that key)

    def located(self, line: int, stream: str | None = None, *, record: bool = False) -> str:
        """``stream X, field Y, input line N: what`` — a RECORD's path inside its ``record``
        is the field; any other path is named after the text."""
        in_record = (record or self.kind == "RECORD") and len(self.path) > 1
        in_record = in_record and self.path[0] == "record"
        field = render_path(self.path[1:]) if in_record else None
        text = self.text
        if not in_record and self.repeated and len(self.path) > 1:  # the text names the key
            text = f"{text} (in {render_path(self.path[:-1])})"
        elif not in_record and self.path and not self.repeated:
            text = f"{text} (at {render_path(self.path)})"
        return f"{where(self.stream or stream, field, line)}: {text}"


def render_path(path: tuple[str | int, ...]) -> str:
    """``BillTo.Zip``, ``Tiers[0].Price``; shortened past ``SHOW_CHARS``."""
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else f".{step}" if text else step
    return text if len(text) <= SHOW_CHARS else text[: SHOW_CHARS - 3] + "..."


def show(text: str) -> str:
    """A value's text, shortened past ``SHOW_CHARS``."""
    return text if len(text) <= SHOW_CHARS else text[: SHOW_CHARS - 3] + "..."


def openers(line: bytes) -> int:
    """How many objects and arrays ``line`` opens (at least its nesting depth)."""
    return line.count(b"{") + line.count(b"[")


def too_deep(line: bytes) -> bool:
    """Whether objects and arrays nest deeper than ``MAX_DEPTH`` in ``line``."""
    return openers(line) > MAX_DEPTH and _scan(line, depth=MAX_DEPTH, stop=True).path is not None


def find_problem(line: bytes) -> Problem | None:
    """The first thing wrong with ``line`` as a Singer message, or None."""
    return next(problems(line), None)


def problems(line: bytes) -> Iterator[Problem]:
    """What is wrong with ``line``: a problem that stops reading (encoding, nesting, syntax,
    not an object) alone, else every value problem in document order."""
    try:
        text = line.decode()
    except UnicodeDecodeError as error:
        scan = _scan(line, offset=error.start)
        shown = show(scan.token.decode(errors="backslashreplace")) if scan.token else ""
        yield Problem(scan.path or (), f"not valid UTF-8: {shown}".rstrip(": "), *scan.envelope)
        return
    if openers(line) > MAX_DEPTH:
        scan = _scan(line, depth=MAX_DEPTH)
        if scan.path is not None:
            path = scan.path[:2] if scan.path[:1] == ("record",) else scan.path[:3]
            yield Problem(path, f"nested deeper than {MAX_DEPTH} levels", *scan.envelope)
            return
    try:
        message = json.loads(
            text,
            object_pairs_hook=_Pairs,
            parse_constant=_Constant,
            parse_float=_float,
            parse_int=_int,
        )
    except (ValueError, RecursionError):
        envelope = _scan(line).envelope  # the stream, if its name can be read
        yield Problem((), f"not valid JSON ({_syntax_error(line)})", *envelope)
        return
    if not isinstance(message, _Pairs):
        yield Problem((), "expected a JSON object")
        return
    envelope = (_first_string(message, "stream"), _first_string(message, "type"))
    for path, text, repeated in _walk(message, ()):
        yield Problem(path, text, *envelope, repeated=repeated)


def _syntax_error(line: bytes) -> str:
    try:
        orjson.loads(line)
    except orjson.JSONDecodeError as error:
        return str(error)
    return "unexpected structure"  # pragma: no cover - orjson and json agree on syntax


# --- the slow parse behind ``problems``: members in order, literals kept ------------------


class _Pairs(list[tuple[str, Any]]):
    """A JSON object: its members in order, a key given twice kept twice."""


class _Constant(str):
    """``NaN``, ``Infinity`` or ``-Infinity``: not JSON, but Python's parser takes them."""

    __slots__ = ()


class _OutOfRange(str):
    """A number literal beyond a double's range."""

    __slots__ = ()


def _float(text: str) -> float | _OutOfRange:
    number = float(text)
    return _OutOfRange(text) if math.isinf(number) else number


def _int(text: str) -> int | _OutOfRange:
    if len(text) < 300:  # noqa: PLR2004 - fewer digits than 1e308 has: a double holds it
        return int(text)
    try:
        float(int(text))
    except (OverflowError, ValueError):  # ValueError: past Python's 4300-digit limit
        return _OutOfRange(text)
    return 0


def _first_string(message: _Pairs, key: str) -> str | None:
    value = next((v for k, v in message if k == key), None)
    return value if type(value) is str else None


_Found = tuple[tuple[str | int, ...], str, bool]


def _walk(value: object, path: tuple[str | int, ...]) -> Iterator[_Found]:
    """Problems under ``value`` in document order; an object's keys before its values (so
    the order does not depend on which of two repeated members comes first)."""
    if isinstance(value, _Pairs):
        yield from _keys(value, path)
        for key, item in value:
            yield from _walk(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, (*path, index))
    elif isinstance(value, _Constant):
        yield path, f"{value} is not valid JSON", False
    elif isinstance(value, _OutOfRange):
        yield path, f"number {show(value)} is out of range", False
    elif isinstance(value, str) and _SURROGATE.search(value):
        yield path, f"{_quoted(value)} holds a lone surrogate, not valid Unicode", False


def _keys(members: _Pairs, path: tuple[str | int, ...]) -> Iterator[_Found]:
    seen: set[str] = set()
    for key, _ in members:
        if _SURROGATE.search(key):
            yield path, f"key {_quoted(key)} holds a lone surrogate, not valid Unicode", False
        elif key in seen:
            yield (*path, key), f"key {key!r} appears twice in one object", True
        seen.add(key)


def _quoted(text: str) -> str:
    return show(json.dumps(text))  # escapes lone surrogates as \udXXX


# --- the token scanner: where a byte offset or too-deep nesting is, without parsing -------


@dataclass
class _Frame:
    array: bool
    step: str | int | None  # the current key or index
    expect_key: bool


@dataclass
class _Scan:
    path: tuple[str | int, ...] | None = None
    token: bytes = b""
    stream: str | None = None
    kind: str | None = None

    @property
    def envelope(self) -> tuple[str | None, str | None]:
        return self.stream, self.kind


def _scan(
    line: bytes, *, depth: int | None = None, offset: int | None = None, stop: bool = False
) -> _Scan:
    """Find the path of the token holding byte ``offset``, or of the first container nested
    deeper than ``depth``; also the message's ``stream`` and ``type`` (looked for to the end
    of the line unless found earlier, or ``stop``: the path is all that is wanted)."""
    found = _Scan()
    stack: list[_Frame] = []
    beyond = 0  # containers open past ``depth`` (not tracked one by one)
    for match in _TOKEN.finditer(line):
        token = match.group()
        if offset is not None and match.start() <= offset < match.end():
            found.path, found.token = _token_path(stack, token), token
            return found
        head = token[:1]
        if head in b"{[":
            if depth is None or len(stack) < depth:
                array = head == b"["
                stack.append(_Frame(array, 0 if array else None, not array))
                continue
            found.path = found.path or tuple(f.step for f in stack if f.step is not None)
            if stop or found.stream is not None:
                return found
            beyond += 1
        elif head in b"}]":
            if beyond:
                beyond -= 1
            elif stack:
                stack.pop()
        elif stack and not beyond:
            _step(stack, head, token, found)
    return found


def _token_path(stack: list[_Frame], token: bytes) -> tuple[str | int, ...]:
    """The path of ``token``: a key's own path, or the value's."""
    top = stack[-1] if stack else None
    if top is not None and not top.array and top.expect_key:
        steps = [f.step for f in stack[:-1]] + [_string(token)]
    else:
        steps = [f.step for f in stack]
    return tuple(s for s in steps if s is not None)


def _step(stack: list[_Frame], head: bytes, token: bytes, found: _Scan) -> None:
    top = stack[-1]
    if head == b":":
        top.expect_key = False
    elif head == b",":
        if top.array:
            top.step = int(top.step or 0) + 1
        else:
            top.expect_key = True
    elif not top.array and top.expect_key:
        top.step = _string(token)
    elif len(stack) == 1 and top.step in ("stream", "type"):
        value = _string(token)
        if top.step == "stream" and found.stream is None:
            found.stream = value
        elif top.step == "type" and found.kind is None:
            found.kind = value


def _string(token: bytes) -> str:
    try:
        value = json.loads(token)
    except ValueError:
        return token.strip(b'"').decode(errors="backslashreplace")
    return value if isinstance(value, str) else str(value)


# --- the per-record path's parse: the SDK's view, plus what the conversion must still see --


class Repeated(dict[str, Any]):
    """An object that gave a key more than once: the last value wins here (as in the SDK),
    the earlier ones are kept to be written back, so the conversion refuses the record exactly
    where the fast path's does."""

    earlier: list[list[Any]]  # [key, value] of each member a later one replaced


class BigInt(int):
    """An integer beyond 64 bits, which orjson cannot write as an integer: written back as
    its digits."""

    __slots__ = ()


class LineError(ValueError):
    """``loads_record`` refused the line; ``find_problem`` says why and where."""


@dataclass(frozen=True)
class Parsed:
    """A parsed line, and whether some object in it gave a key twice."""

    value: Any
    repeated: bool


def loads_record(line: bytes, parse_float: Callable[[str], object] = decimal.Decimal) -> Parsed:
    """Parse a RECORD line as the SDK does (floats as ``Decimal``), with integers beyond
    64 bits as ``BigInt`` and an object that repeats a key as ``Repeated``. ``LineError``
    for what no path takes (not JSON, ``NaN``, a number beyond a double)."""
    decoder = _decoder(parse_float)
    try:
        if b"\\" in line and (b"\\ud" in line or b"\\uD" in line):  # Python takes lone ones
            _check_surrogates(line)
        decoder.repeated = False
        value = decoder.decode(line.decode())
    except (ValueError, RecursionError) as error:
        raise LineError(str(error)) from None
    return Parsed(value, repeated=decoder.repeated)


def loads_strict(line: bytes) -> Any:
    """Parse a control message (SCHEMA, ...); ``ValueError`` for anything wrong with its
    JSON text, a key given twice included."""
    message = orjson.loads(line)
    if (_key_count(message) != line.count(b'":') or _spaced_colon(line)) and any(
        p.repeated for p in problems(line)
    ):
        raise ValueError("a key given twice")
    return message


def _key_count(value: object) -> int:
    if isinstance(value, dict):
        return len(value) + sum(_key_count(v) for v in value.values())
    if isinstance(value, list):
        return sum(_key_count(v) for v in value)
    return 0


class _Decoder(json.JSONDecoder):
    """A thread's decoder for RECORD lines: refuses ``NaN`` and numbers beyond a double,
    keeps integers beyond 64 bits as ``BigInt`` and an object that repeats a key as
    ``Repeated`` (``repeated`` says whether one did). Reused: ``json.loads`` with options
    builds a decoder per call, which costs more than the hooks."""

    def __init__(self, parse_float: Callable[[str], object]) -> None:
        super().__init__(
            parse_float=_checked_float(parse_float),
            parse_int=_int64,
            parse_constant=_refuse,
            object_pairs_hook=self._object,
        )
        self.repeated = False

    def _object(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        value = dict(pairs)
        if len(value) == len(pairs):
            return value
        self.repeated = True
        repeated = Repeated(value)
        last = {key: i for i, (key, _) in enumerate(pairs)}
        repeated.earlier = [[k, v] for i, (k, v) in enumerate(pairs) if last[k] != i]
        return repeated


_local = threading.local()


def _decoder(parse_float: Callable[[str], object]) -> _Decoder:
    found: dict[Callable[[str], object], _Decoder] | None = getattr(_local, "decoders", None)
    if found is None:
        found = _local.decoders = {}
    decoder = found.get(parse_float)
    if decoder is None:
        decoder = found[parse_float] = _Decoder(parse_float)
    return decoder


def _checked_float(parse_float: Callable[[str], object]) -> Callable[[str], object]:
    def parse(text: str) -> object:
        value = parse_float(text)
        if isinstance(value, float) and math.isinf(value):
            raise ValueError("number out of range")
        if isinstance(value, decimal.Decimal) and value.adjusted() >= 308:  # noqa: PLR2004
            _check_range(value)
        return value

    return parse


def _int64(text: str) -> int:
    value = int(text)  # ValueError past Python's 4300-digit limit: out of range anyway
    if _INT64[0] <= value < _INT64[1]:
        return value
    _check_range(value)
    return BigInt(value)


def _check_range(number: int | decimal.Decimal) -> None:
    try:
        finite = math.isfinite(float(number))
    except OverflowError:
        finite = False
    if not finite:
        raise ValueError("number out of range")


def _check_surrogates(line: bytes) -> None:
    try:
        orjson.loads(line)
    except orjson.JSONDecodeError as error:
        if "surrogate" in str(error):
            raise ValueError("a lone surrogate") from None


def _refuse(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _spaced_colon(line: bytes) -> bool:
    """Whether a colon follows whitespace (then a key may not be followed by '":')."""
    return b" :" in line or b"\t:" in line or b"\r:" in line
