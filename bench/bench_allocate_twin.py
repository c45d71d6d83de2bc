"""The allocation optimizer on the twin's own conflicts (spike scenarios included).

Runs the twin, replays its events through the engine with the default policy, and at
every ``allocation.conflict`` the playbook plans captures the allocation problem it
built from the state at that moment; each problem is then solved by the optimizer and
both greedy baselines, valued on one yardstick (``plan_value``). Prints one JSON object.

    python bench/bench_allocate_twin.py --days 30 --orders-per-day 2000 --seed 7
"""

from __future__ import annotations

import argparse
import json
import time

from unsnag.allocate import AllocationProblem, greedy_fcfs, greedy_priority, optimize
from unsnag.engine import Engine
from unsnag.events import parse_line
from unsnag.policy import load_policy
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
    args = parser.parse_args()
    config = TwinConfig()
    if args.spike_rate is not None:
        faults = config.faults.model_copy(update={"demand_spike": args.spike_rate})
        config = config.model_copy(update={"faults": faults})
    lines: list[bytes] = []
    simulate(config, args.days, args.orders_per_day, args.seed, lines.append)
    problems: list[AllocationProblem] = []
    capture(problems)
    engine = Engine(load_policy())
    for line in lines:
        engine.step(parse_line(line))
    engine.advance()
    totals = {"milp": 0.0, "greedy_priority": 0.0, "greedy_fcfs": 0.0}
    started = time.perf_counter()
    for problem in problems:
        totals["milp"] += optimize(problem, time_limit=5).value
        totals["greedy_priority"] += greedy_priority(problem).value
        totals["greedy_fcfs"] += greedy_fcfs(problem).value
    solve_s = time.perf_counter() - started
    base = totals["greedy_priority"] or 1.0
    print(json.dumps({
        "days": args.days, "orders_per_day": args.orders_per_day, "seed": args.seed,
        "instances": len(problems),
        "lines": sum(len(p.lines) for p in problems),
        "value": round(totals["milp"], 2),
        "greedy_priority_value": round(totals["greedy_priority"], 2),
        "greedy_fcfs_value": round(totals["greedy_fcfs"], 2),
        "above_priority_greedy_pct": round(100 * (totals["milp"] / base - 1), 2),
        "above_fcfs_pct": round(100 * (totals["milp"] / (totals["greedy_fcfs"] or 1) - 1), 2),
        "solve_s_all_three": round(solve_s, 2),
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
