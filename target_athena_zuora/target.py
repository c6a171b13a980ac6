"""target-athena-zuora: Singer streams -> Parquet in the Zuora Connector for AWS Athena layout."""

from __future__ import annotations

import json
import logging
import shutil
import sys
import tempfile
import typing as t
import weakref
from collections.abc import Callable
from pathlib import Path

import click
from singer_sdk import typing as th
from singer_sdk.mapper import SameRecordTransform
from singer_sdk.target_base import Target

from target_athena_zuora.catalog import Catalog, TableDefinition
from target_athena_zuora.destinations import build_destination
from target_athena_zuora.errors import TargetError
from target_athena_zuora.layout import TransferClock, model_prefix
from target_athena_zuora.reader import FastSingerReader
from target_athena_zuora.schema import StreamSchema
from target_athena_zuora.settings import Settings
from target_athena_zuora.sinks import AthenaSink
from target_athena_zuora.storage import Storage
from target_athena_zuora.writer import ModelWriter, PartOptions, Pipeline


def _text(name: str, description: str, **kwargs: t.Any) -> th.Property[t.Any]:
    return th.Property(name, th.StringType, description=description, **kwargs)


def _config_schema() -> dict[str, t.Any]:
    return th.PropertiesList(
        _text(
            "local_path",
            "Root directory of the embedded default, used when no `bucket` is set: parts "
            "under `<local_path>/<schema>/`, the DuckDB catalog in `<local_path>/catalog.duckdb`.",
            default="output",
        ),
        _text(
            "schema",
            "Folder under the root (local path or bucket) holding the data, and the catalog "
            "database (DuckDB schema or Glue database, created when missing). Lower snake_case.",
            default="zuora",
        ),
        _text(
            "compression",
            "Parquet compression codec.",
            default="snappy",
            allowed_values=["snappy", "zstd", "gzip", "none"],
        ),
        _text(
            "timestamp_precision",
            "Unit of `date-time` columns in files and tables alike; finer input is truncated.",
            default="ms",
            allowed_values=["ms", "us"],
        ),
        _text(
            "number_type",
            "How JSON `number` lands: `double`, or `decimal(P,S)` with P <= 38 (a value "
            "with more than S decimals is an error, never rounded).",
            default="double",
        ),
        th.Property(
            "part_size_mb",
            th.IntegerType,
            default=128,
            description="A part is closed once it holds this many MB of Parquet; it is also "
            "closed when the stream ends and before a STATE is emitted.",
        ),
        _text(
            "bucket",
            "S3 bucket. When set, parts go to `s3://<bucket>/<schema>/<model>/dt=<date>/"
            "<part>_<timestamp>.parquet` and tables to the Glue Data Catalog.",
        ),
        _text("region", "AWS region of the bucket, used for every AWS client."),
        _text(
            "database",
            "S3 folder receiving Athena query results (`s3://<bucket>/<database>/"
            "athena_output/`). Defaults to the `schema` value.",
        ),
        _text("workgroup", "Athena workgroup.", default="primary"),
        _text(
            "auth_method",
            "`role` (AssumeRole with `external_id`), `access_key`, or `default` (the AWS "
            "credential chain). When unset: `role` if `role_arn` is set, `access_key` if "
            "`aws_access_key_id` is set, else `default`.",
            allowed_values=["role", "access_key", "default"],
        ),
        _text("role_arn", "IAM role to assume (auth_method `role`)."),
        _text("external_id", "External id the role's trust policy requires.", secret=True),
        _text("role_session_name", "Session name for AssumeRole.", default="target-athena-zuora"),
        _text("aws_access_key_id", "Access key id (auth_method `access_key`).", secret=True),
        _text("aws_secret_access_key", "Secret access key.", secret=True),
        _text("aws_session_token", "Session token of temporary access keys.", secret=True),
        _text("aws_account_id", "Account id for `--print-iam-policy` when `role_arn` is unset."),
        _text(
            "trusted_principal",
            "For `--print-iam-policy`: ARN of the identity that runs the target and assumes the "
            "role (user, role or account root). Default: the role account's root.",
        ),
        _text(
            "endpoint_url",
            "One endpoint for every AWS client (S3-compatible storage, emulators); boto3's "
            "`AWS_ENDPOINT_URL_<SERVICE>` variables work when unset.",
        ),
        _text(
            "sse",
            "Server-side encryption of parts.",
            default="none",
            allowed_values=["none", "AES256", "aws:kms"],
        ),
        _text("kms_key_id", "KMS key for `sse: aws:kms`."),
        th.Property(
            "partition_projection",
            th.BooleanType,
            default=False,
            description="Use Athena partition projection on `dt` instead of registering "
            "partitions in Glue.",
        ),
        th.Property(
            "fast_path",
            th.BooleanType,
            default=True,
            description="Send RECORD lines of streams without stream maps, flattening, record "
            "metadata or validation straight to the batch Arrow conversion. `false` forces the "
            "SDK's per-record path (same output, slower).",
        ),
        th.Property(
            "validate_records",
            th.BooleanType,
            default=False,
            title="Validate Records",
            description="Also validate every record with jsonschema (per-record path, "
            "slower). Off by default: the Arrow conversion already rejects any value that "
            "does not fit its declared type.",
        ),
    ).to_dict()


