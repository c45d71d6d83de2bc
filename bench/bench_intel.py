"""KPIs and Paretos over a month of the twin: load time and compute time, on one core.

    python bench/bench_intel.py             # 30 days x 19,230 orders/day, ~80,000 lines/day
    python bench/bench_intel.py --orders-per-day 2000 --days 7  # a quick run

Generates the month with the twin (``unsnag twin run``) and replays it to cases
(``unsnag replay``) once, into bench/out/ (or the directories ``--twin``/``--replay``
name; an existing run is reused). Then, in this process with polars limited to one
thread (``POLARS_MAX_THREADS=1``, set before polars loads), it times:

- *load*: reading the events JSON Lines, reading the cases, and building the frames
  (orders, shipments, invoices, cases enriched from the events); after the compute, the
  frames are written to Parquet and read back (the fast way to load them again);
- *compute*: every KPI for the month; every KPI sliced by each of nine dimensions (in
  one run, filtering the month once; each slice alone is also timed, in parentheses,
  and not counted); the Paretos by SKU, customer, DC, carrier and endpoint (all cases,
  and shortages by SKU, top 5); and the incidents (not counted in the goal);

and prints one JSON object with the volume, each timing and the peak resident memory.
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
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

if "POLARS_MAX_THREADS" not in os.environ:  # one core; polars is imported later
    os.environ["POLARS_MAX_THREADS"] = os.environ.get("BENCH_THREADS", "1")

HERE = Path(__file__).resolve().parent
SLICES = ("type", "team", "customer", "tier", "sku", "node", "carrier", "channel", "source")
PARETOS = ("sku", "customer", "node", "carrier", "endpoint")


def unsnag(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "unsnag.cli", *args], check=True)


def ensure_run(twin: Path, replay: Path, days: int, orders_per_day: float, seed: int) -> None:
    if not (twin / "events.jsonl").is_file():
        unsnag("twin", "run", "--days", str(days), "--orders-per-day", str(orders_per_day),
               "--seed", str(seed), "--out", str(twin))  # fmt: skip
    if not (replay / "cases.jsonl").is_file():
        unsnag("replay", str(twin / "events.jsonl"), "--out", str(replay), "--top", "0")


def peak_mb() -> int:
    """Peak resident memory of this process so far, MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def timed(label: str, timings: dict[str, float], work: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    result = work()
    timings[label] = round(time.perf_counter() - started, 3)
    print(f"{label}: {timings[label]:.3f} s (peak {peak_mb():,} MB)", file=sys.stderr)
    return result


def load(twin: Path, replay: Path, timings: dict[str, float]) -> Any:
    from unsnag.intel.frames import build_frames, read_case_dicts, read_events

    events = timed("read events", timings, lambda: read_events(twin / "events.jsonl"))
    cases = read_case_dicts(replay / "cases.jsonl")
    return timed("read cases, build frames", timings, lambda: build_frames(cases, events))


def compute(frames: Any, period: Any, timings: dict[str, float]) -> dict[str, Any]:
    from unsnag.intel import kpi
    from unsnag.intel.incidents import find_incidents
    from unsnag.intel.pareto import pareto

    summary = timed("kpis: all", timings, lambda: kpi.summary(frames, period))
    timed(f"kpis: all, by each of {len(SLICES)} dimensions", timings,
          lambda: kpi.compute_slices(frames, period, SLICES))  # fmt: skip
    for by in SLICES:
        timed(f"(kpis: by {by} alone)", timings, lambda by=by: kpi.compute(frames, period, by))
    for by in PARETOS:
        timed(f"pareto: by {by}", timings, lambda by=by: pareto(frames, by, period))
    shortages = ["allocation.shortage"]
    headline = timed("pareto: shortages by sku, top 5", timings,
                     lambda: pareto(frames, "sku", period, shortages, top=5))  # fmt: skip
    found = timed("incidents", timings, lambda: find_incidents(frames.cases, None, period))
    return {"summary": summary, "headline": headline.to_dict(),
            "incidents": len(found.incidents), "cases_in_incidents": len(found.links)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--orders-per-day", type=float, default=19_230)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--twin", type=Path, help="twin run directory (default bench/out/…)")
    parser.add_argument("--replay", type=Path, help="replay directory (default bench/out/…)")
    args = parser.parse_args()
    name = f"intel-{args.days}d-{args.orders_per_day:g}-{args.seed}"
    twin = args.twin or HERE / "out" / name / "twin"
    replay = args.replay or HERE / "out" / name / "replay"
    ensure_run(twin, replay, args.days, args.orders_per_day, args.seed)
    report(twin, replay, args.days)


def report(twin: Path, replay: Path, days: int) -> None:
    from unsnag.intel.frames import Frames
    from unsnag.intel.kpi import Period

    timings: dict[str, float] = {}
    frames = load(twin, replay, timings)
    meta = json.loads((twin / "meta.json").read_text("utf-8"))
    start = datetime.fromisoformat(meta["start"].replace("Z", "+00:00"))
    month = Period(start, start + timedelta(days=days))
    results = compute(frames, month, timings)
    peak = peak_mb()  # before the Parquet round trip holds a second copy
    cache = twin.parent / "frames"
    timed("write parquet", timings, lambda: frames.write_parquet(cache))
    timed("read parquet", timings, lambda: Frames.read_parquet(cache))
    compute_s = sum(v for k, v in timings.items() if k.startswith(("kpis", "pareto")))
    # the per-dimension runs alone, in parentheses, repeat the sliced run: not counted
    lines = int(results["summary"]["order_lines"] or 0)
    print(json.dumps({
        "polars_threads": os.environ["POLARS_MAX_THREADS"],
        "period": str(month),
        "events": frames.events.height,
        "orders_in_month": int(results["summary"]["orders"] or 0),
        "order_lines_in_month": lines,
        "order_lines_per_day": round(lines / days),
        "cases": frames.cases.height,
        "load_s": round(timings["read events"] + timings["read cases, build frames"], 2),
        "compute_kpis_and_paretos_s": round(compute_s, 2),
        "timings_s": timings,
        "peak_rss_mb_load_and_compute": peak,
        "incidents": results["incidents"],
        "cases_in_incidents": results["cases_in_incidents"],
        "headline": {k: results["headline"][k] for k in ("cases", "previous_cases", "trend",
                                                         "top_share", "weekly")},
        "kpis": results["summary"],
    }, indent=2, default=str))  # fmt: skip


if __name__ == "__main__":
    main()
