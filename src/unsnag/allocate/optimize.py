"""The optimizer's front door: problem in, recommended plan out, never a trace.

Compile → split into independent components → solve each (LP bound, dived plan,
branch and bound where the gap demands it) → where the time limit left a component
unsolved, serve it by priority greedy so that the plan is always complete → one plan
with value, bound, gap and an explanation per line.
"""

from __future__ import annotations

import time

import numpy as np

from unsnag.allocate.arcs import Compiled, Floats, compile_problem
from unsnag.allocate.decompose import components, solve_parts
from unsnag.allocate.greedy import greedy_flows
from unsnag.allocate.milp import PartResult
from unsnag.allocate.model import AllocationPlan, AllocationProblem
from unsnag.allocate.part import Part, make_part
from unsnag.allocate.plan import empty_plan, make_plan


def optimize(
    problem: AllocationProblem,
    *,
    time_limit: float = 60.0,
    mip_rel_gap: float = 1e-3,
    decompose: bool = True,
    workers: int = 1,
    explain: bool = True,
) -> AllocationPlan:
    """The best plan HiGHS proves within ``mip_rel_gap`` (default 0.1 %), or the best
    found when ``time_limit`` seconds run out. Raises :class:`InvalidProblem` for input
    that breaks the problem's contract; infeasible minimums are reported, not raised."""
    if not problem.lines:
        return empty_plan("milp")
    started = time.perf_counter()
    compiled = compile_problem(problem)
    parts = _parts(compiled, decompose)
    built = time.perf_counter()
    results = solve_parts(parts, time_limit, mip_rel_gap, workers)
    flows, objective, bound, missed = _assemble(compiled, parts, results)
    solved = time.perf_counter()
    gap = (bound - objective) / max(abs(bound), 1.0)
    status, notes = _status(results, missed, gap, mip_rel_gap, time_limit)
    # laying out each part's HiGHS arrays is building; in workers it overlaps solving
    seconds = sum(r.build_seconds for r in results if r is not None) if workers <= 1 else 0.0
    return make_plan(
        compiled, flows, "milp", objective=objective, bound=bound, status=status,
        build_seconds=built - started + seconds, solve_seconds=solved - built - seconds,
        components=len(parts), messages=notes, explain=explain,
    )  # fmt: skip


def _parts(compiled: Compiled, decompose: bool) -> list[Part]:
    if decompose:
        return [make_part(compiled, group) for group in components(compiled)]
    lines = np.flatnonzero(np.diff(compiled.line_start) > 0)
    return [make_part(compiled, lines)] if len(lines) else []


def _assemble(
    compiled: Compiled, parts: list[Part], results: list[PartResult | None]
) -> tuple[Floats, float, float, int]:
    """Flows of every part; parts without a solution are served by priority greedy,
    bounded by each line's best arc times its need."""
    flows = np.zeros(len(compiled.arc_line))
    objective = bound = 0.0
    unsolved = [p for p, r in zip(parts, results, strict=True) if r is None or not _usable(r)]
    for part, result in zip(parts, results, strict=True):
        if result is not None and _usable(result):
            flows[part.arcs] = result.flows
            objective += result.objective
            bound += result.bound
    if unsolved:
        lines = np.concatenate([p.lines for p in unsolved])
        fallback = greedy_flows(compiled, "greedy_priority", lines)
        arcs = np.concatenate([p.arcs for p in unsolved])
        flows[arcs] = fallback[arcs]
        objective += float(compiled.arc_net[arcs] @ fallback[arcs])
        bound += sum(_trivial_bound(p) for p in unsolved)
    return flows, objective, max(bound, objective), len(unsolved)


def _usable(result: PartResult) -> bool:
    return bool(np.isfinite(result.objective))


def _trivial_bound(part: Part) -> float:
    """No line earns more than its need times its best arc."""
    best = np.zeros(len(part.need))
    np.maximum.at(best, part.arc_line, part.arc_net)
    return float(best @ part.need)


def _status(
    results: list[PartResult | None], missed: int, gap: float, target: float, limit: float
) -> tuple[str, tuple[str, ...]]:
    notes: list[str] = []
    if missed:
        notes.append(
            f"time limit of {limit:g} s reached: {missed} of {len(results)} components were "
            "not solved and are served by priority greedy"
        )
    if any(r is not None and r.status == "time_limit" for r in results) or missed:
        return "time_limit", tuple(notes)
    return ("optimal" if gap <= target + 1e-12 else "feasible"), tuple(notes)
