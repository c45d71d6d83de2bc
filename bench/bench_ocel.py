"""OCEL 2.0 export throughput on a twin month (issue 5/6).

    python bench/bench_ocel.py                      # twin month at /tmp/t30, made if absent
    python bench/bench_ocel.py --events path/to/events.jsonl --formats json

The workload is the twin's output of
``unsnag twin run --days 30 --orders-per-day 2000 --seed 7 --out /tmp/t30`` (generated
when the file is missing). The exporter streams: events are read line by line from
events.jsonl and handed to ``export_ocel`` as a generator, so the store is not involved.
For each flavour it measures (1) merely reading and decoding the lines, (2) the export
(read + derive objects and relations + write), and prints one JSON object with the rates,
the sizes and the peak resident memory. Wall-clock rates depend on what else runs on the
machine; the CPU-second rates (``events_per_cpu_s``) much less.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from unsnag.intel.ocel_write import export_ocel

TWIN = ["--days", "30", "--orders-per-day", "2000", "--seed", "7"]


def twin_month(path: Path) -> Path:
    if not path.exists():
        command = [sys.executable, "-m", "unsnag.cli", "twin", "run", *TWIN, "--out"]
        subprocess.run([*command, str(path.parent)], check=True)
    return path


def read(path: Path) -> Iterator[Any]:
    with path.open("rb") as handle:
        for line in handle:
            if line.strip():
                yield orjson.loads(line)


def read_only(path: Path) -> dict[str, Any]:
    started, cpu = time.perf_counter(), time.process_time()
    count = sum(1 for _ in read(path))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {"events": count, "seconds": round(seconds, 2), "events_per_s": round(count / seconds),
            "cpu_seconds": round(cpu, 2)}  # fmt: skip


def export(path: Path, flavour: str, out_dir: Path) -> dict[str, Any]:
    out = out_dir / f"twin-month.{'jsonocel' if flavour == 'json' else 'sqlite'}"
    cpu = time.process_time()
    report = export_ocel(read(path), out, flavour)
    cpu = time.process_time() - cpu
    return {
        "events": report.events,
        "objects": report.objects,
        "event_object_relations": report.e2o,
        "object_object_relations": report.o2o,
        "seconds": round(report.seconds, 2),
        "events_per_s": round(report.events_per_second),
        "cpu_seconds": round(cpu, 2),
        "events_per_cpu_s": round(report.events / cpu),
        "file_mb": round(out.stat().st_size / 1e6, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=Path, default=Path("/tmp/t30/events.jsonl"))
    parser.add_argument("--formats", default="json,sqlite")
    parser.add_argument("--out", type=Path, default=None, help="Where to write the logs.")
    args = parser.parse_args()
    path = twin_month(args.events)
    with tempfile.TemporaryDirectory() as scratch:
        out_dir = args.out or Path(scratch)
        out_dir.mkdir(parents=True, exist_ok=True)
        result: dict[str, Any] = {
            "workload": f"unsnag twin run {' '.join(TWIN)}",
            "input_mb": round(path.stat().st_size / 1e6, 1),
            "read_and_decode_only": read_only(path),
        }
        for flavour in args.formats.split(","):
            result[f"export_{flavour}"] = export(path, flavour, out_dir)
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
