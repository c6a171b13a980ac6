"""The embedded default's storage: the layout in a local directory."""

from __future__ import annotations

import os
from pathlib import Path

from target_athena_zuora.errors import KeyExistsError
from target_athena_zuora.files import fsync_directory, fsync_file, os_errors


class LocalStorage:
    """Parts as files under ``root``, created by hard link: whole or not at all."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def create(self, key: str, source: Path) -> None:
        """Link the complete, fsynced ``source`` to ``key``; fail if ``key`` exists."""
        destination = self.root / key
        with os_errors(destination):
            destination.parent.mkdir(parents=True, exist_ok=True)
            fsync_file(source)
            try:
                os.link(source, destination)  # atomic and exclusive: never overwrites
            except FileExistsError as error:
                raise KeyExistsError(f"{destination} already exists") from error
            fsync_directory(destination.parent)

    def uri(self, key: str) -> str:
        """The absolute path of ``key`` (a trailing ``/`` is kept)."""
        path = str(self.root / key)
        return path + "/" if key.endswith("/") else path

    def exists(self, key: str) -> bool:
        """Whether a file exists at ``key``."""
        return (self.root / key).exists()

    def close(self) -> None:
        """Nothing to release."""
