"""Benchmark: land a Zuora-shaped stream and compare with the pyarrow.json limit.

    python bench/run.py --records 200000 [--records 1000000] [--baseline-records 20000]

For each N it generates N Invoice-shaped RECORDs with a STATE after every record (as
tap-zuora sends them) with ``bench/zuora_stream.py``, then measures in the same run:

- target: the installed ``target-athena-zuora`` CLI, stdin -> final STATE, local
  destination, default settings; wall time (process start to exit) and peak RSS;
- limit: ``pyarrow.json.read_json`` with an explicit schema plus a Parquet write over the
  same records alone (bodies only, no envelopes or STATE lines), in a fresh process,
  timing only the read and the write;
- baseline: a singer-sdk target with default settings (``bench/sdk_baseline.py``).

It prints records/s for each, the target/limit ratio, the speedup over the baseline, and
peak RSS. Numbers are measurements, never assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
LIMIT_SCRIPT = r"""
import io, json, sys, time
import pyarrow as pa, pyarrow.json as pj, pyarrow.parquet as pq
from target_athena_zuora.schema import map_stream, TypeOptions
bodies, schema_file, out = sys.argv[1:4]
message = json.load(open(schema_file))
stream = map_stream(
    message["stream"], message["schema"], message.get("key_properties"), TypeOptions()
)
read_as = {"json": pa.string(), "timestamp": pa.timestamp("us", tz="UTC")}
explicit = pa.schema([pa.field(c.source, read_as.get(c.kind.value, c.type))
                      for c in stream.columns])
