"""A/B: the same input through two builds of the target, interleaved, several times.

    python bench/ab.py --a /path/to/old/.venv/bin/target-athena-zuora \\
                       --b .venv/bin/target-athena-zuora --records 1000000 --repeat 3

The input is what ``bench/run.py`` lands (tap-zuora-shaped Invoice records, a STATE after
every record). Runs alternate A, B, A, B... so a busy machine slows both alike; CPU time
(user + system, from ``wait4``) is reported beside wall time because it is the steadier of
the two when other work shares the cores. Prints medians and B/A; never asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run_once(cli: str, stream: Path, folder: Path) -> dict[str, float]:
    """Wall and CPU seconds and peak RSS (MB) of one run into a fresh output folder."""
    out = folder / f"out-{time.monotonic_ns()}"
    config = folder / "config.json"
    config.write_text(json.dumps({"local_path": str(out)}))
    with stream.open("rb") as source:
        started = time.perf_counter()
        child = subprocess.Popen(
            [cli, "--config", str(config)],
            stdin=source,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
    if status:
        raise SystemExit(f"{cli} failed with status {status}")
    subprocess.run(["rm", "-rf", str(out)], check=True)
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss_mb": usage.ru_maxrss / 1024,
    }


def main() -> None:
    """Generate the input once, run A and B alternately, print medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--a", required=True, help="the baseline CLI")
    parser.add_argument("--b", required=True, help="the CLI under test")
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-ab-") as name:
        folder = Path(name)
        stream = folder / "input.jsonl"
        subprocess.run(
            [
                sys.executable,
                str(HERE / "zuora_stream.py"),
                "--records",
                str(arguments.records),
                "--streams",
                "Invoice",
                "--out",
                str(stream),
            ],
            check=True,
        )
        results: dict[str, list[dict[str, float]]] = {"a": [], "b": []}
        for _ in range(arguments.repeat):
            for side in ("a", "b"):
                results[side].append(run_once(getattr(arguments, side), stream, folder))
    medians = {
        side: {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        for side, runs in results.items()
    }
    print(json.dumps({"records": arguments.records, "runs": results, "medians": medians}))
    a, b = medians["a"], medians["b"]
    print(
        f"N={arguments.records:,} x{arguments.repeat}: "
        f"A wall {a['wall']:.2f} s cpu {a['cpu']:.2f} s rss {a['rss_mb']:.0f} MB | "
        f"B wall {b['wall']:.2f} s cpu {b['cpu']:.2f} s rss {b['rss_mb']:.0f} MB | "
        f"B/A wall {b['wall'] / a['wall']:.3f} cpu {b['cpu'] / a['cpu']:.3f}"
    )


if __name__ == "__main__":
    main()
