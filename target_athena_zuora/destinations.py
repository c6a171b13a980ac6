"""Choose the Storage and Catalog for the settings: S3 + Glue, or the embedded default."""

from __future__ import annotations

from pathlib import Path

from target_athena_zuora.catalog import Catalog
from target_athena_zuora.settings import Settings
from target_athena_zuora.storage import Storage


def build_destination(settings: Settings, transfer_date: str) -> tuple[Storage, Catalog]:
    """The storage and catalog the settings ask for; AWS modules are imported only when used.

    ``transfer_date`` (the run's ``dt``) starts a new Glue table's partition projection range.
    """
    if settings.on_aws:
        from target_athena_zuora.aws import build_aws_destination  # noqa: PLC0415

        return build_aws_destination(settings, first_date=transfer_date)
    from target_athena_zuora.catalog.duckdb import DuckDBCatalog  # noqa: PLC0415
    from target_athena_zuora.storage.local import LocalStorage  # noqa: PLC0415

    root = Path(settings.local_path)
    catalog = DuckDBCatalog(
        root, settings.timestamp_precision, current_views=settings.current_views
    )
    return LocalStorage(root), catalog
