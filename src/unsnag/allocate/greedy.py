"""The baselines: what an ERP does with scarce stock.

Lines are served one at a time, in order of arrival (first come, first served) or by
customer tier and then arrival (priority), each from its own SKU before a substitute,
the soonest-arriving source first and the cheapest lane among equals — without ever
asking whether the stock would be worth more to another line. Contractual minimums are
reserved first, in the same order, as ERP allocation rules do; a ship-complete line
takes its whole quantity or nothing. The same arcs as the optimizer, so the plans are
compared on equal terms.
"""

from __future__ import annotations

import time

import numpy as np

from unsnag.allocate.arcs import Compiled, Floats, Ints, compile_problem
from unsnag.allocate.model import AllocationPlan, AllocationProblem, Method
from unsnag.allocate.plan import empty_plan, make_plan

EPS = 1e-9


def line_order(compiled: Compiled, method: Method) -> Ints:
    """FCFS: by arrival; priority: by tier weight (highest first), then arrival. The
    line's position in the problem breaks ties, so the order is deterministic."""
    position = np.arange(compiled.n_lines)
    if method == "greedy_fcfs":
        return np.lexsort((position, compiled.created)).astype(np.int64)
    weight = np.array([ln.tier_weight for ln in compiled.problem.lines])
    return np.lexsort((position, compiled.created, -weight)).astype(np.int64)


def preference(compiled: Compiled) -> Ints:
    """Arcs grouped by line, each line's in the ERP's order of preference."""
    return np.lexsort(
        (compiled.arc_transport, compiled.arc_arrival, compiled.arc_substitute, compiled.arc_line)
    ).astype(np.int64)


class _Allocator:
    """Mutable stock, capacity and flows while lines are served one by one (Python
    lists: indexing them is several times faster than numpy scalars)."""

    def __init__(self, compiled: Compiled, flows: Floats | None = None) -> None:
        self.pref = preference(compiled).tolist()
        self.start = compiled.line_start.tolist()
        self.pool_of = compiled.arc_pool.tolist()
        self.node_of = compiled.pools.node.tolist()
        self.left = compiled.pools.qty.tolist()
        self.cap = compiled.capacity.tolist()
        self.flows = [0.0] * len(compiled.arc_pool) if flows is None else flows.tolist()

    def take(self, line: int, amount: float, all_or_nothing: bool) -> float:
        taken: list[tuple[int, float]] = []
        remaining = amount
        for arc in self.pref[self.start[line] : self.start[line + 1]]:
            if remaining <= EPS:
                break
            pool = self.pool_of[arc]
            node = self.node_of[pool]
            qty = min(remaining, self.left[pool], self.cap[node])
            if qty > EPS:
                self._move(arc, pool, node, qty)
                taken.append((arc, qty))
                remaining -= qty
        if all_or_nothing and remaining > EPS:
            for arc, qty in taken:
                self._move(arc, self.pool_of[arc], self.node_of[self.pool_of[arc]], -qty)
            return 0.0
        return amount - remaining

    def _move(self, arc: int, pool: int, node: int, qty: float) -> None:
        self.left[pool] -= qty
        self.cap[node] -= qty
        self.flows[arc] += qty


def greedy_flows(compiled: Compiled, method: Method, lines: Ints | None = None) -> Floats:
    """Units per arc when ``lines`` (default: all) are served in ``method``'s order."""
    order = line_order(compiled, method)
    if lines is not None:
        order = order[np.isin(order, lines)]
    alloc = _Allocator(compiled)
    need = compiled.need.tolist()
    required = compiled.required.tolist()
    sc = compiled.ship_complete.tolist()
    got = [0.0] * compiled.n_lines
    ordered = order.tolist()
    for line in ordered:
        if required[line] > EPS:
            got[line] = alloc.take(line, required[line], sc[line])
    for line in ordered:
        if sc[line]:
            if got[line] <= EPS:
                got[line] = alloc.take(line, need[line], True)
        elif need[line] - got[line] > EPS:
            got[line] += alloc.take(line, need[line] - got[line], False)
    return np.asarray(alloc.flows, dtype=np.float64)


def greedy(problem: AllocationProblem, method: Method, explain: bool = True) -> AllocationPlan:
    if not problem.lines:
        return empty_plan(method)
    started = time.perf_counter()
    compiled = compile_problem(problem)
    built = time.perf_counter()
    flows = greedy_flows(compiled, method)
    solved = time.perf_counter()
    objective = float(compiled.arc_net @ flows)
    return make_plan(
        compiled, flows, method, objective=objective, bound=None, status="heuristic",
        build_seconds=built - started, solve_seconds=solved - built, explain=explain,
    )  # fmt: skip


def greedy_fcfs(problem: AllocationProblem, explain: bool = True) -> AllocationPlan:
    """First come, first served."""
    return greedy(problem, "greedy_fcfs", explain)


def greedy_priority(problem: AllocationProblem, explain: bool = True) -> AllocationPlan:
    """Highest customer tier first, then first come, first served."""
    return greedy(problem, "greedy_priority", explain)
