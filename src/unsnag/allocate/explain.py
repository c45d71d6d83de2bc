"""Why each line got what it got, in sentences a planner can check.

For a line that is short: the binding constraint (the stock it could use is all
allocated, a node's capacity is used up, a ship-complete line cannot be completed, or
the stock still free costs more to deliver than it is worth), the line that outranked
it — of the lines holding that stock, the one it would be cheapest to take a unit from
— and the cost of the alternative: what moving one unit from that line to this one
would change in value. For a filled line: where it ships from and what the next-best
source would have cost. The same reading serves every method, so a greedy plan's
explanations show what the greedy rule gave away.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from unsnag.allocate.arcs import Compiled, Floats
from unsnag.allocate.model import SOURCES, Method

EPS = 1e-9


@dataclass(slots=True)
class _View:
    """Plain Python lists of one plan, read once."""

    compiled: Compiled
    method: Method
    flows: list[float]
    net: list[float]
    pool_of: list[int]
    node_of_pool: list[int]
    pool_left: list[float]
    node_left: list[float]
    takers: dict[int, list[tuple[float, int, float]]]
    """Per pool, (net per unit, line, units) of every line holding units of it, in
    ascending order of net value."""

    def where(self, pool: int) -> str:
        pools = self.compiled.pools
        source = SOURCES[int(pools.source[pool])]
        sku = self.compiled.skus[int(pools.sku[pool])]
        eta = pools.eta[pool]
        when = f", ETA {eta:%Y-%m-%d}" if eta is not None else ""
        return f"{sku} at {self.compiled.nodes[self.node_of_pool[pool]]} ({source}{when})"


def _view(compiled: Compiled, flows: Floats, method: Method) -> _View:
    taken = np.bincount(compiled.arc_pool, flows, minlength=len(compiled.pools.qty))
    node = compiled.pools.node[compiled.arc_pool]
    shipped = np.bincount(node, flows, minlength=len(compiled.nodes))
    net = compiled.arc_net.tolist()
    takers: dict[int, list[tuple[float, int, float]]] = {}
    used = np.flatnonzero(flows > EPS).tolist()
    for arc in used:
        pool = int(compiled.arc_pool[arc])
        takers.setdefault(pool, []).append((net[arc], int(compiled.arc_line[arc]), flows[arc]))
    for holders in takers.values():
        holders.sort()  # the cheapest to take a unit from first
    return _View(
        compiled, method, flows.tolist(), net, compiled.arc_pool.tolist(),
        compiled.pools.node.tolist(), (compiled.pools.qty - taken).tolist(),
        (compiled.capacity - shipped).tolist(), takers,
    )  # fmt: skip


def explain_plan(compiled: Compiled, flows: Floats, method: Method) -> list[tuple[str, ...]]:
    view = _view(compiled, flows, method)
    return [_explain_line(view, i) for i in range(compiled.n_lines)]


def _explain_line(view: _View, i: int) -> tuple[str, ...]:
    c = view.compiled
    line = c.problem.lines[i]
    arcs = range(int(c.line_start[i]), int(c.line_start[i + 1]))
    got = sum(view.flows[a] for a in arcs)
    need = float(c.need[i])
    if need <= EPS:
        return (f"already picked in full at {line.node_id}",)
    if not arcs:
        return (
            f"no free stock of {line.sku} or an accepted substitute at any node with a lane "
            f"to {line.region}",
        )
    head = _fill_sentence(view, arcs, got, need, line.picked)
    if got >= need - 1e-6:
        return (head, *_alternative(view, arcs))
    return (head, *_shortage(view, i, arcs, need))


def _fill_sentence(view: _View, arcs: range, got: float, need: float, picked: float) -> str:
    parts = [
        f"{view.flows[a]:g} {view.where(view.pool_of[a])}" for a in arcs if view.flows[a] > EPS
    ]
    held = f"{picked:g} already picked, " if picked > 0 else ""
    if got >= need - 1e-6:
        return f"filled in full: {held}{', '.join(parts)}"
    if got <= EPS:
        return f"nothing allocated of {need:g} needed" + (f" ({held[:-2]})" if held else "")
    return f"filled {got:g} of {need:g}: {held}{', '.join(parts)}"


def _alternative(view: _View, arcs: range) -> tuple[str, ...]:
    """The cost of the next-best source, next to the worst source used."""
    used = [a for a in arcs if view.flows[a] > EPS]
    unused = [a for a in arcs if view.flows[a] <= EPS]
    if not used or not unused:
        return ()
    worst = min(used, key=lambda a: view.net[a])
    best = max(unused, key=lambda a: view.net[a])
    delta = view.net[worst] - view.net[best]
    where = view.where(view.pool_of[best])
    if delta >= 0:
        return (f"alternative: {where} would be worth {delta:.2f}/unit less",)
    room = _room(view, best)
    why = f"{room:g} of it still free" if room > EPS else "other lines hold it"
    return (f"alternative: {where} would be worth {-delta:.2f}/unit more ({why})",)


def _shortage(view: _View, i: int, arcs: range, need: float) -> tuple[str, ...]:
    c = view.compiled
    out: list[str] = []
    ship_complete = bool(c.ship_complete[i])
    if ship_complete:
        reach = sum(max(0.0, c.pools.qty[view.pool_of[a]]) for a in arcs)
        if reach < need - 1e-6:
            return (f"ship-complete: needs {need:g} but only {reach:g} can reach it at all",)
        out.append(f"ship-complete: all {need:g} or nothing")
    free = [a for a in arcs if _room(view, a) > EPS]
    enough = sum(_room(view, a) for a in free) >= (need if ship_complete else 0.0) - 1e-6
    if free and enough:
        return (*out, _too_costly(view, max(free, key=lambda a: view.net[a])))
    best = max(arcs, key=lambda a: view.net[a])
    return (*out, *_outranked(view, i, best))


def _room(view: _View, arc: int) -> float:
    pool = view.pool_of[arc]
    return min(view.pool_left[pool], view.node_left[view.node_of_pool[pool]])


def _too_costly(view: _View, arc: int) -> str:
    c = view.compiled
    pool = view.pool_of[arc]
    value, lane, late = c.arc_value[arc], c.arc_transport[arc], c.arc_lateness[arc]
    return (
        f"binding: cost — {_room(view, arc):g} of {view.where(pool)} still free, but it "
        f"would cost {lane + late:.2f}/unit (lane {lane:.2f}, lateness {late:.2f}) "
        f"against {value:.2f}/unit of value"
    )


def _outranked(view: _View, i: int, arc: int) -> tuple[str, ...]:
    c = view.compiled
    pool = view.pool_of[arc]
    if view.node_left[view.node_of_pool[pool]] <= EPS:
        binding = f"binding: capacity of {c.nodes[view.node_of_pool[pool]]} is used up"
    elif view.pool_left[pool] <= EPS:
        binding = f"binding: stock — {view.where(pool)} is all allocated"
    else:
        binding = f"binding: stock — only {view.pool_left[pool]:g} of {view.where(pool)} left"
    holders = [t for t in view.takers.get(pool, ()) if t[1] != i]
    if not holders:
        return (binding,)
    their_net, first, units = holders[0]
    rival = c.problem.lines[first]
    outranked = (
        f"outranked by {rival.key} ({rival.tier}), holding {units:g} there at "
        f"{their_net:.2f}/unit against {view.net[arc]:.2f}/unit here"
    )
    return binding, outranked, _alternative_cost(view, i, arc, holders)


def _alternative_cost(
    view: _View, i: int, arc: int, holders: list[tuple[float, int, float]]
) -> str:
    """What serving this line from ``arc`` instead would change: one unit for a partial
    line, the whole need for a ship-complete one, taken from the holders it is cheapest
    to take from — a ship-complete holder loses everything it holds, not one unit."""
    c = view.compiled
    ship_complete = bool(c.ship_complete[i])
    wanted = float(c.need[i]) if ship_complete else 1.0
    lost, moved, names = 0.0, min(wanted, max(0.0, _room(view, arc))), []
    for net, other, units in holders:
        if moved >= wanted - EPS:
            break
        whole = bool(c.ship_complete[other])
        take = units if whole else min(units, wanted - moved)
        lost += net * take
        moved += take
        key = c.problem.lines[other].key
        names.append(f"{key} (ship-complete, all {units:g})" if whole else key)
    gained = view.net[arc] * min(wanted, moved)
    delta = lost - gained
    verb = "lose" if delta >= 0 else "gain"
    if not ship_complete and len(names) == 1:
        return (
            f"cost of the alternative: moving a unit from {names[0]} to this line would "
            f"{verb} {abs(delta):.2f}"
        )
    return (
        f"cost of the alternative: shipping {min(wanted, moved):g} here would displace "
        f"{', '.join(names)}, worth {lost:.2f}, for {gained:.2f} here: {verb} {abs(delta):.2f}"
    )
