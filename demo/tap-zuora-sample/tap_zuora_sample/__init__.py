"""tap-zuora-sample: replay a bundled Zuora-shaped Singer stream to stdout, offline.

The sample (``sample.singer`` beside this file) is what tap-zuora 1.6.1 writes for Account,
Invoice, InvoiceItem and Subscription: SCHEMA messages, RECORDs and a STATE after every
record. ``--config`` may set ``records_limit`` (RECORDs per stream); ``--state`` and
``--catalog`` are accepted and ignored, since a replay has nothing to resume or select.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

__version__ = "0.1.0"

ABOUT = (
    f"tap-zuora-sample {__version__}: replays a bundled tap-zuora 1.6.1-shaped sample "
    "(Account, Invoice, InvoiceItem, Subscription; STATE after every record) offline"
)


def _read_config(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    config = json.loads(path.read_text(encoding="utf-8") or "{}")
    if not isinstance(config, dict):
        raise SystemExit(f"tap-zuora-sample: config {path} must hold a JSON object")
    return config


def _records_limit(config: dict[str, Any]) -> int | None:
    limit = config.get("records_limit")
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise SystemExit(f"tap-zuora-sample: records_limit must be an integer >= 0, got {limit!r}")
    return limit


def sample_lines() -> Iterator[str]:
    """The bundled sample, line by line (newlines included)."""
    with resources.files(__name__).joinpath("sample.singer").open("r", encoding="utf-8") as f:
        yield from f


def limit_records(lines: Iterable[str], limit: int | None) -> Iterator[str]:
    """Drop RECORDs past ``limit`` per stream, and the per-record STATE that follows each."""
    if limit is None:
        yield from lines
        return
    counts: dict[str, int] = {}
    skipping = False
    for line in lines:
        message = json.loads(line)
        if message["type"] == "RECORD":
            stream = message["stream"]
            counts[stream] = counts.get(stream, 0) + 1
            skipping = counts[stream] > limit
        elif message["type"] == "STATE" and skipping:
            skipping = False
            continue
        else:
            skipping = False
        if not skipping:
            yield line


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="tap-zuora-sample", description=__doc__)
    parser.add_argument("--config", type=Path, help="JSON file; optional key records_limit")
    parser.add_argument("--state", type=Path, help="accepted and ignored")
    parser.add_argument("--catalog", type=Path, help="accepted and ignored")
    parser.add_argument("--about", action="store_true", help="print what this tap is")
    return parser.parse_args(argv)


def run(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Write the sample (or ``--about``) to ``out``; returns the exit code."""
    args = _parse_args(argv)
    out = out or sys.stdout
    if args.about:
        out.write(ABOUT + "\n")
        return 0
    limit = _records_limit(_read_config(args.config))
    out.writelines(limit_records(sample_lines(), limit))
    out.flush()
    return 0


def main() -> None:
    """Console script entry point."""
    raise SystemExit(run())
