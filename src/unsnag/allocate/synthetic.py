"""Seeded allocation problems for benchmarks and tests.

``synthetic_problem``: N contested lines × D nodes × K SKUs. Demand on every SKU is 1.3–2×
its supply (the lines are *contested*); popularity falls with rank (Zipf 0.7, so the
hottest SKU draws a few per cent of the lines, not half); SKUs come in small families
whose members substitute for each other, accepted by most customers but not all; stock
sits on hand at a few nodes, in transit and on open purchase orders; nodes and regions
lie on a ring, so lanes cost more and take longer the further apart they are.

``spike_problem``: the twin's ``demand_spike`` fault many times over — three to five
customers of one node order the same scarce SKU within hours, each enough that at most
one can be served from that node's stock, with a tier mix, promise dates, ship-complete
and contractual customers, a little stock elsewhere and a replenishment on its way.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from unsnag.allocate.model import (
    AllocationProblem,
    Lane,
    Line,
    Source,
    Substitute,
    Supply,
)

AS_OF = datetime(2026, 5, 11, 8, 0)
TIERS = {"strategic": 0.05, "gold": 0.15, "silver": 0.3, "standard": 0.5}
"""The twin's default tier mix."""
TIER_WEIGHTS = {"strategic": 3.0, "gold": 2.0, "silver": 1.5, "standard": 1.0}


@dataclass(frozen=True, slots=True)
class Customer:
    customer_id: str
    tier: str
    region: str
    ship_complete: bool
    min_fill: float
    accepts_substitutes: bool


@dataclass(frozen=True, slots=True)
class Sku:
    sku: str
    price: float
    margin: float


def node_name(i: int) -> str:
    return f"dc-{i:02d}"


def region_name(i: int) -> str:
    return f"region-{i:02d}"


def ring_lanes(dcs: int) -> tuple[Lane, ...]:
    """Every node reaches every region; further round the ring costs more and is slower."""
    lanes = []
    for n in range(dcs):
        for r in range(dcs):
            hops = min(abs(n - r), dcs - abs(n - r))
            lanes.append(Lane(node_name(n), region_name(r), 0.5 + 0.75 * hops, 1.0 + hops))
    return tuple(lanes)


def _tier(rng: random.Random) -> str:
    return rng.choices(list(TIERS), weights=list(TIERS.values()))[0]


def _customers(rng: random.Random, count: int, dcs: int) -> list[Customer]:
    out = []
    for i in range(count):
        tier = _tier(rng)
        contract = {"strategic": 0.6, "gold": 0.3}.get(tier, 0.0)
        out.append(
            Customer(
                customer_id=f"C{i:05d}",
                tier=tier,
                region=region_name(rng.randrange(dcs)),
                ship_complete=rng.random() < 0.15,
                min_fill=rng.choice((0.5, 0.8, 1.0)) if rng.random() < contract else 0.0,
                accepts_substitutes=rng.random() < 0.7,
            )
        )
    return out


def _skus(rng: random.Random, count: int) -> list[Sku]:
    out = []
    for i in range(count):
        price = round(min(2000.0, rng.lognormvariate(4.0, 0.9)), 2)
        out.append(Sku(f"SKU-{i:05d}", price, round(price * rng.uniform(0.08, 0.45), 2)))
    return out


def _families(rng: random.Random, skus: list[Sku]) -> tuple[Substitute, ...]:
    """Families of one to three SKUs; within a family most pairs substitute."""
    rules = []
    i = 0
    while i < len(skus):
        size = rng.choice((1, 1, 2, 2, 3))
        family = skus[i : i + size]
        i += size
        for a in family:
            for b in family:
                if a is not b and rng.random() < 0.7:
                    rules.append(Substitute(a.sku, b.sku, round(rng.uniform(0.8, 1.0), 2)))
    return tuple(rules)


def _line(
    rng: random.Random,
    n: int,
    customer: Customer,
    sku: Sku,
    qty: float,
    hours_ago: float,
    promise_days: tuple[float, float] = (2.0, 9.0),
) -> Line:
    created = AS_OF - timedelta(hours=hours_ago)
    price = round(sku.price * rng.uniform(0.9, 1.1), 2)
    return Line(
        order_id=f"SO-{n:07d}",
        line_id="1",
        customer_id=customer.customer_id,
        sku=sku.sku,
        qty=qty,
        region=customer.region,
        created_at=created,
        unit_price=price,
        unit_margin=round(sku.margin + price - sku.price, 2),
        tier=customer.tier,
        tier_weight=TIER_WEIGHTS[customer.tier],
        min_fill=customer.min_fill,
        promise=created + timedelta(days=rng.uniform(*promise_days)),
        ship_complete=customer.ship_complete,
    )


def _zipf_weights(count: int, exponent: float) -> list[float]:
    return [1.0 / (rank + 1) ** exponent for rank in range(count)]


