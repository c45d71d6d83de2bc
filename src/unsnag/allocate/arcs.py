"""Compile a problem into arrays: lines, stock pools and the arcs between them.

An arc is one way a line can be served: a pool (node × SKU × source × ETA) holding its
SKU or an accepted substitute, at a node with a lane to the line's region. Every method
— the optimizer, both greedy baselines, the explanations and the one value function —
reads the same arcs, so their plans are comparable unit for unit. Built with numpy in
bulk because a 50,000-line problem has half a million arcs and Python loops over them
would cost more than solving.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from unsnag.allocate.model import SOURCES, AllocationProblem, Line, Source
from unsnag.allocate.validate import validate

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]
Bools = NDArray[np.bool_]
DAY_SECONDS = 86_400.0


@dataclass(frozen=True, slots=True)
class Pools:
    """Stock pools, sorted by SKU; ``qty`` is what is free to allocate (picked units
    already deducted)."""

    node: Ints
    sku: Ints
    source: Ints
    ready: Floats
    """Days from ``as_of`` until the stock can leave the node (0 for on hand)."""
    eta: tuple[datetime | None, ...]
    qty: Floats


@dataclass(frozen=True, slots=True)
class Compiled:
    problem: AllocationProblem
    nodes: tuple[str, ...]
    skus: tuple[str, ...]
    need: Floats
    """Units still to allocate per line: qty minus picked."""
    required: Floats
    """Units of the contractual minimum still to allocate per line."""
    ship_complete: Bools
    unit_value: Floats
    created: Floats
    pools: Pools
    arc_line: Ints
    arc_pool: Ints
    arc_value: Floats
    arc_transport: Floats
    arc_lateness: Floats
    arc_arrival: Floats
    """Days from ``as_of`` until the units reach the customer (ready + lane transit)."""
    arc_substitute: Bools
    line_start: Ints
    """Arcs of line ``i`` are ``line_start[i]:line_start[i + 1]`` (arcs sorted by line)."""
    capacity: Floats
    """Units each node may ship (``inf``: no limit)."""
    picked_value: Floats
    picked_transport: Floats
    picked_lateness: Floats
    line_sku: Ints
    messages: tuple[str, ...]

    @property
    def arc_net(self) -> Floats:
        return self.arc_value - self.arc_transport - self.arc_lateness

    @property
    def n_lines(self) -> int:
        return len(self.need)


def days(moment: datetime | None, as_of: datetime, default: float) -> float:
    return default if moment is None else (moment - as_of).total_seconds() / DAY_SECONDS


def required_units(line: Line) -> float:
    """The contractual minimum in units: whole units (rounded up), all of a ship-complete
    line, never more than ordered."""
    if line.min_fill <= 0:
        return 0.0
    if line.ship_complete:
        return line.qty
    return min(line.qty, float(math.ceil(line.min_fill * line.qty - 1e-9)))


def compile_problem(problem: AllocationProblem) -> Compiled:
    """Validate, then lay out the problem as arrays (raises :class:`InvalidProblem`)."""
    validate(problem)
    nodes, node_index = _index({s.node_id for s in problem.supply} | _lane_nodes(problem))
    skus, sku_index = _index({s.sku for s in problem.supply} | {ln.sku for ln in problem.lines})
    messages: list[str] = []
    pools = _pools(problem, node_index, sku_index, messages)
    lanes = _Lanes.build(problem, node_index)
    lines = problem.lines
    unit_value = np.array([_unit_value(problem, ln) for ln in lines], dtype=np.float64)
    arcs = _arcs(problem, pools, lanes, unit_value, sku_index)
    need = np.array([ln.qty - ln.picked for ln in lines], dtype=np.float64)
    sc = np.array([ln.ship_complete for ln in lines], dtype=np.bool_)
    reach = np.minimum(need, np.bincount(arcs[0], pools.qty[arcs[1]], minlength=len(lines)))
    required = _required(problem, need, reach, messages)
    line_sku = np.array([sku_index[ln.sku] for ln in lines], dtype=np.int64)
    substitute = pools.sku[arcs[1]] != line_sku[arcs[0]]
    return Compiled(
        problem, nodes, skus, need, required, sc, unit_value,
        np.array([days(ln.created_at, problem.as_of, 0.0) for ln in lines]), pools,
        *arcs, substitute, np.searchsorted(arcs[0], np.arange(len(lines) + 1)).astype(np.int64),
        _capacity(problem, node_index), *_picked_terms(problem, lanes, unit_value, node_index),
        line_sku, tuple(messages),
    )  # fmt: skip


def _required(
    problem: AllocationProblem, need: Floats, reach: Floats, messages: list[str]
) -> Floats:
    """Contractual minimums still to allocate, cut to what the line can reach at all,
    saying so for every line whose minimum is out of reach on its own."""
    out = np.zeros(len(need))
    for i, line in enumerate(problem.lines):
        required = max(0.0, required_units(line) - line.picked)
        if required <= 0:
            continue
        gettable = float(reach[i])
        if line.ship_complete and gettable < need[i] - 1e-9:
            gettable = 0.0
        if gettable < required - 1e-9:
            messages.append(
                f"{line.key}: contractual minimum of {required_units(line):g} cannot be met: "
                f"only {gettable + line.picked:g} of {line.sku} or accepted substitutes "
                "is reachable" + (" (ship-complete: all or nothing)" if line.ship_complete else "")
            )
        out[i] = min(required, gettable)
    return out


def _capacity(problem: AllocationProblem, node_index: dict[str, int]) -> Floats:
    capacity = np.full(len(node_index), np.inf)
    for cap in problem.capacities:
        if cap.node_id in node_index:
            capacity[node_index[cap.node_id]] = cap.units
    return capacity


def _index(names: set[str]) -> tuple[tuple[str, ...], dict[str, int]]:
    ordered = tuple(sorted(names))
    return ordered, {name: i for i, name in enumerate(ordered)}


def _lane_nodes(problem: AllocationProblem) -> set[str]:
    return {lane.node_id for lane in problem.lanes} | {
        ln.node_id for ln in problem.lines if ln.node_id is not None
    }


def _unit_value(problem: AllocationProblem, line: Line) -> float:
    w = problem.weights
    return line.tier_weight * (w.margin * line.unit_margin + w.revenue * line.unit_price)


def _pools(
    problem: AllocationProblem,
    node_index: dict[str, int],
    sku_index: dict[str, int],
    messages: list[str],
) -> Pools:
    """Merge supply records by (node, SKU, source, ETA) and hold back picked units."""
    merged: dict[tuple[int, int, int, datetime | None], float] = {}
    for s in problem.supply:
        eta = None if s.source == "on_hand" else s.eta
        key = (sku_index[s.sku], node_index[s.node_id], SOURCES.index(s.source), eta)
        merged[key] = merged.get(key, 0.0) + s.qty
    for line in problem.lines:
        if line.picked > 0 and line.node_id is not None:
            key = (sku_index[line.sku], node_index[line.node_id], 0, None)
            held = merged.get(key, 0.0)
            if held < line.picked - 1e-9:
                messages.append(
                    f"{line.key}: {line.picked:g} picked at {line.node_id} but only "
                    f"{max(held, 0.0):g} of {line.sku} on hand there; nothing else is free"
                )
            merged[key] = held - line.picked
    keys = sorted(merged, key=lambda k: (k[0], k[1], k[2], k[3] or problem.as_of))
    return Pools(
        node=np.array([k[1] for k in keys], dtype=np.int64),
        sku=np.array([k[0] for k in keys], dtype=np.int64),
        source=np.array([k[2] for k in keys], dtype=np.int64),
        ready=np.array([max(0.0, days(k[3], problem.as_of, 0.0)) for k in keys]),
        eta=tuple(k[3] for k in keys),
        qty=np.array([max(0.0, merged[k]) for k in keys], dtype=np.float64),
    )


@dataclass(frozen=True, slots=True)
class _Lanes:
    cost: Floats
    transit: Floats
    ok: Bools
    region_index: dict[str, int]

    @classmethod
    def build(cls, problem: AllocationProblem, node_index: dict[str, int]) -> _Lanes:
        regions = {lane.region for lane in problem.lanes} | {ln.region for ln in problem.lines}
        _, region_index = _index(regions)
        shape = (len(node_index), len(region_index))
        cost, transit, ok = np.zeros(shape), np.zeros(shape), np.zeros(shape, dtype=np.bool_)
        for lane in problem.lanes:
            at = (node_index[lane.node_id], region_index[lane.region])
            cost[at], transit[at], ok[at] = lane.cost_per_unit, lane.transit_days, True
        return cls(cost, transit, ok, region_index)


def _candidates(problem: AllocationProblem, sku_index: dict[str, int]) -> tuple[Ints, Ints, Floats]:
    """(line, SKU, value factor) for the ordered SKU and every accepted substitute."""
    subs: dict[str, list[tuple[int, float, frozenset[str] | None]]] = {}
    for rule in problem.substitutes:
        if rule.substitute in sku_index and rule.substitute != rule.sku:
            subs.setdefault(rule.sku, []).append(
                (sku_index[rule.substitute], rule.value_factor, rule.customers)
            )
    lines: list[int] = []
    sku_ids: list[int] = []
    factors: list[float] = []
    refusing = problem.no_substitution
    for i, line in enumerate(problem.lines):
        lines.append(i)
        sku_ids.append(sku_index[line.sku])
        factors.append(1.0)
        if line.customer_id in refusing:
            continue
        taken = {sku_ids[-1]}
        for sku_id, factor, customers in subs.get(line.sku, ()):
            if sku_id not in taken and (customers is None or line.customer_id in customers):
                taken.add(sku_id)  # the first rule that admits a SKU for a line wins
                lines.append(i)
                sku_ids.append(sku_id)
                factors.append(factor)
    return np.array(lines, np.int64), np.array(sku_ids, np.int64), np.array(factors)


def _arcs(
    problem: AllocationProblem,
    pools: Pools,
    lanes: _Lanes,
    unit_value: Floats,
    sku_index: dict[str, int],
) -> tuple[Ints, Ints, Floats, Floats, Floats, Floats]:
    """Expand (line, SKU) pairs into (line, pool) arcs with a lane and free stock."""
    pair_line, pair_sku, pair_factor = _candidates(problem, sku_index)
    first = np.searchsorted(pools.sku, np.arange(len(sku_index) + 1))
    counts = (first[1:] - first[:-1])[pair_sku]
    total = int(counts.sum())
    offsets = np.repeat(np.cumsum(counts) - counts, counts)
    arc_pool = np.repeat(first[:-1][pair_sku], counts) + np.arange(total) - offsets
    arc_line = np.repeat(pair_line, counts)
    factor = np.repeat(pair_factor, counts)
    region = np.array([lanes.region_index[ln.region] for ln in problem.lines], dtype=np.int64)
    node, reg = pools.node[arc_pool], region[arc_line]
    keep = lanes.ok[node, reg] & (pools.qty[arc_pool] > 1e-9)
    arc_line, arc_pool, factor, node, reg = (
        a[keep] for a in (arc_line, arc_pool, factor, node, reg)
    )
    promise = np.array([days(ln.promise, problem.as_of, np.inf) for ln in problem.lines])
    arrival = pools.ready[arc_pool] + lanes.transit[node, reg]
    late = np.maximum(0.0, arrival - promise[arc_line])
    value = unit_value[arc_line] * factor
    lateness = problem.weights.lateness_per_day * np.abs(value) * late
    return arc_line, arc_pool, value, lanes.cost[node, reg], lateness, arrival


def _picked_terms(
    problem: AllocationProblem, lanes: _Lanes, unit_value: Floats, node_index: dict[str, int]
) -> tuple[Floats, Floats, Floats]:
    """Value, transport and lateness of the units lines already hold (the same for every
    plan, counted so that a line's value covers all it ships)."""
    n = len(problem.lines)
    value, transport, lateness = np.zeros(n), np.zeros(n), np.zeros(n)
    rate = problem.weights.lateness_per_day
    for i, line in enumerate(problem.lines):
        if line.picked <= 0 or line.node_id is None:
            continue
        at = (node_index[line.node_id], lanes.region_index[line.region])
        transit = float(lanes.transit[at]) if lanes.ok[at] else 0.0
        late = max(0.0, transit - days(line.promise, problem.as_of, math.inf))
        value[i] = unit_value[i] * line.picked
        transport[i] = float(lanes.cost[at]) * line.picked if lanes.ok[at] else 0.0
        lateness[i] = rate * abs(value[i]) * late
    return value, transport, lateness


def source_name(code: int) -> Source:
    return SOURCES[code]
