"""METRIC lines that say which stream they count, in Meltano's console too.

singer-sdk's structured (JSON) log lines — what Meltano reads from a plugin with the
``structured-logging`` capability — carry a metric as ``"message": "METRIC"`` plus
``metric_info``; Meltano's console shows the message, the metric's name and value, and drops
its tags, so ``record_count 75`` never says of which stream. Each JSON formatter in place is
wrapped so that a metric's message names its stream (``METRIC record_count for stream
Invoice``) and ``stream_name`` is set; ``metric_info`` is left as it is. Plain console lines
(``METRIC: {...}`` with the tags) are untouched.
"""

from __future__ import annotations

import json
import logging


class StreamMetrics(logging.Formatter):
    """Wraps a formatter; rewrites the message of JSON metric lines only."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        """The inner formatter's line, the metric's stream named in its message."""
        line = self.inner.format(record)
        if not (line.startswith("{") and '"metric_info"' in line):
            return line
        try:
            data = json.loads(line)
            info = data["metric_info"]
            stream = (info.get("tags") or {}).get("stream")
        except (ValueError, KeyError, TypeError, AttributeError):
            return line
        if not stream:
            return line
        data["message"] = f"METRIC {info.get('metric')} for stream {stream}"
        data["stream_name"] = data.get("stream_name") or stream
        return json.dumps(data, default=str, separators=(",", ":"))


def name_streams_in_metrics() -> None:
    """Wrap every handler's formatter (root's and named loggers') once."""
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.root.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    for logger in loggers:
        for handler in logger.handlers:
            formatter = handler.formatter
            if formatter is not None and not isinstance(formatter, StreamMetrics):
                handler.setFormatter(StreamMetrics(formatter))