data = open(bodies, "rb").read()
started = time.perf_counter()
table = pj.read_json(io.BytesIO(data), parse_options=pj.ParseOptions(explicit_schema=explicit))
pq.write_table(table, out)
print(json.dumps({"seconds": time.perf_counter() - started, "rows": table.num_rows}))
"""


def generate(records: int, folder: Path) -> tuple[Path, Path, Path]:
    """The Singer input, the record bodies alone, and the SCHEMA message."""
    stream_file = folder / f"invoice-{records}.jsonl"
    subprocess.run(
        [
            sys.executable,
            str(HERE / "zuora_stream.py"),
            "--records",
            str(records),
            "--streams",
            "Invoice",
            "--out",
            str(stream_file),
        ],
        check=True,
    )
    bodies_file = folder / f"invoice-{records}-bodies.jsonl"
    schema_file = folder / "invoice-schema.json"
    with stream_file.open("rb") as source, bodies_file.open("wb") as bodies:
        for line in source:
            message = json.loads(line)
            if message["type"] == "RECORD":
                bodies.write(json.dumps(message["record"]).encode() + b"\n")
            elif message["type"] == "SCHEMA":
                schema_file.write_text(json.dumps(message))
    return stream_file, bodies_file, schema_file


def run_measured(command: list[str], stdin: Path, workdir: Path) -> tuple[float, int, bytes]:
    """Wall seconds, peak RSS (KiB) and stdout of one child process."""
    with stdin.open("rb") as source:
        started = time.perf_counter()
        child = subprocess.Popen(
            command, stdin=source, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=workdir
        )
        out = child.stdout.read() if child.stdout else b""
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
    if status:
        raise SystemExit(f"{command[0]} failed with status {status}")
    return seconds, usage.ru_maxrss, out


def target_command() -> list[str]:
    """The installed CLI next to this interpreter, else on PATH."""
    beside = Path(sys.executable).with_name("target-athena-zuora")
    return [str(beside if beside.exists() else shutil.which("target-athena-zuora"))]


def measure(
    records: int, baseline_records: int, folder: Path, s3_endpoint: str | None = None
) -> dict[str, float]:
    """All figures for one N."""
    stream_file, bodies_file, schema_file = generate(records, folder)
    config = folder / "config.json"
    config.write_text(json.dumps({"local_path": str(folder / "out")}))
    shutil.rmtree(folder / "out", ignore_errors=True)
    seconds, rss, out = run_measured(
        [*target_command(), "--config", str(config)], stream_file, folder
    )
    last_state = out.decode().strip().splitlines()[-1]
    limit = subprocess.run(
        [
            sys.executable,
            "-c",
            LIMIT_SCRIPT,
            str(bodies_file),
            str(schema_file),
            str(folder / "limit.parquet"),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    limit_seconds = json.loads(limit.stdout)["seconds"]
    if s3_endpoint:
        result_s3 = s3_run(stream_file, folder, s3_endpoint)
    result = {
        "records": records,
        "target_seconds": seconds,
        "target_records_per_s": records / seconds,
        "limit_records_per_s": records / limit_seconds,
        "ratio": limit_seconds / seconds,
        "peak_rss_mb": rss / 1024,
        "final_state": json.loads(last_state),
    }
    if s3_endpoint:
        result.update(result_s3)
    if baseline_records:
        result.update(baseline(baseline_records, folder))
        result["speedup_vs_sdk_default"] = (
            result["target_records_per_s"] / result["sdk_default_records_per_s"]
        )
    return result


def s3_run(stream_file: Path, folder: Path, endpoint: str) -> dict[str, float]:
    """The same input landed in S3 (moto's server on 127.0.0.1) with Glue tables."""
    import boto3  # noqa: PLC0415

    bucket = f"bench-{os.getpid()}-{int(time.time())}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
    config = folder / "s3.json"
    config.write_text(
        json.dumps({"bucket": bucket, "region": "us-east-1", "endpoint_url": endpoint})
    )
    seconds, rss, _ = run_measured(
        [*target_command(), "--config", str(config)], stream_file, folder
    )
    records = sum(1 for line in stream_file.open("rb") if line.startswith(b'{"type": "RECORD"'))
    return {
        "s3_seconds": seconds,
        "s3_records_per_s": records / seconds,
        "s3_peak_rss_mb": rss / 1024,
    }


def variants(records: int, folder: Path) -> dict[str, float]:
    """The slower paths on ``records`` records: the SDK's per-record path, and validation."""
    stream_file, _, _ = generate(records, folder)
    found = {}
    for name, extra in (
        ("plain_path", {"fast_path": False}),
        ("validate_records", {"validate_records": True}),
    ):
        config = folder / f"{name}.json"
        config.write_text(json.dumps({"local_path": str(folder / name), **extra}))
        seconds, _, _ = run_measured(
            [*target_command(), "--config", str(config)], stream_file, folder
        )
        found[f"{name}_records_per_s"] = records / seconds
    return found


def state_lines(count: int, folder: Path) -> float:
    """Seconds for one record followed by ``count`` STATE lines (tap-zuora's pattern)."""
    stream_file = folder / "states.jsonl"
    with stream_file.open("w") as out:
        out.write(
            json.dumps(
                {
                    "type": "SCHEMA",
                    "stream": "Invoice",
                    "key_properties": ["Id"],
                    "schema": {"properties": {"Id": {"type": "string"}}},
                }
            )
            + "\n"
        )
        out.write(json.dumps({"type": "RECORD", "stream": "Invoice", "record": {"Id": "a"}}) + "\n")
        for n in range(count):
            state = {"bookmarks": {"Invoice": {"UpdatedDate": f"2024-01-01T00:00:{n % 60:02d}Z"}}}
            out.write(json.dumps({"type": "STATE", "value": state}) + "\n")
    config = folder / "states.json"
    config.write_text(json.dumps({"local_path": str(folder / "states")}))
    empty = folder / "empty.jsonl"
    empty.write_text("")
    seconds, _, _ = run_measured([*target_command(), "--config", str(config)], stream_file, folder)
    startup, _, _ = run_measured([*target_command(), "--config", str(config)], empty, folder)
    return seconds - startup


def baseline(records: int, folder: Path) -> dict[str, float]:
    """The singer-sdk default target on ``records`` records."""
    stream_file, _, _ = generate(records, folder)
    config = folder / "baseline.json"
    config.write_text(json.dumps({"local_path": str(folder / "baseline-out")}))
    seconds, _, _ = run_measured(
        [sys.executable, str(HERE / "sdk_baseline.py"), "--config", str(config)],
        stream_file,
        folder,
    )
    return {"sdk_default_records": records, "sdk_default_records_per_s": records / seconds}


def main() -> None:
    """Parse arguments, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--records", type=int, action="append", help="records per run (repeatable; default 200000)"
    )
    parser.add_argument(
        "--baseline-records",
        type=int,
        default=20_000,
        help="records for the singer-sdk default baseline (0 to skip)",
    )
    parser.add_argument(
        "--s3", action="store_true", help="also land the input in S3 on a local moto server"
    )
    parser.add_argument(
        "--variants-records",
        type=int,
        default=0,
        help="records for the slower paths (fast_path false, validate_records)",
    )
    parser.add_argument(
        "--state-lines",
        type=int,
        default=0,
        help="time this many STATE lines after one record (0 to skip)",
    )
    arguments = parser.parse_args()
    server = None
    if arguments.s3:
        from moto.server import ThreadedMotoServer  # noqa: PLC0415

        os.environ.update(
            AWS_ACCESS_KEY_ID="bench",
            AWS_SECRET_ACCESS_KEY="bench",  # noqa: S106 - fake, for the local emulator
            AWS_EC2_METADATA_DISABLED="true",
        )
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
    endpoint = "http://{}:{}".format(*server.get_host_and_port()) if server else None
    for records in arguments.records or [200_000]:
        with tempfile.TemporaryDirectory(prefix="bench-") as folder:
            result = measure(records, arguments.baseline_records, Path(folder), endpoint)
        print(json.dumps({k: v for k, v in result.items() if k != "final_state"}))
        print(
            f"N={records:,}: target {result['target_records_per_s']:,.0f} rec/s "
            f"({result['target_seconds']:.2f} s, peak RSS {result['peak_rss_mb']:.0f} MB); "
            f"pyarrow.json limit {result['limit_records_per_s']:,.0f} rec/s; "
            f"ratio {result['ratio']:.2f}x"
            + (
                f"; singer-sdk default {result['sdk_default_records_per_s']:,.0f} rec/s, "
                f"speedup {result['speedup_vs_sdk_default']:.1f}x"
                if "sdk_default_records_per_s" in result
                else ""
            )
            + (
                f"; S3 (moto) {result['s3_records_per_s']:,.0f} rec/s "
                f"({result['s3_seconds']:.2f} s, peak RSS {result['s3_peak_rss_mb']:.0f} MB)"
                if "s3_records_per_s" in result
                else ""
            )
        )
    if server is not None:
        server.stop()
    if arguments.variants_records:
        with tempfile.TemporaryDirectory(prefix="bench-") as folder:
            found = variants(arguments.variants_records, Path(folder))
        print(json.dumps(found))
        print(
            f"N={arguments.variants_records:,}: fast_path false "
            f"{found['plain_path_records_per_s']:,.0f} rec/s; validate_records true "
            f"{found['validate_records_records_per_s']:,.0f} rec/s"
        )
    if arguments.state_lines:
        with tempfile.TemporaryDirectory(prefix="bench-") as folder:
            seconds = state_lines(arguments.state_lines, Path(folder))
        print(
            f"{arguments.state_lines:,} STATE lines: {seconds:.2f} s beyond start-up "
            f"({seconds / arguments.state_lines * 1e6:.2f} us each)"
        )


if __name__ == "__main__":
    main()
