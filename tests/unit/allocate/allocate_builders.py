"""Builders for small allocation problems and the invariants every plan must keep."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from unsnag.allocate import (
    AllocationPlan,
    AllocationProblem,
    Lane,
    Line,
    Supply,
    Weights,
)
from unsnag.allocate.arcs import required_units

AS_OF = datetime(2026, 5, 11, 8, 0)
TOL = 1e-6
PLAIN = Weights(margin=1.0, revenue=0.0, lateness_per_day=0.0)
"""Value per unit = tier_weight × unit_margin; lateness free unless a test says so."""


def line(order: str, sku: str = "A", qty: float = 10, value: float = 1.0, **kw: Any) -> Line:
    hours_ago = kw.pop("hours_ago", 1.0)
    promise_days = kw.pop("promise_days", None)
    return Line(
        order_id=order,
        line_id=kw.pop("line_id", "1"),
        customer_id=kw.pop("customer", f"C-{order}"),
        sku=sku,
        qty=qty,
        region=kw.pop("region", "r"),
        created_at=AS_OF - timedelta(hours=hours_ago),
        unit_margin=value,
        promise=None if promise_days is None else AS_OF + timedelta(days=promise_days),
        **kw,
    )


def stock(qty: float, sku: str = "A", node: str = "dc-a", source: str = "on_hand",
          eta_days: float | None = None) -> Supply:  # fmt: skip
    eta = None if eta_days is None else AS_OF + timedelta(days=eta_days)
    return Supply(node, sku, float(qty), source, eta)  # type: ignore[arg-type]


def lane(node: str = "dc-a", region: str = "r", cost: float = 0.0, days: float = 0.0) -> Lane:
    return Lane(node, region, cost, days)


def problem(lines: list[Line], supply: list[Supply], **kw: Any) -> AllocationProblem:
    lanes = kw.pop("lanes", [lane()])
    return AllocationProblem(
        as_of=AS_OF,
        lines=tuple(lines),
        supply=tuple(supply),
        lanes=tuple(lanes),
        weights=kw.pop("weights", PLAIN),
        **kw,
    )


def fills(plan: AllocationPlan) -> dict[str, float]:
    return {lp.key: lp.filled for lp in plan.lines}


def accepted_skus(p: AllocationProblem, ln: Line) -> set[str]:
    if ln.customer_id in p.no_substitution:
        return {ln.sku}
    subs = {
        r.substitute
        for r in p.substitutes
        if r.sku == ln.sku and (r.customers is None or ln.customer_id in r.customers)
    }
    return {ln.sku} | subs


def check_plan(p: AllocationProblem, plan: AllocationPlan) -> None:
    """Every invariant a plan of any method must keep."""
    assert [lp.key for lp in plan.lines] == [ln.key for ln in p.lines]
    lanes = {(la.node_id, la.region) for la in p.lanes}
    used: dict[tuple[Any, ...], float] = defaultdict(float)
    shipped: dict[str, float] = defaultdict(float)
    for ln, lp in zip(p.lines, plan.lines, strict=True):
        held = [a for a in lp.assignments if a.picked]
        new = [a for a in lp.assignments if not a.picked]
        assert sum(a.qty for a in held) == ln.picked, "picked units stay with their line"
        assert all(a.node_id == ln.node_id and a.sku == ln.sku for a in held)
        assert abs(lp.filled - ln.picked - sum(a.qty for a in new)) <= TOL
        assert lp.filled <= ln.qty + TOL
        got = sum(a.qty for a in new)
        if ln.ship_complete:
            assert got <= TOL or abs(got - (ln.qty - ln.picked)) <= TOL, "all or nothing"
        for a in new:
            assert a.qty > 0
            assert a.sku in accepted_skus(p, ln)
            assert (a.node_id, ln.region) in lanes
            used[(a.node_id, a.sku, a.source, a.eta)] += a.qty
            shipped[a.node_id] += a.qty
        assert lp.min_fill_met == (lp.filled >= required_units(ln) - TOL)
    for key, qty in used.items():
        assert qty <= _free(p, key) + TOL, f"over-allocated {key}"
    for cap in p.capacities:
        assert shipped[cap.node_id] <= cap.units + TOL


def _free(p: AllocationProblem, key: tuple[Any, ...]) -> float:
    node, sku, source, eta = key
    total = sum(
        s.qty
        for s in p.supply
        if (s.node_id, s.sku, s.source) == (node, sku, source)
        and (source == "on_hand" or s.eta == eta)
    )
    if source == "on_hand":
        total -= sum(ln.picked for ln in p.lines if (ln.node_id, ln.sku) == (node, sku))
    return total
