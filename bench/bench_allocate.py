"""The allocation optimizer against the ERP rules, and what decomposition buys.

    python bench/bench_allocate.py                       # the full table (a few minutes)
    python bench/bench_allocate.py --sizes 100 1000      # a quick look

For each size: one seeded synthetic instance (N contested lines × 10 DCs × 1,000 SKUs,
demand 1.3–2× supply per SKU), solved by the optimizer (decomposed, one process), by the
same optimizer on the undivided problem, by the optimizer with two worker processes,
and by both greedy baselines. Then the spike scenario: many copies of the twin's
``demand_spike`` fault. Prints Markdown tables (ready for bench/RESULTS.md) and, with
``--json``, one JSON object per run.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from unsnag.allocate import optimize, spike_problem, synthetic_problem
from unsnag.allocate.arcs import compile_problem
from unsnag.allocate.compare import compare
from unsnag.allocate.decompose import components

HEAD = (
    "| lines | arcs | components (largest) | build s | solve s | gap | status | value "
    "| vs priority greedy | vs FCFS greedy | undivided: solve s (gap, status) "
    "| 2 processes: solve s |"
)


def shape(problem: Any) -> tuple[int, int, int]:
    compiled = compile_problem(problem)
    parts = components(compiled)
    return len(compiled.arc_line), len(parts), max((len(p) for p in parts), default=0)


def timed(problem: Any, **options: Any) -> tuple[float, float, str]:
    """Solve seconds (wall time minus model building), gap and status of one run."""
    plan = optimize(problem, explain=False, **options)
    return plan.solve_seconds, plan.gap or 0.0, plan.status


def run_size(lines: int, args: argparse.Namespace) -> dict[str, Any]:
    problem = synthetic_problem(lines, args.dcs, args.skus, args.seed)
    report = compare(problem, time_limit=args.time_limit)
    arcs, _, largest = shape(problem)
    report.update(arcs=arcs, largest_component=largest)
    if not args.skip_undivided:
        report["undivided"] = timed(problem, time_limit=args.time_limit, decompose=False)
    if args.workers > 1:
        report["parallel"] = timed(problem, time_limit=args.time_limit, workers=args.workers)
    return report


def row(r: dict[str, Any]) -> str:
    undivided = r.get("undivided")
    whole = f"{undivided[0]:.2f} ({undivided[1]:.3%}, {undivided[2]})" if undivided else "–"
    parallel = f"{r['parallel'][0]:.2f}" if "parallel" in r else "–"
    return (
        f"| {r['lines']:,} | {r['arcs']:,} | {r['components']:,} ({r['largest_component']:,}) "
        f"| {r['build_s']:.2f} | **{r['solve_s']:.2f}** | {r['gap']:.3%} | {r['status']} "
        f"| {r['value']:,.0f} | **{r['above_priority_pct']:+.1f} %** "
        f"| {r['above_fcfs_pct']:+.1f} % | {whole} | {parallel} |"
    )


def spikes(args: argparse.Namespace) -> list[dict[str, Any]]:
    out = []
    for seed in range(1, args.spike_seeds + 1):
        report = compare(spike_problem(args.spikes, 4, seed), time_limit=args.time_limit)
        report["seed"] = seed
        out.append(report)
    return out


def spike_table(runs: list[dict[str, Any]], spikes_per_run: int) -> list[str]:
    lines = [
        "| seed | spikes | lines | solve s | gap | value | priority greedy | FCFS greedy "
        "| vs priority | vs FCFS |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        lines.append(
            f"| {r['seed']} | {spikes_per_run} | {r['lines']:,} | {r['solve_s']:.2f} "
            f"| {r['gap']:.3%} | {r['value']:,.0f} | {r['greedy_priority_value']:,.0f} "
            f"| {r['greedy_fcfs_value']:,.0f} | **{r['above_priority_pct']:+.1f} %** "
            f"| {r['above_fcfs_pct']:+.1f} % |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000, 50000])
    parser.add_argument("--dcs", type=int, default=10)
    parser.add_argument("--skus", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--time-limit", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=2, help="1: skip the parallel run")
    parser.add_argument("--skip-undivided", action="store_true")
    parser.add_argument("--spikes", type=int, default=200, help="spikes per spike instance")
    parser.add_argument("--spike-seeds", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="also print one JSON per run")
    args = parser.parse_args()
    runs = [run_size(n, args) for n in args.sizes]
    print(HEAD)
    print("|" + "---|" * (HEAD.count("|") - 1))
    for r in runs:
        print(row(r))
    spike_runs = spikes(args)
    print()
    print("\n".join(spike_table(spike_runs, args.spikes)))
    if args.json:
        for r in runs + spike_runs:
            print(json.dumps(r))


if __name__ == "__main__":
    main()
