"""Durable local files: fsync, atomic replacement, and OS errors in the OS's words."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from target_athena_zuora.errors import StorageError, TargetError, first_line


def os_reason(error: OSError) -> str:
    """``No space left on device``: the OS's words for ``error``, never a bare errno."""
    if error.errno:
        return os.strerror(error.errno)
    return first_line(error)


@contextmanager
def os_errors(
    path: Path, verb: str = "write", error: type[TargetError] = StorageError
) -> Iterator[None]:
    """Any OS error (full disk, permissions, read-only filesystem) as one ``error`` line
    naming ``path`` and the reason: ``cannot write <path>: No space left on device``."""
    try:
        yield
    except OSError as raised:
        raise error(f"cannot {verb} {path}: {os_reason(raised)}") from raised


def fsync_file(path: Path) -> None:
    """Flush ``path``'s data to the disk."""
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def fsync_directory(path: Path) -> None:
    """Flush ``path``'s entries (a new or renamed file in it) to the disk."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_atomically(path: Path, data: bytes | Path) -> None:
    """Replace ``path`` with ``data`` (bytes, or the contents of another file) whole or not
    at all (temporary file beside it, fsync, rename); raises ``OSError``, leaving no
    temporary file behind."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        if isinstance(data, Path):
            shutil.copyfile(data, temporary)
        else:
            temporary.write_bytes(data)
        fsync_file(temporary)
        temporary.replace(path)
        fsync_directory(path.parent)
    finally:
        temporary.unlink(missing_ok=True)
