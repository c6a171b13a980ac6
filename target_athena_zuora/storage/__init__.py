"""Where parts land: one small interface, a local directory or an S3 bucket."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from target_athena_zuora.errors import KeyExistsError, StorageError

__all__ = ["KeyExistsError", "Storage", "StorageError"]


class Storage(Protocol):
    """Insert-only object storage; keys look like ``zuora/invoice/dt=.../0_ts.parquet``."""

    def create(self, key: str, source: Path) -> None:
        """Store the complete file ``source`` at ``key``.

        Raises ``KeyExistsError`` if the key exists (nothing is overwritten) and
        ``StorageError`` for any other failure; never leaves a partial object behind.
        """
        ...

    def uri(self, key: str) -> str:
        """The absolute URI (``file`` path or ``s3://``) of ``key``; ``key`` may be a prefix."""
        ...

    def exists(self, key: str) -> bool:
        """Whether an object exists at ``key``."""
        ...

    def close(self) -> None:
        """Wait for pending work and release resources."""
        ...
