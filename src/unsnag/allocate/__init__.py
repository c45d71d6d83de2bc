"""Who gets scarce stock, and why: the allocation optimizer and its greedy baselines.

A pure core: plain frozen dataclasses in, a plan out; no I/O and no clock (solve times
are measured with ``time.perf_counter``). See docs/allocation.md for the model.

    plan = optimize(problem, time_limit=20)
    baseline = greedy_priority(problem)
    plan.value - baseline.value   # value protected beyond what the ERP rule gives
"""

from unsnag.allocate.greedy import greedy_fcfs, greedy_priority
from unsnag.allocate.model import (
    SOURCES,
    AllocationPlan,
    AllocationProblem,
    Assignment,
    Capacity,
    InvalidProblem,
    Lane,
    Line,
    LinePlan,
    Source,
    Substitute,
    Supply,
    Weights,
    plan_value,
)
from unsnag.allocate.optimize import optimize
from unsnag.allocate.synthetic import spike_problem, synthetic_problem

__all__ = [
    "SOURCES",
    "AllocationPlan",
    "AllocationProblem",
    "Assignment",
    "Capacity",
    "InvalidProblem",
    "Lane",
    "Line",
    "LinePlan",
    "Source",
    "Substitute",
    "Supply",
    "Weights",
    "greedy_fcfs",
    "greedy_priority",
    "optimize",
    "plan_value",
    "spike_problem",
    "synthetic_problem",
]
