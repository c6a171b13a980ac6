"""target-athena-zuora: Singer streams -> Parquet in the Zuora Connector for AWS Athena layout."""

from __future__ import annotations

import difflib
import json
import logging
import sys
import typing as t

import click
from singer_sdk import typing as th
from singer_sdk.mapper import SameRecordTransform
from singer_sdk.target_base import Target

from target_athena_zuora.errors import TargetError
from target_athena_zuora.files import os_reason
from target_athena_zuora.landing import Lander
from target_athena_zuora.layout import TransferClock
from target_athena_zuora.logs import name_streams_in_metrics
from target_athena_zuora.reader import FastSingerReader
from target_athena_zuora.settings import Settings
from target_athena_zuora.signals import CONTROLLER, Abort, signal_name
from target_athena_zuora.sinks import AthenaSink


def _text(name: str, description: str, **kwargs: t.Any) -> th.Property[t.Any]:
    return th.Property(name, th.StringType, description=description, **kwargs)


# A number, or a number written as a string: Meltano 4.4 cannot pass a `decimal` setting
# that comes from an environment variable (TypeError: Decimal is not JSON serializable), so
# these settings are declared to Meltano as strings and accept both.
SECONDS = th.CustomType({"type": ["number", "string"]})


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
            "aws_connect_timeout_seconds",
            SECONDS,
            default=5,
            description="Seconds to wait for a connection to an AWS endpoint.",
        ),
        th.Property(
            "aws_read_timeout_seconds",
            SECONDS,
            default=10,
            description="Seconds to wait for an AWS endpoint's answer; with "
            "`aws_max_attempts`, an endpoint that never answers fails the run in about a "
            "minute.",
        ),
        th.Property(
            "aws_max_attempts",
            th.IntegerType,
            default=4,
            description="Attempts per AWS call (botocore's adaptive retries: throttling, "
            "timeouts, 5xx).",
        ),
        th.Property(
            "current_views",
            th.BooleanType,
            default=True,
            description="Keep a `<model>_current` view beside each table whose stream has key "
            "properties: one row per key, its latest version, soft deletes left out.",
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
            "flush_idle_seconds",
            SECONDS,
            default=30,
            description="When no message has arrived for this many seconds and records or a "
            "newer STATE wait, land them (close open parts, apply the catalog) and print the "
            "latest STATE. Lower: the tap's finished streams land sooner while it waits on "
            "an export; higher: fewer, larger parts from a tap that pauses often.",
        ),
        th.Property(
            "flush_max_minutes",
            SECONDS,
            default=5,
            description="At most this many minutes between checkpoints while records keep "
            "flowing (the age of the oldest unacknowledged record or STATE). Lower: a "
            "cancelled run redoes less; higher: fewer, larger parts.",
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

    # Settings, CLI and wiring only: the landing lifecycle is landing.Lander's.

    name = "target-athena-zuora"
    config_jsonschema = _config_schema()
    default_sink_class = AthenaSink
    message_reader_class = FastSingerReader

    def __init__(self, **kwargs: t.Any) -> None:
        super().__init__(**kwargs)
        name_streams_in_metrics()
        self.settings = Settings.from_config(self.config)
        self._warn_unknown_settings()
        self.clock = TransferClock.now()
        self.current_line = 0
        self._bookmarks: dict[str, list[str]] = {}
        self.lander = Lander(
            self.settings,
            self.clock,
            latest_state=lambda: self._latest_state,
            emit_state=lambda state: Target._write_state_message(self, state),
            logger=self.logger,
        )
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

    def _setup_signal_handlers(self) -> None:
        """Our own: the SDK's drains from inside the handler (see ``signals``)."""
        CONTROLLER.reset()
        CONTROLLER.install()

    def _warn_unknown_settings(self) -> None:
        known = set(self.config_jsonschema.get("properties", {}))
        for key in sorted(set(self.config) - known):
            if key.startswith("_"):
                continue
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            self.logger.warning("unknown setting '%s' is ignored%s", key, hint)

    # --- the run loop's hooks (reader.InputFeed) --------------------------------------------

    def tick(self) -> None:
        """Between input chunks and while the input is quiet: signals, then timers."""
        CONTROLLER.running()  # reading has begun: a signal now asks for a graceful stop
        CONTROLLER.check()
        self.lander.tick()

    def input_arrived(self) -> None:
        """Messages arrived: the input is not quiet."""
        self.lander.input_arrived()

    def _handle_max_record_age(self) -> None:
        """The lander's timers (``flush_max_minutes``) replace the SDK's fixed 5 minutes."""

    # --- messages -------------------------------------------------------------------------

    def bookmark_properties(self, stream: str) -> list[str]:
        """The ``bookmark_properties`` of ``stream``'s latest SCHEMA message."""
        return self._bookmarks.get(stream, [])

    def _process_schema_message(self, message_dict: dict[str, t.Any]) -> None:
        stream = message_dict.get("stream")
        bookmarks = message_dict.get("bookmark_properties")
        if isinstance(stream, str):
            listed = bookmarks if isinstance(bookmarks, list) else []
            self._bookmarks[stream] = [b for b in listed if isinstance(b, str)]
        previous = self._sinks_active.get(stream) if isinstance(stream, str) else None
        if isinstance(previous, AthenaSink) and previous.original_schema != message_dict.get(
            "schema"
        ):
            previous.flush()  # the old version's records go first, in input order
        super()._process_schema_message(message_dict)
        self._route_fast(message_dict["stream"])

    def _route_fast(self, stream: str) -> None:
        """Send ``stream``'s RECORD lines straight to its sink when nothing per-record applies."""
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

    def _write_state_message(self, state: dict[str, t.Any]) -> None:
        """The SDK drains: a checkpoint, which prints the STATE once data is durable."""
        self.lander.checkpoint()

    def process_endofpipe(self) -> None:
        """End of input, or a graceful stop: land everything, print the final STATE."""
        CONTROLLER.draining()
        reader = self.message_reader
        stopped = reader.stopped_by if isinstance(reader, FastSingerReader) else None
        if stopped is not None:
            self.logger.warning(
                "%s received: landing everything read so far, then stopping",
                signal_name(stopped),
            )
        super().process_endofpipe()
        self.lander.checkpoint()  # also when no STATE ever arrived
        if stopped is None:
            self.lander.land_transfer_status()
        self.lander.summarise()
        self.lander.release()
        if stopped is not None:
            self.logger.warning(
                "stopped by %s: everything read was landed and the last STATE printed covers "
                "it; the tap resumes from there",
                signal_name(stopped),
            )
        CONTROLLER.done()
        self.lander.hold_clock(lambda: CONTROLLER.requested is not None)

    def run(self, file_input: t.IO[str] | None = None) -> None:
        """Read and land the input; on any failure, drop what is not durable."""
        try:
            self.listen(file_input)
        except Abort:
            self.lander.abandon()
            raise
        except BaseException:
            self.lander.release()
            raise

    # --- CLI ------------------------------------------------------------------------------

    @classmethod
    def get_singer_command(cls) -> click.Command:
        """The Singer CLI plus ``--test``, ``--print-iam-policy`` and ``--rebuild-catalog``."""
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
                click.Option(
                    ["--rebuild-catalog"],
                    is_flag=True,
                    help="Rebuild the local DuckDB catalog from the parts under local_path "
                    "(a moved or copied output folder, a damaged catalog), then exit.",
                ),
            ]
        )
        return command

    @classmethod
    def invoke(  # type: ignore[override]
        cls,
        *,
        about: bool = False,
        about_format: str | None = None,
        config: t.Any = None,
        file_input: t.IO[str] | None = None,
        connection_test: bool = False,
        print_iam_policy: bool = False,
        rebuild_catalog: bool = False,
    ) -> None:
        """Run the target; a ``TargetError`` ends it with one line on stderr and exit code 1."""
        try:
            if connection_test or print_iam_policy or rebuild_catalog:
                sys.exit(cls._run_tool(config, connection_test, print_iam_policy))
            super(Target, cls).invoke(about=about, about_format=about_format)  # --about
            cls.print_version(print_fn=cls.logger.info)
            target = cls(
                config=config.config if config else None,
                validate_config=True,
                parse_env_config=bool(config and config.parse_env),
            )
            target.run(file_input)
        except TargetError as error:
            cls._fail(str(error))
        except OSError as error:  # one not met where it happened: still one line, the path
            cls._fail(
                f"{error.filename}: {os_reason(error)}" if error.filename else os_reason(error)
            )

    @classmethod
    def _fail(cls, line: str) -> None:
        """One ERROR line (the traceback too at LOGLEVEL=DEBUG), exit code 1."""
        cls.logger.error("%s", line, exc_info=cls.logger.isEnabledFor(logging.DEBUG))
        sys.exit(1)

    @classmethod
    def _run_tool(cls, config: t.Any, connection_test: bool, print_iam_policy: bool) -> int:
        target = cls(
            config=config.config if config else None,
            validate_config=True,
            parse_env_config=bool(config and config.parse_env),
            setup_mapper=False,
        )
        if connection_test:
            from target_athena_zuora.checks import run_connection_test  # noqa: PLC0415

            return run_connection_test(target.settings)
        if print_iam_policy:
            from target_athena_zuora.iam import policy_documents  # noqa: PLC0415

            print(json.dumps(policy_documents(target.settings), indent=2))  # noqa: T201
            return 0
        from target_athena_zuora.rebuild import rebuild_catalog  # noqa: PLC0415

        return rebuild_catalog(target.settings, cls.logger)
