"""``_transfer_status`` on AWS: a part per run under ``<schema>/_transfer_status/`` in S3 and a
Glue table Athena reads (``SELECT ... FROM "<schema>"."_transfer_status"``), on moto."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scenarios.three_runs import MODELS, RUNS, records

from target_athena_zuora.glue_types import glue_columns
from target_athena_zuora.status import status_schema

pytestmark = pytest.mark.aws

Aws = Callable[[str], Any]
RunCli = Callable[..., Any]
KEY = re.compile(
    r"^(?P<schema>\w+)/_transfer_status/dt=(?P<dt>[\d-]{10})/(?P<n>\d+)_(?P<ts>\d{14})\.parquet$"
)


def test_transfer_status_lands_in_s3_with_a_glue_table(
    run_cli: RunCli, aws: Aws, aws_config: dict[str, Any]
) -> None:
    for lines in RUNS:
        result = run_cli(lines, config=aws_config)
        assert result.returncode == 0, result.stderr
    bucket, schema = aws_config["bucket"], aws_config["schema"]
    s3 = aws("s3")
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"{schema}/_transfer_status/")["Contents"]
    keys = sorted(o["Key"] for o in listed)
    matches = [KEY.match(k) for k in keys]
    assert len(keys) == len(RUNS) and all(matches), keys
    stamps = sorted(m["ts"] for m in matches if m)

    glue = aws("glue")
    table = glue.get_table(DatabaseName=schema, Name="_transfer_status")["Table"]
    assert table["StorageDescriptor"]["Columns"] == glue_columns(status_schema("ms"))
    assert table["StorageDescriptor"]["Location"] == f"s3://{bucket}/{schema}/_transfer_status/"
    assert table["PartitionKeys"] == [{"Name": "dt", "Type": "string"}]
    assert table["Parameters"]["classification"] == "parquet"
    partitions = glue.get_partitions(DatabaseName=schema, TableName="_transfer_status")
    assert sorted(p["Values"][0] for p in partitions["Partitions"]) == sorted(
        {m["dt"] for m in matches if m}
    )
    assert "_transfer_status_current" not in {
        t["Name"] for t in glue.get_tables(DatabaseName=schema)["TableList"]
    }

    for run, key in enumerate(keys):
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        part = pq.read_table(io.BytesIO(body))
        assert part.schema.remove_metadata().equals(status_schema("ms"))
        rows = {r["model"]: r for r in part.to_pylist()}
        assert set(rows) == set(MODELS.values())
        for stream, model in MODELS.items():
            row = rows[model]
            assert row["records"] == len(records(run, stream))
            assert row["transfer_timestamp"].strftime("%Y%m%d%H%M%S") == stamps[run]
            model_parts = [
                o
                for o in s3.list_objects_v2(Bucket=bucket, Prefix=f"{schema}/{model}/")["Contents"]
                if o["Key"].endswith(f"_{stamps[run]}.parquet")
            ]
            assert row["parts"] == len(model_parts)
            assert row["bytes"] == sum(o["Size"] for o in model_parts)
    assert pa.types.is_timestamp(part.schema.field("finished_at").type)