def synthetic_problem(lines: int, dcs: int, skus: int, seed: int) -> AllocationProblem:
    """One contested instance; the same arguments always give the same problem."""
    rng = random.Random(seed)
    dcs, skus = max(1, dcs), max(1, skus)
    customers = _customers(rng, max(20, lines // 25), dcs)
    catalog = _skus(rng, skus)
    popular = rng.sample(catalog, len(catalog))
    weights = _zipf_weights(len(popular), 0.7)
    drawn = rng.choices(popular, weights=weights, k=lines)
    out: list[Line] = []
    for n, sku in enumerate(drawn):
        qty = float(min(200, int(rng.lognormvariate(2.2, 0.8)) + 1))
        out.append(_line(rng, n, rng.choice(customers), sku, qty, rng.uniform(0.0, 72.0)))
    demand: dict[str, float] = {}
    for line in out:
        demand[line.sku] = demand.get(line.sku, 0.0) + line.qty
    supply = [s for sku in catalog for s in _stock(rng, sku.sku, demand.get(sku.sku, 0.0), dcs)]
    picked_lines, supply = _pick_some(rng, out, supply)
    refusing = frozenset(c.customer_id for c in customers if not c.accepts_substitutes)
    return AllocationProblem(
        as_of=AS_OF,
        lines=tuple(picked_lines),
        supply=tuple(supply),
        lanes=ring_lanes(dcs),
        substitutes=_families(rng, catalog),
        no_substitution=refusing,
    )


def _stock(rng: random.Random, sku: str, demand: float, dcs: int) -> list[Supply]:
    """Supply of one SKU: demand / U(1.3, 2), 65 % on hand over 2–5 nodes, 20 % in
    transit (1–4 days), 15 % on a purchase order (4–12 days)."""
    total = round(demand / rng.uniform(1.3, 2.0))
    if total <= 0:
        return []
    on_hand = round(total * 0.65)
    holders = rng.sample(range(dcs), min(dcs, rng.randint(2, 5)))
    shares = [rng.random() + 0.2 for _ in holders]
    out = []
    for node, share in zip(holders, shares, strict=True):
        qty = round(on_hand * share / sum(shares))
        if qty > 0:
            out.append(Supply(node_name(node), sku, float(qty)))
    arriving: tuple[tuple[Source, float, float, float], ...] = (
        ("in_transit", 0.20, 1.0, 4.0),
        ("po", 0.15, 4.0, 12.0),
    )
    for source, share, soonest, latest in arriving:
        qty = round(total * share)
        if qty > 0:
            eta = AS_OF + timedelta(days=rng.uniform(soonest, latest))
            out.append(Supply(node_name(rng.randrange(dcs)), sku, float(qty), source, eta))
    return out


def _pick_some(
    rng: random.Random, lines: list[Line], supply: list[Supply]
) -> tuple[list[Line], list[Supply]]:
    """Three per cent of lines already have part of their quantity picked at a node that
    holds their SKU; the picked units are added to that node's stock (they are there)."""
    holders: dict[str, list[str]] = {}
    for s in supply:
        if s.source == "on_hand":
            holders.setdefault(s.sku, []).append(s.node_id)
    out, extra = [], []
    for line in lines:
        nodes = holders.get(line.sku)
        if nodes and line.qty >= 2 and not line.ship_complete and rng.random() < 0.03:
            picked = float(rng.randint(1, int(line.qty) - 1))
            node = rng.choice(nodes)
            extra.append(Supply(node, line.sku, picked))
            line = replace(line, picked=picked, node_id=node)
        out.append(line)
    return out, supply + extra


def spike_problem(spikes: int = 50, dcs: int = 4, seed: int = 1) -> AllocationProblem:
    """``spikes`` independent demand spikes, each on its own scarce SKU (see module doc)."""
    rng = random.Random(seed)
    dcs = max(2, dcs)
    lines: list[Line] = []
    supply: list[Supply] = []
    rules: list[Substitute] = []
    for k in range(spikes):
        spike = _spike(rng, k, dcs, len(lines))
        lines += spike.lines
        supply += spike.supply
        rules += spike.substitutes
    refusing = frozenset(ln.customer_id for ln in lines if rng.random() < 0.3)
    return AllocationProblem(
        as_of=AS_OF,
        lines=tuple(lines),
        supply=tuple(supply),
        lanes=ring_lanes(dcs),
        substitutes=tuple(rules),
        no_substitution=refusing,
    )


@dataclass(frozen=True, slots=True)
class _Spike:
    lines: list[Line]
    supply: list[Supply]
    substitutes: list[Substitute]


def _spike(rng: random.Random, k: int, dcs: int, first: int) -> _Spike:
    """Three to five customers of one node each order 55–95 % of its free stock of one
    SKU within two hours (as the twin's fault does); some stock sits one or two nodes
    away, a transfer is in transit, and a pricier substitute has a few units."""
    node = rng.randrange(dcs)
    sku = _skus(rng, 1)[0]
    sku = Sku(f"SPK-{k:04d}", sku.price, sku.margin)
    alt = Sku(f"{sku.sku}-ALT", sku.price, sku.margin)
    available = rng.randint(10, 60)
    away = (node + rng.choice((1, -1, 2))) % dcs
    supply = [
        Supply(node_name(node), sku.sku, float(available)),
        Supply(node_name(away), sku.sku, float(round(available * rng.uniform(0.2, 0.6)))),
        Supply(node_name(node), sku.sku, float(round(available * rng.uniform(0.3, 0.8))),
               "in_transit", AS_OF + timedelta(days=rng.uniform(2.0, 5.0))),
        Supply(node_name(node), alt.sku, float(round(available * rng.uniform(0.0, 0.5)))),
    ]  # fmt: skip
    customers = _customers(rng, rng.randint(3, 5), dcs)
    lines = []
    for n, customer in enumerate(customers):
        customer = replace(customer, customer_id=f"C{k:04d}-{n}", region=region_name(node))
        qty = float(max(2, math.ceil(available * rng.uniform(0.55, 0.95))))
        line = _line(rng, first + n, customer, sku, qty, rng.uniform(0.0, 2.0), (1.0, 6.0))
        lines.append(line)
    rule = Substitute(sku.sku, alt.sku, round(rng.uniform(0.85, 0.95), 2))
    return _Spike(lines, supply, [rule])