class TargetAthenaZuora(Target):
    """Lands Singer streams as Parquet parts and makes them queryable (Athena or DuckDB)."""

    name = "target-athena-zuora"
    config_jsonschema = _config_schema()
    default_sink_class = AthenaSink
    message_reader_class = FastSingerReader

    def __init__(self, **kwargs: t.Any) -> None:
        super().__init__(**kwargs)
        self.settings = Settings.from_config(self.config)
        self.clock = TransferClock.now()
        self.current_line = 0
        self.pipeline = Pipeline()
        self._writers: dict[str, ModelWriter] = {}
        self._destination: tuple[Storage, Catalog] | None = None
        self._tmp_dir: Path | None = None
        self._remove_tmp: Callable[[], object] | None = None  # a weakref.finalize
        self._database_ready = False
        reader = self.message_reader
        if isinstance(reader, FastSingerReader):
            reader.hooks = self

    @property
    def max_parallelism(self) -> int:
        """One worker converts and writes in order; the SDK must not drain in parallel."""
        return 1

    @max_parallelism.setter
    def max_parallelism(self, new_value: int) -> None:
        """Ignored: see the getter."""

    # --- destination and writers --------------------------------------------------------

    @property
    def destination(self) -> tuple[Storage, Catalog]:
        """The storage and catalog, built on first use (never for --about/--help)."""
        if self._destination is None:
            self._destination = build_destination(self.settings, self.clock.transfer_date)
        return self._destination

    def model_writer(self, stream_schema: StreamSchema) -> ModelWriter:
        """The writer of ``stream_schema``'s model, evolved to this schema version."""
        writer = self._writers.get(stream_schema.model)
        if writer is None:
            storage = self.destination[0]
            options = PartOptions(
                schema=self.settings.schema,
                clock=self.clock,
                compression=self.settings.compression,
                part_size_bytes=self.settings.part_size_bytes,
                tmp_dir=self._temporary_directory(),
            )
            writer = ModelWriter(stream_schema.model, storage, options)
            self._writers[stream_schema.model] = writer
        writer.evolve(stream_schema.arrow)
        if writer.catalog_stale:
            # Before any part of this schema is stored: a change the catalog cannot take
            # (a column changing type) fails here, not after parts land in the table.
            writer.catalog_stale = False  # first: the write stage may set it meanwhile
            self._apply_table(writer)
        return writer

    def _temporary_directory(self) -> Path:
        if self._tmp_dir is None:
            parent = None
            if not self.settings.on_aws:  # same filesystem, so parts are linked, not copied
                parent = Path(self.settings.local_path)
                parent.mkdir(parents=True, exist_ok=True)
            self._tmp_dir = Path(tempfile.mkdtemp(prefix=".parts-", dir=parent))
            # Runs from release(), or at exit after an error: the open part there was never
            # acknowledged by a STATE.
            self._remove_tmp = weakref.finalize(
                self, shutil.rmtree, self._tmp_dir, ignore_errors=True
            )
        return self._tmp_dir

    # --- the fast path ------------------------------------------------------------------

    def _process_schema_message(self, message_dict: dict[str, t.Any]) -> None:
        stream = message_dict.get("stream")
        previous = self._sinks_active.get(stream) if isinstance(stream, str) else None
        if isinstance(previous, AthenaSink) and previous.original_schema != message_dict.get(
            "schema"
        ):
            previous.flush()  # the old version's records go first, in input order
        super()._process_schema_message(message_dict)
        stream = message_dict["stream"]
        reader = self.message_reader
        if not isinstance(reader, FastSingerReader):
            return
        reader.forget(stream)
        maps = self.mapper.stream_maps.get(stream, [])
        if self._fast_path_allowed() and len(maps) == 1 and type(maps[0]) is SameRecordTransform:
            sink = self._sinks_active.get(maps[0].stream_alias)
            if isinstance(sink, AthenaSink) and not sink.include_sdc_metadata_properties:
                reader.fast_sinks[stream] = sink

    def _fast_path_allowed(self) -> bool:
        config = self.config
        return config.get("fast_path", True) is not False and not (
            config.get("validate_records")
            or config.get("flattening_enabled")
            or config.get("add_record_metadata")
        )

    # --- durability: parts complete and catalog applied before STATE ---------------------

    def seal(self) -> None:
        """Convert everything buffered, close open parts, apply the catalog."""
        for sink in [*self._sinks_active.values(), *self._sinks_to_clear]:
            if isinstance(sink, AthenaSink):
                sink.flush()
        for writer in self._writers.values():
            self.pipeline.submit_write(writer.close_part)
        self.pipeline.join()
        self._apply_catalog()

    def _apply_catalog(self) -> None:
        """Apply changed tables and register this run's partition where parts landed."""
        for writer in self._writers.values():
            if writer.catalog_stale and writer.table_schema is not None:
                writer.catalog_stale = False
                definition = self._apply_table(writer)
                if writer.stats.parts:
                    self.destination[1].add_partitions(definition, [self.clock.transfer_date])

    def _apply_table(self, writer: ModelWriter) -> TableDefinition:
        storage, catalog = self.destination
        if not self._database_ready:
            catalog.ensure_database(self.settings.schema)
            self._database_ready = True
        assert writer.table_schema is not None  # noqa: S101 - evolve() ran first
        definition = TableDefinition(
            database=self.settings.schema,
            name=writer.model,
            location=storage.uri(model_prefix(self.settings.schema, writer.model)),
            schema=writer.table_schema,
        )
        catalog.apply_table(definition)
        return definition

    def _write_state_message(self, state: dict[str, t.Any]) -> None:
        self.seal()
        super()._write_state_message(state)

    def process_endofpipe(self) -> None:
        """Drain, seal, emit the final STATE, then summarise each table on stderr."""
        super().process_endofpipe()
        self.seal()
        for writer in self._writers.values():
            stats = writer.stats
            self.logger.info(
                "summary: table %s.%s: %d records, %d parts, %d bytes, %.2f s",
                self.settings.schema,
                writer.model,
                stats.records,
                stats.parts,
                stats.bytes,
                stats.seconds,
            )
        self.release()

    def release(self) -> None:
        """Stop the worker, drop unfinished parts and temporary files, close clients."""
        self.pipeline.shutdown()
        for writer in self._writers.values():
            writer.abort()
        if self._tmp_dir is not None:
            if self._remove_tmp is not None:
                self._remove_tmp()
            self._tmp_dir = None
        if self._destination is not None:
            for resource in self._destination:
                resource.close()
            self._destination = None

    # --- CLI ------------------------------------------------------------------------------

    @classmethod
    def get_singer_command(cls) -> click.Command:
        """The Singer CLI plus ``--test`` and ``--print-iam-policy``."""
        command = super().get_singer_command()
        command.params.extend(
            [
                click.Option(
                    ["--test", "connection_test"],
                    is_flag=True,
                    help="Check credentials, bucket, Glue and Athena, then exit.",
                ),
                click.Option(
                    ["--print-iam-policy"],
                    is_flag=True,
                    help="Print the IAM access and trust policies this config needs.",
                ),
            ]
        )
        return command

    @classmethod
    def invoke(
        cls,
        *,
        connection_test: bool = False,
        print_iam_policy: bool = False,
        **kwargs: t.Any,
    ) -> None:
        """Run the target; a ``TargetError`` ends it with one line on stderr and exit code 1."""
        try:
            if connection_test or print_iam_policy:
                sys.exit(cls._run_tool(kwargs.get("config"), connection_test=connection_test))
            super().invoke(**kwargs)
        except TargetError as error:
            cls.logger.error("%s", error, exc_info=cls.logger.isEnabledFor(logging.DEBUG))  # noqa: TRY400
            sys.exit(1)

    @classmethod
    def _run_tool(cls, config: t.Any, *, connection_test: bool) -> int:
        target = cls(
            config=config.config if config else None,
            validate_config=True,
            parse_env_config=bool(config and config.parse_env),
            setup_mapper=False,
        )
        if connection_test:
            from target_athena_zuora.checks import run_connection_test  # noqa: PLC0415

            return run_connection_test(target.settings)
        from target_athena_zuora.iam import policy_documents  # noqa: PLC0415

        print(json.dumps(policy_documents(target.settings), indent=2))  # noqa: T201
        return 0
