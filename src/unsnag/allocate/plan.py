"""Turn units per arc into a plan: assignments, value and costs per line, messages.

Every method (optimizer, both greedy baselines) ends here with its flows, so a line's
value, transport and lateness are computed by one piece of code for all of them — the
comparison in the benchmark is between decisions, never between bookkeepings.
"""

from __future__ import annotations

import numpy as np

from unsnag.allocate.arcs import Compiled, Floats, required_units
from unsnag.allocate.explain import explain_plan
from unsnag.allocate.model import (
    SOURCES,
    AllocationPlan,
    Assignment,
    Line,
    LinePlan,
    Method,
)

EMPTY_MESSAGE = "nothing to allocate: the problem has no order lines"
UNMET_REASON = {
    "milp": "the stock it can reach is needed for other lines' minimums",
    "greedy_fcfs": "lines that came first took the stock it can reach",
    "greedy_priority": "lines of higher tiers or earlier took the stock it can reach",
}


def empty_plan(method: Method) -> AllocationPlan:
    return AllocationPlan(method, (), 0.0, 0.0, 0.0, 0.0, "empty", (EMPTY_MESSAGE,))


def picked_net(compiled: Compiled) -> float:
    """Net value of the units lines already hold: the same in every plan."""
    return float(
        (compiled.picked_value - compiled.picked_transport - compiled.picked_lateness).sum()
    )


def make_plan(
    compiled: Compiled,
    flows: Floats,
    method: Method,
    *,
    objective: float,
    bound: float | None,
    status: str,
    build_seconds: float = 0.0,
    solve_seconds: float = 0.0,
    components: int = 0,
    messages: tuple[str, ...] = (),
    explain: bool = True,
) -> AllocationPlan:
    """``objective`` and ``bound`` count arcs only; the picked units are added here."""
    lines = _line_plans(compiled, flows, method, explain)
    constant = picked_net(compiled)
    total = objective + constant
    full_bound = None if bound is None else max(bound + constant, total)
    gap = None if full_bound is None else (full_bound - total) / max(abs(full_bound), 1.0)
    notes = compiled.messages + _unmet(compiled, lines, method) + messages
    return AllocationPlan(
        method, lines, total, full_bound, gap, solve_seconds, status, notes,
        build_seconds, components,
    )  # fmt: skip


def _assignments(compiled: Compiled, flows: Floats) -> list[list[Assignment]]:
    out: list[list[Assignment]] = [[] for _ in range(compiled.n_lines)]
    pools = compiled.pools
    for i, line in enumerate(compiled.problem.lines):
        if line.picked > 0 and line.node_id is not None:
            out[i].append(Assignment(line.node_id, line.sku, line.picked, "on_hand", None, True))
    used = np.flatnonzero(flows > 1e-9)
    for arc, qty in zip(used.tolist(), flows[used].tolist(), strict=True):
        pool = int(compiled.arc_pool[arc])
        out[int(compiled.arc_line[arc])].append(
            Assignment(
                compiled.nodes[int(pools.node[pool])],
                compiled.skus[int(pools.sku[pool])],
                qty,
                SOURCES[int(pools.source[pool])],
                pools.eta[pool],
            )
        )
    return out


def _line_plans(
    compiled: Compiled, flows: Floats, method: Method, explain: bool
) -> tuple[LinePlan, ...]:
    n = compiled.n_lines

    def per_line(weights: Floats) -> list[float]:
        return np.bincount(compiled.arc_line, weights * flows, minlength=n).tolist()  # type: ignore[no-any-return]

    filled = per_line(np.ones(len(flows)))
    value = per_line(compiled.arc_value)
    transport = per_line(compiled.arc_transport)
    lateness = per_line(compiled.arc_lateness)
    why = explain_plan(compiled, flows, method) if explain else [()] * n
    assignments = _assignments(compiled, flows)
    out = []
    for i, line in enumerate(compiled.problem.lines):
        got = line.picked + filled[i]
        out.append(
            LinePlan(
                line.order_id, line.line_id, line.qty, got, tuple(assignments[i]),
                float(compiled.picked_value[i]) + value[i],
                float(compiled.picked_transport[i]) + transport[i],
                float(compiled.picked_lateness[i]) + lateness[i],
                _meets_minimum(line, got), why[i],
            )
        )  # fmt: skip
    return tuple(out)


def _meets_minimum(line: Line, filled: float) -> bool:
    return filled >= required_units(line) - 1e-6


def _unmet(compiled: Compiled, lines: tuple[LinePlan, ...], method: Method) -> tuple[str, ...]:
    """Minimums missed although each was reachable on its own (the lines that could not
    reach theirs at all are already in the compiled messages)."""
    out = []
    for i, (line, plan) in enumerate(zip(compiled.problem.lines, lines, strict=True)):
        reachable = compiled.required[i] + line.picked >= required_units(line) - 1e-9
        if not plan.min_fill_met and reachable:
            out.append(
                f"{line.key}: contractual minimum of {required_units(line):g} not met "
                f"(gets {plan.filled:g}): {UNMET_REASON[method]}"
            )
    return tuple(out)
