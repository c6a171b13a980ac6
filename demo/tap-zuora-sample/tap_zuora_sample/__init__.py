"""tap-zuora-sample: an offline stand-in for tap-zuora (AQuA mode) with incremental runs.

Without STATE it writes the bundled sample (Account, Invoice, InvoiceItem, Subscription,
75 records each, a STATE after every record), exactly as tap-zuora 1.6.1 would on a first
run. Given ``--state`` with bookmarks, each stream sends only the rows whose
``UpdatedDate`` is at or after its bookmark (the bookmarked row again, as AQuA does), from
a deterministic change log: each run finds the next round of changes (a few rows updated,
a few created, one soft-deleted). See ``history.py``.

``--config`` may set ``records_limit`` (RECORDs per stream and run); ``--catalog`` is
accepted and ignored. When stdout is closed early (the target stopped), the tap stops
quietly with exit code 141, as a process killed by SIGPIPE would.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO

from tap_zuora_sample import sync

__version__ = "0.2.0"
EXIT_CLOSED_PIPE = 141  # 128 + SIGPIPE: what a shell reports for `yes | head -1`

ABOUT = (
    f"tap-zuora-sample {__version__}: an offline tap-zuora 1.6.1 (AQuA) stand-in; the bundled "
    "sample on the first run, then each run with --state sends the next round of changes "
    "(capabilities: about, state)"
)


def _read_json_object(path: Path | None, what: str) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        loaded = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError) as error:
        raise SystemExit(f"tap-zuora-sample: cannot read {what} {path}: {error}") from error
    if not isinstance(loaded, dict):
        raise SystemExit(f"tap-zuora-sample: {what} {path} must hold a JSON object")
    return loaded


def _records_limit(config: dict[str, Any]) -> int | None:
    limit = config.get("records_limit")
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise SystemExit(f"tap-zuora-sample: records_limit must be an integer >= 0, got {limit!r}")
    return limit


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="tap-zuora-sample", description=__doc__)
    parser.add_argument("--config", type=Path, help="JSON file; optional key records_limit")
    parser.add_argument("--state", type=Path, help="STATE of the previous run (bookmarks)")
    parser.add_argument("--catalog", type=Path, help="accepted and ignored")
    parser.add_argument("--about", action="store_true", help="print what this tap is")
    return parser.parse_args(argv)


def _write(out: TextIO, lines: Iterable[str]) -> int:
    """Write ``lines``; a reader that went away ends the run quietly (exit 141)."""
    try:
        out.writelines(lines)
        out.flush()
    except BrokenPipeError:
        if out is sys.stdout:
            # Python flushes stdout again at exit: point it at /dev/null so that flush
            # cannot raise a second BrokenPipeError ("Exception ignored ...").
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return EXIT_CLOSED_PIPE
    return 0


def run(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Write one run's messages (or ``--about``) to ``out``; returns the exit code."""
    args = _parse_args(argv)
    out = out or sys.stdout
    if args.about:
        return _write(out, [ABOUT + "\n"])
    limit = _records_limit(_read_json_object(args.config, "config") or {})
    state = _read_json_object(args.state, "state")
    return _write(out, sync.run_lines(state, limit))


def main() -> None:
    """Console script entry point."""
    raise SystemExit(run())
