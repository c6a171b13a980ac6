"""METRIC lines in singer-sdk's structured (JSON) logs name their stream in the message
Meltano's console shows; plain console lines are untouched."""

from __future__ import annotations

import io
import json
import logging

from singer_sdk import metrics
from singer_sdk.logging import ConsoleFormatter, StructuredFormatter

from target_athena_zuora.logs import name_streams_in_metrics


def emit(formatter: logging.Formatter, tags: dict[str, object]) -> str:
    logger = logging.getLogger(f"test_logs.{id(formatter)}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)
    logger.addHandler(handler)
    try:
        name_streams_in_metrics()
        point = metrics.Point("counter", metrics.Metric.RECORD_COUNT, 75, tags)
        metrics.log(logger, point)
    finally:
        logger.removeHandler(handler)
    return out.getvalue().strip()


def test_structured_metric_names_its_stream() -> None:
    line = json.loads(emit(StructuredFormatter(), {"stream": "Invoice", "pid": 1}))
    assert line["message"] == "METRIC record_count for stream Invoice"
    assert line["stream_name"] == "Invoice"
    assert line["metric_info"]["metric"] == "record_count"
    assert line["metric_info"]["value"] == 75


def test_structured_metric_without_a_stream_is_left_alone() -> None:
    line = json.loads(emit(StructuredFormatter(), {"pid": 1}))
    assert line["message"] == "METRIC"


def test_console_lines_are_untouched() -> None:
    line = emit(ConsoleFormatter(), {"stream": "Invoice"})
    assert "METRIC: " in line
    assert json.loads(line.split("METRIC: ", 1)[1])["tags"] == {"stream": "Invoice"}
