"""Process map of a month: 30 days at ~80,000 order lines a day, from the twin.

    python bench/bench_process_map.py [--twin /tmp/twin-intel] [--threads 1]

Generates the month with the twin once (``unsnag twin run --days 30 --orders-per-day
19230 --seed 7``: about 4 lines per order) unless DIR/meta.json exists, then measures in
one process, with polars limited to ``--threads`` threads:

1. *cold*: the object index from the JSON Lines log (a text scan of every line) — the
   part that reads the 2.7 GB log;
2. keeping that index as Parquet (``unsnag intel map`` keeps it beside the log; the
   bench, in bench/out/);
3. *warm*: reading the index back and computing the map (the DFG of order, line,
   shipment and invoice, and the order variants), as a second ``unsnag intel map`` does;
4. drawing the SVGs.

Prints one JSON object: wall and CPU seconds of each stage (CPU seconds are what one
core spends, whatever else the machine is doing), sizes and the peak resident memory.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def timed(stages: dict[str, Any], name: str, work: Callable[[], T]) -> T:
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    stages[name] = {
        "wall_s": round(time.perf_counter() - wall, 2),
        "cpu_s": round(time.process_time() - cpu, 2),
    }
    return result


def twin_month(out: Path, days: int, orders_per_day: int, seed: int) -> dict[str, Any]:
    meta = out / "meta.json"
    if not meta.exists():
        command = [sys.executable, "-m", "unsnag.cli", "twin", "run", "--days", str(days),
                   "--orders-per-day", str(orders_per_day), "--seed", str(seed),
                   "--out", str(out)]  # fmt: skip
        subprocess.run(command, check=True)
    loaded: dict[str, Any] = json.loads(meta.read_text())
    return loaded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--twin", type=Path, default=Path("/tmp/twin-intel"))
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--orders-per-day", type=int, default=19230)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    os.environ["POLARS_MAX_THREADS"] = str(args.threads)  # before polars is imported

    import polars as pl

    from unsnag.intel import process_map as pm
    from unsnag.intel.svg import render_dfg, render_variants

    meta = twin_month(args.twin, args.days, args.orders_per_day, args.seed)
    events = args.twin / "events.jsonl"
    kept = Path(__file__).resolve().parent / "out" / "process-map-index.parquet"
    kept.parent.mkdir(parents=True, exist_ok=True)
    stages: dict[str, Any] = {}
    index = timed(stages, "cold_index_from_json", lambda: pm.index_file(events))
    timed(stages, "keep_index_parquet", lambda: pm.save_index(index, kept))
    relations = index.height
    warm = timed(stages, "warm_read_index", lambda: pl.read_parquet(kept, columns=pm.MAP_COLUMNS))
    result = timed(stages, "warm_map", lambda: pm.process_map(warm))

    def draw() -> int:
        svgs = [render_dfg(graph) for graph in result["graphs"].values()]
        return sum(map(len, svgs)) + len(render_variants(result["variants"]))

    svg_bytes = timed(stages, "svg", draw)
    lines = result["graphs"]["line"]["objects"]
    warm_cpu = stages["warm_read_index"]["cpu_s"] + stages["warm_map"]["cpu_s"]
    cold_cpu = stages["cold_index_from_json"]["cpu_s"] + stages["warm_map"]["cpu_s"]
    report = {
        "twin": str(args.twin),
        "days": meta["days"],
        "orders": meta["orders"],
        "events": meta["events"],
        "log_bytes": events.stat().st_size,
        "order_lines": lines,
        "order_lines_per_day": round(lines / meta["days"]),
        "relations": relations,
        "index_parquet_bytes": kept.stat().st_size,
        "polars_threads": pl.thread_pool_size(),
        "stages": stages,
        "warm_map_cpu_s": round(warm_cpu, 2),
        "cold_map_cpu_s": round(cold_cpu, 2),
        "svg_bytes": svg_bytes,
        "order_variants": result["variants"]["distinct"],
        "top_variant_share": result["variants"]["top"][0]["share"],
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
