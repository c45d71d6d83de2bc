"""One instance, three methods, one yardstick: the numbers behind ``unsnag bench
allocate`` and bench/bench_allocate.py."""

from __future__ import annotations

import time
from typing import Any

from unsnag.allocate.greedy import greedy_fcfs, greedy_priority
from unsnag.allocate.model import AllocationProblem, plan_value
from unsnag.allocate.optimize import optimize


def compare(
    problem: AllocationProblem,
    *,
    time_limit: float = 20.0,
    mip_rel_gap: float = 1e-3,
    decompose: bool = True,
    workers: int = 1,
) -> dict[str, Any]:
    """Solve with the optimizer and both greedy baselines; every value comes from
    :func:`plan_value`, so the three are comparable."""
    started = time.perf_counter()
    plan = optimize(
        problem, time_limit=time_limit, mip_rel_gap=mip_rel_gap, decompose=decompose,
        workers=workers, explain=False,
    )  # fmt: skip
    total = time.perf_counter() - started
    fcfs = plan_value(greedy_fcfs(problem, explain=False))
    priority = plan_value(greedy_priority(problem, explain=False))
    value = plan_value(plan)
    return {
        "lines": len(problem.lines),
        "solve_s": round(plan.solve_seconds, 4),
        "gap": None if plan.gap is None else round(plan.gap, 6),
        "value": round(value, 2),
        "greedy_fcfs_value": round(fcfs, 2),
        "greedy_priority_value": round(priority, 2),
        "above_priority_pct": _pct(value, priority),
        "above_fcfs_pct": _pct(value, fcfs),
        "status": plan.status,
        "components": plan.components,
        "build_s": round(plan.build_seconds, 4),
        "total_s": round(total, 4),
        "bound": None if plan.bound is None else round(plan.bound, 2),
        "messages": len(plan.messages),
    }


def _pct(value: float, baseline: float) -> float | None:
    if abs(baseline) < 1e-9:
        return None
    return round(100.0 * (value - baseline) / abs(baseline), 3)
