"""The sink: buffer a stream's raw records, convert them in batches, write them to parts."""

from __future__ import annotations

import typing as t

from singer_sdk.exceptions import InvalidRecord
from singer_sdk.sinks import BatchSink

from target_athena_zuora.errors import RecordError, where
from target_athena_zuora.records import Converter, Segment, dumps_record
from target_athena_zuora.schema import StreamSchema, TypeOptions, map_stream

if t.TYPE_CHECKING:
    from target_athena_zuora.target import TargetAthenaZuora
    from target_athena_zuora.writer import ModelWriter

BATCH_BYTES = 6 * 1024 * 1024  # raw JSON per conversion; with 2 MB reads, bounds RSS (bench/)


class AthenaSink(BatchSink):
    """One stream (per schema version): raw JSON records in, Arrow row groups out."""

    def __init__(
        self,
        target: TargetAthenaZuora,
        stream_name: str,
        schema: dict[str, t.Any],
        key_properties: t.Sequence[str] | None,
    ) -> None:
        super().__init__(target, stream_name, schema, key_properties)
        self.athena_target = target
        self.lander = target.lander
        settings = target.settings
        options = TypeOptions(settings.number_type, settings.timestamp_precision)
        self.stream_schema: StreamSchema = map_stream(
            stream_name,
            self.schema,
            key_properties,
            options,
            target.bookmark_properties(stream_name),
        )
        self.converter = Converter(self.stream_schema)
        self.model_writer: ModelWriter = self.lander.writer(self.stream_schema)
        self._segments: list[Segment] = []
        self._bytes = 0
        self.lander.register(self)

    def add_segment(self, data: bytes, first_line: int, offsets: t.Sequence[int]) -> None:
        """Buffer RECORD lines (newline-separated); line ``first_line + offsets[i]`` each."""
        self._segments.append(Segment(data, first_line, offsets))
        self._bytes += len(data)
        if self._bytes >= BATCH_BYTES:
            self.flush()

    def take(self, data: bytes, first_line: int, offsets: t.Sequence[int]) -> None:
        """The fast path's entry: buffer RECORD lines and count them as the SDK would."""
        self.add_segment(data, first_line, offsets)
        self.record_counter_metric.increment(len(offsets))
        self.lander.received(self.stream_name, len(offsets))

    def flush(self) -> None:
        """Hand the buffered records to the worker: convert, then append to the open part."""
        if not self._segments:
            return
        segments, self._segments, self._bytes = self._segments, [], 0
        converter = self.converter
        self.lander.submit(lambda: converter.convert(segments), self.model_writer.write)

    # --- the SDK's per-record path (stream maps, flattening, validation, metadata) ---------

    def process_record(self, record: dict[str, t.Any], context: dict[str, t.Any]) -> None:
        """Buffer a record the SDK has mapped/validated, as JSON text like the fast path."""
        line = self.athena_target.current_line
        try:
            data = dumps_record(record)
        except TypeError as error:  # orjson.JSONEncodeError: e.g. a value a stream map made
            located = where(self.stream_name, line=line)
            raise RecordError(f"{located}: cannot write the record as JSON ({error})") from None
        self.add_segment(data, line, (0,))
        self.lander.received(self.stream_name, 1)

    def process_batch(self, context: dict[str, t.Any]) -> None:
        """The SDK drains a batch: convert what is buffered (the part stays open)."""
        self.flush()

    def _parse_timestamps_in_record(self, *args: t.Any, **kwargs: t.Any) -> None:
        """Date-times are parsed by the Arrow conversion, for both paths alike."""

    def _validate_and_parse(self, record: dict[str, t.Any]) -> dict[str, t.Any]:
        """``validate_records: true``: a failure is one located line, not a logged traceback."""
        if self._validator is None:
            return record
        try:
            self._validator.validate(record)
        except InvalidRecord as error:
            path = getattr(error.__cause__, "absolute_path", ())  # jsonschema's ValidationError
            field = ".".join(str(p) for p in path) or None
            located = where(self.stream_name, field, self.athena_target.current_line)
            if self.fail_on_record_validation_exception:
                raise RecordError(f"{located}: {error.error_message}") from None
            self.logger.warning("%s: %s (record kept)", located, error.error_message)
        return record

    def _singer_validate_message(self, record: dict[str, t.Any]) -> None:
        """Key properties are checked by the conversion, with the input line."""

    def clean_up(self) -> None:
        """The sink is retired (its records were handed on by the drain before this)."""
        self.flush()
        self.lander.unregister(self)
        super().clean_up()
