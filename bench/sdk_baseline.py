"""A singer-sdk target with default settings, the way SDK-based peers are built.

Records go through the SDK's per-record path (jsonschema validation on, timestamps parsed
per field) and a ``BatchSink`` writes each batch with ``pyarrow.Table.from_pylist``. Used by
``bench/run.py`` for the "x times the singer-sdk default" figure.
"""

from __future__ import annotations

import itertools
import typing as t
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from singer_sdk import typing as th
from singer_sdk.sinks import BatchSink
from singer_sdk.target_base import Target

_parts = itertools.count()


class BaselineSink(BatchSink):
    """Writes each batch of validated records to one Parquet file."""

    def process_batch(self, context: dict[str, t.Any]) -> None:
        """Write the batch the SDK collected."""
        records = context.get("records", [])
        if records:
            folder = Path(self.config["local_path"])
            folder.mkdir(parents=True, exist_ok=True)
            table = pa.Table.from_pylist(records)
            pq.write_table(table, folder / f"{self.stream_name}-{next(_parts)}.parquet")


class BaselineTarget(Target):
    """The baseline target."""

    name = "sdk-baseline"
    config_jsonschema = th.PropertiesList(th.Property("local_path", th.StringType)).to_dict()
    default_sink_class = BaselineSink


if __name__ == "__main__":
    BaselineTarget.cli()
