"""The embedded default's storage: the layout in a local directory."""

from __future__ import annotations

import os
from pathlib import Path

from target_athena_zuora.errors import KeyExistsError, StorageError
from target_athena_zuora.files import fsync_directory, fsync_file, os_reason


class LocalStorage:
    """Parts as files under ``root``, created by hard link: whole or not at all."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def create(self, key: str, source: Path) -> None:
        """Link the complete, fsynced ``source`` to ``key``; fail if ``key`` exists."""
        destination = self.root / key
        try:
            destination.parent.mkdir(parents=True, exist_ok=True)
            fsync_file(source)
            os.link(source, destination)  # atomic and exclusive: never overwrites
            fsync_directory(destination.parent)
        except FileExistsError as error:
            raise KeyExistsError(f"{destination} already exists") from error
        except OSError as error:
            raise StorageError(f"cannot write {destination}: {os_reason(error)}") from error

    def uri(self, key: str) -> str:
        """The absolute path of ``key`` (a trailing ``/`` is kept)."""
        path = str(self.root / key)
        return path + "/" if key.endswith("/") else path

    def exists(self, key: str) -> bool:
        """Whether a file exists at ``key``."""
        return (self.root / key).exists()

    def close(self) -> None:
        """Nothing to release."""
