"""``--rebuild-catalog``: the local DuckDB catalog derived again from the parts layout.

For an output folder that was moved or copied (the views hold absolute paths) or a catalog
that was damaged or deleted: the tables are derived from the parts' own schemas, merged
into ``catalog.json`` when it is readable, and ``catalog.duckdb`` is rewritten for the
folder where it now is. Temporary files of runs that are no longer alive are removed too.
"""

from __future__ import annotations

import logging
from pathlib import Path

from target_athena_zuora.catalog.duckdb import DuckDBCatalog
from target_athena_zuora.errors import ConfigError
from target_athena_zuora.landing import remove_stale_workspaces
from target_athena_zuora.settings import Settings


def rebuild_catalog(settings: Settings, logger: logging.Logger) -> int:
    """Rebuild ``<local_path>/catalog.duckdb``; print one line per table; 0 when done."""
    if settings.on_aws:
        raise ConfigError(
            "--rebuild-catalog rebuilds the local DuckDB catalog; with 'bucket' set the tables "
            "are in Glue (run a load to apply them)"
        )
    root = Path(settings.local_path).resolve()
    if not root.is_dir():
        raise ConfigError(f"--rebuild-catalog: local_path {root} is not a directory")
    for path in remove_stale_workspaces(root):
        logger.info("removed the temporary files of a run that ended: %s", path)
    catalog = DuckDBCatalog(
        root, settings.timestamp_precision, current_views=settings.current_views
    )
    tables = catalog.rebuild()
    for table in tables:
        print(f"{table.database}.{table.name}: {len(table.columns)} columns")  # noqa: T201
    logger.info("rebuilt %s with %d tables", catalog.path, len(tables))
    return 0
