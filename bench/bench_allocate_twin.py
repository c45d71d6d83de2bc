"""The allocation optimizer on the twin's own conflicts (spike and surge scenarios included).

Runs the twin, replays its events through the engine with the default policy, and at
every ``allocation.conflict`` the playbook plans captures the allocation problem it
built from the state at that moment — the whole contest: every open short line on the
case's SKU family (the SKU and its substitutes) at every DC, with the DCs' free stock,
open POs, lanes, substitutes and the customers' terms; each problem is then solved by
the optimizer and both greedy baselines, valued on one yardstick (``plan_value``).
Prints one JSON object; ``distinct`` counts the problems once each (the conflict cases
of one contest plan the same contest).

The resolver plans a conflict again when more orders join it (``REPLAN_ON_GROWTH``);
``--no-replan`` switches that off (the case is planned once, when it opens).

    python bench/bench_allocate_twin.py --days 30 --orders-per-day 2000 --seed 7
    python bench/bench_allocate_twin.py --days 30 --orders-per-day 2000 --seed 7 --surge-rate 1
"""

from __future__ import annotations

import argparse
import json
import time

from unsnag.allocate import AllocationProblem, greedy_fcfs, greedy_priority, optimize
from unsnag.engine import Engine
from unsnag.events import parse_line
from unsnag.policy import load_policy
from unsnag.resolve import runner
from unsnag.resolve.options import conflict_milp
from unsnag.twin.config import TwinConfig
from unsnag.twin.runner import simulate


def capture(problems: list[AllocationProblem]) -> None:
    """Record every problem the conflict computer hands to the optimizer."""
    solve = conflict_milp.optimize

    def recording(problem: AllocationProblem, **kwargs: object) -> object:
        problems.append(problem)
        return solve(problem, **kwargs)  # type: ignore[arg-type]

    conflict_milp.optimize = recording  # type: ignore[assignment]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--orders-per-day", type=float, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--spike-rate", type=float, default=None,
                        help="Override the twin's demand-spike rate (spikes per day).")  # fmt: skip
    parser.add_argument("--surge-rate", type=float, default=None,
                        help="Override the twin's demand-surge rate (surges per day).")  # fmt: skip
    parser.add_argument("--no-replan", action="store_true",
                        help="Plan each conflict once, when it opens.")  # fmt: skip
    parser.add_argument("--replan", action="store_true",
                        help="(the default now; kept for old command lines)")  # fmt: skip
    args = parser.parse_args()
    config = TwinConfig()
    rates: dict[str, float] = {}
    if args.spike_rate is not None:
        rates["demand_spike"] = args.spike_rate
    if args.surge_rate is not None:
        rates["demand_surge"] = args.surge_rate
    if rates:
        faults = config.faults.model_copy(update=rates)
        config = config.model_copy(update={"faults": faults})
    lines: list[bytes] = []
    simulate(config, args.days, args.orders_per_day, args.seed, lines.append)
    problems: list[AllocationProblem] = []
    capture(problems)
    if args.no_replan:
        runner.REPLAN_ON_GROWTH = frozenset()
    engine = Engine(load_policy())
    for line in lines:
        engine.step(parse_line(line))
    engine.advance()
    totals = {"milp": 0.0, "greedy_priority": 0.0, "greedy_fcfs": 0.0}
    distinct = {"milp": 0.0, "greedy_priority": 0.0, "greedy_fcfs": 0.0}
    seen: set[AllocationProblem] = set()
    started = time.perf_counter()
    sizes = [len(p.lines) for p in problems]
    for problem in problems:
        values = {
            "milp": optimize(problem, time_limit=5).value,
            "greedy_priority": greedy_priority(problem).value,
            "greedy_fcfs": greedy_fcfs(problem).value,
        }
        for name, value in values.items():
            totals[name] += value
            if problem not in seen:
                distinct[name] += value
        seen.add(problem)
    solve_s = time.perf_counter() - started
    multi = [p for p in problems if len({ln.sku for ln in p.lines}) > 1]
    base = totals["greedy_priority"] or 1.0
    print(json.dumps({
        "days": args.days, "orders_per_day": args.orders_per_day, "seed": args.seed,
        "surge_rate": config.faults.demand_surge, "replan": not args.no_replan,
        "instances": len(problems),
        "lines": sum(sizes),
        "max_lines": max(sizes, default=0),
        "multi_sku_instances": len(multi),
        "distinct": len(seen),
        "distinct_above_priority_greedy_pct": round(
            100 * (distinct["milp"] / (distinct["greedy_priority"] or 1.0) - 1), 2),
        "distinct_above_fcfs_pct": round(
            100 * (distinct["milp"] / (distinct["greedy_fcfs"] or 1.0) - 1), 2),
        "value": round(totals["milp"], 2),
        "greedy_priority_value": round(totals["greedy_priority"], 2),
        "greedy_fcfs_value": round(totals["greedy_fcfs"], 2),
        "above_priority_greedy_pct": round(100 * (totals["milp"] / base - 1), 2),
        "above_fcfs_pct": round(100 * (totals["milp"] / (totals["greedy_fcfs"] or 1) - 1), 2),
        "solve_s_all_three": round(solve_s, 2),
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
