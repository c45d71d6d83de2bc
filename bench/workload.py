"""A seeded order-to-cash event workload: benchmark input and the committed sample.

This is not the product's simulator. It is a fast, reproducible stream of CloudEvents 1.0
structured-JSON dicts that keeps to ``docs/EVENTS.md`` and looks like a distributor's
week: master data first, then orders flowing ERP → WMS → TMS → carrier → finance, with a
controlled share of orders carrying one unmistakable exception. Faults are injected on
purpose and reported on a side channel (``truth_path``) so detectors can be scored;
look-alikes that must *not* become cases are mixed in too.

Each order's whole life is written the moment the order arrives; its events wait in time
buckets as ready JSON lines until the clock passes them, so the output is in global time
order (and strictly in time order per subject). Speed matters more than elegance in the
few hot paths (marked): times are integer epoch seconds formatted from caches, random
shapes come from pre-drawn tables, and the cycle collector is paused while writing. All
randomness comes from one ``random.Random(seed)``, so a seed is a fixture.

Look-alikes (no case expected): an ``order.created`` delivered twice with the same
(source, id); remittances whose references read ``Inv# 123`` or ``INV123/SO100045`` and
pay exactly; ERP and WMS counts one unit apart; a ``shipment.delayed`` whose new ETA is
still inside the promise.

    python bench/workload.py --events 1000000 --seed 7 --out bench/out/workload.jsonl \
        --truth bench/out/workload.truth.jsonl

``--out-dir DIR`` writes ``DIR/events.jsonl``, ``DIR/truth.jsonl`` and ``DIR/meta.json``
(orders, events, seed, exception rate), the layout ``unsnag eval`` scores a replay against.
"""

from __future__ import annotations

import argparse
import gc
import math
import random
import sys
import time as wallclock
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import accumulate, chain, count
from pathlib import Path
from typing import Any

import orjson

START = datetime(2026, 5, 4, 6, 0, tzinfo=UTC)
MIN, HOUR, DAY = 60, 3_600, 86_400
REGIONS = ("east", "west", "central", "south")
DCS = tuple(f"dc-{region}" for region in REGIONS)
TIERS = (("strategic", 0.05), ("gold", 0.15), ("silver", 0.30), ("standard", 0.50))
CHANNELS = (("edi", 0.35), ("portal", 0.25), ("ecommerce", 0.15), ("inside_sales", 0.25))
CHANNEL_SOURCE = {"edi": "edi", "portal": "portal", "ecommerce": "ecommerce", "inside_sales": "erp"}
CARRIERS = (("ups", "ground"), ("fedex", "2day"), ("xpo", "ltl"), ("odfl", "ltl"), ("estes", "ltl"))
FAMILIES = (
    ("BRG", "bearings", 2.0, 80.0),
    ("FLT", "filters", 3.0, 40.0),
    ("VLV", "valves", 15.0, 400.0),
    ("HSE", "hoses", 5.0, 120.0),
    ("FST", "fasteners", 0.2, 6.0),
    ("PMP", "pumps", 150.0, 2500.0),
    ("SEL", "seals", 1.0, 30.0),
    ("ELC", "electrical", 4.0, 200.0),
    ("MTR", "motors", 120.0, 1800.0),
    ("BLT", "belts", 5.0, 60.0),
)
CITIES = {
    "east": (("Boston", "MA", "021"), ("Newark", "NJ", "071"), ("Baltimore", "MD", "212")),
    "west": (("Seattle", "WA", "981"), ("Portland", "OR", "972"), ("Phoenix", "AZ", "850")),
    "central": (("Chicago", "IL", "606"), ("Omaha", "NE", "681"), ("Minneapolis", "MN", "554")),
    "south": (("Dallas", "TX", "752"), ("Atlanta", "GA", "303"), ("Nashville", "TN", "372")),
}
NAME_A = (
    "Apex",
    "Summit",
    "Keystone",
    "Harbor",
    "Prairie",
    "Granite",
    "Pioneer",
    "Atlas",
    "Cedar",
    "Northstar",
    "Redline",
    "Bluewater",
    "Ironwood",
    "Frontier",
    "Liberty",
)
NAME_B = (
    "Industrial Supply",
    "Fluid Power",
    "Mechanical",
    "Maintenance Co",
    "Motion",
    "Plant Services",
    "Equipment",
    "Contractors",
    "Manufacturing",
    "Process Systems",
)
STREETS = ("Main St", "Industrial Pkwy", "Commerce Dr", "Depot Rd", "Mill St", "Harbor Blvd")
ENDPOINTS = ("erp/orders-api", "erp/inventory-api", "edi/as2-inbound", "edi/x12-translator")

CASE_TYPES = (
    "allocation.shortage",
    "allocation.conflict",
    "inventory.mismatch",
    "pick.short",
    "pricing.mismatch",
    "credit.hold",
    "master_data.invalid",
    "order.duplicate",
    "shipment.delay",
    "shipment.failed",
    "delivery.discrepancy",
    "asn.discrepancy",
    "return.pending",
    "invoice.hold",
    "cash.unapplied",
    "payment.overdue",
    "integration.failure",
)
"""Every case type of the taxonomy; the workload injects each of them."""

LOOKALIKES = (
    "redelivered_order",
    "remittance_reference_variant",
    "snapshot_one_unit_gap",
    "delay_within_promise",
)
"""Harmless patterns that resemble a fault and must not open a case."""

SIDE_FAULTS = frozenset({"inventory.mismatch", "asn.discrepancy", "integration.failure"})
"""Faults that belong to stock, a PO or an interface rather than to an order."""

LINE_IDS = tuple(str(i) for i in range(64))
POPULAR_TABLE = 1 << 16
TABLE = 4096
"""Size of the pre-drawn tables of line counts and quantities (lognormal draws are slow)."""
LOOKALIKE_RATE = 0.01
PO_RATE = 0.02
EVENTS_PER_ORDER = 15.0
"""Measured mean events per order at the default exception rate (used by ``--events``)."""


# --- time ---------------------------------------------------------------------------------

_DAYS: dict[int, str] = {}


def day_text(t: int) -> str:
    """The calendar date of epoch second ``t``; cached because every event needs one."""
    d = t // DAY
    text = _DAYS.get(d)
    if text is None:
        text = _DAYS[d] = datetime.fromtimestamp(d * DAY, UTC).strftime("%Y-%m-%d")
    return text


_HOURS: dict[int, str] = {}
_MINUTES_SECONDS = tuple(f"{s // MIN:02d}:{s % MIN:02d}Z" for s in range(HOUR))


def instant_text(t: int) -> str:
    """RFC 3339 UTC for epoch second ``t``: a cached hour plus a precomputed "MM:SSZ",
    because every event needs one and ``datetime.isoformat`` would be a fifth of the run."""
    prefix = _HOURS.get(t // HOUR)
    if prefix is None:
        prefix = _HOURS[t // HOUR] = f"{day_text(t)}T{t % DAY // HOUR:02d}:"
    return prefix + _MINUTES_SECONDS[t % HOUR]


def end_of_day(t: int) -> int:
    """The last second of ``t``'s day: a bare date in the contract means "by then"."""
    return t - t % DAY + DAY - 1


# --- master data --------------------------------------------------------------------------


@dataclass(slots=True)
class Customer:
    id: str
    name: str
    tier: str
    credit_limit: int
    terms_days: int
    region: str
    segment: str
    ship_tos: list[dict[str, str]]
    node: str
    """Customers are served from the DC of their region."""
    prices: dict[str, int] = field(default_factory=dict)
    """Contract prices in cents by SKU."""


@dataclass(slots=True)
class Product:
    sku: str
    family: str
    cost: int
    price: int
    substitutes: list[str] = field(default_factory=list)


@dataclass(slots=True)
class World:
    customers: list[Customer]
    by_region: dict[str, list[Customer]]
    products: list[Product]
    popular: list[Product]
    """Products repeated in proportion to demand: a uniform draw from it is a weighted one."""
    contracts: dict[tuple[str, str], int]
    by_sku: dict[str, Product]


def master_scale(orders: int) -> tuple[int, int]:
    """Customers and SKUs grow with the run: a 60-order sample stays small, a million-event
    run gets the full 200 customers and 1,000 SKUs."""
    return min(200, max(10, orders // 10)), min(1000, max(12, orders // 4))


def orders_per_day(orders: int) -> int:
    """A sample spans a few days; a large run a quarter at up to 1,000 orders a day."""
    return min(1000, max(20, orders // 30))


def snapshots_per_dc(skus: int) -> int:
    """How many SKUs each DC re-counts every night (both ERP and WMS report them)."""
    return min(25, max(2, skus // 40))


# --- the event queue ----------------------------------------------------------------------

_SHIFT = 12
"""Buckets of the event queue span 2**12 s (68 minutes)."""


class Stream:
    """Events wait in time buckets until the generator's clock has passed them, so the
    output is in global time order although each order's whole life is written at once.

    An event becomes its JSON line the moment it is made, while it is still in the CPU
    cache, and waits as compact bytes rather than a tree of dicts. ``time`` is the second
    member of every line (after the constant ``specversion``), so sorting a bucket's lines
    as bytes sorts them by time; ties fall to the id. A push is an append; nothing is ever
    pushed before the clock, so a bucket wholly in the past is final.
    """

    def __init__(self, start: int) -> None:
        self.buckets: defaultdict[int, list[bytes]] = defaultdict(list)
        self.next_key = start >> _SHIFT
        self.push = self._pusher()

    def _pusher(self) -> Callable[[int, str, str, str, dict[str, Any]], bytes]:
        """Build ``push(t, type, source, subject, data) -> line``, which queues one event.

        A closure because it runs for every event and reads its state from cells faster
        than from attributes. ``datacontenttype`` is left out: in the JSON format its
        absence means ``application/json``, and it would be a tenth of every line."""
        buckets, prefixes, hours, clock = self.buckets, {}, _HOURS, _MINUTES_SECONDS
        numbers = map(str, count(10_000_001))  # eight-digit ids without formatting
        dumps, newline, shift, hour_s = orjson.dumps, orjson.OPT_APPEND_NEWLINE, _SHIFT, HOUR

        def push(t: int, etype: str, source: str, subject: str, data: dict[str, Any]) -> bytes:
            hour = hours.get(t // hour_s)
            prefix = prefixes.get(source)
            if prefix is None:
                prefix = prefixes[source] = source.split("/", 1)[0] + "-"
            line = dumps(
                {
                    "specversion": "1.0",
                    "time": hour + clock[t % hour_s] if hour else instant_text(t),
                    "id": prefix + next(numbers),
                    "source": source,
                    "type": etype,
                    "subject": subject,
                    "data": data,
                },
                None,
                newline,
            )
            buckets[t >> shift].append(line)
            return line

        return push

    def redeliver(self, t: int, line: bytes) -> None:
        """The same (source, id) again: a retried webhook or a replayed EDI file."""
        self.buckets[t >> _SHIFT].append(line)

    def last_time(self) -> int:
        """The time of the latest queued event (the clock when nothing is queued)."""
        if not self.buckets:
            return self.next_key << _SHIFT
        latest = orjson.loads(max(self.buckets[max(self.buckets)]))["time"]
        return int(datetime.fromisoformat(latest).timestamp())

    def drain(self, until: int | None) -> list[bytes]:
        """Release, in time order, the lines of every bucket that ended before ``until``
        (of all buckets when None)."""
        if until is None:
            until = (max(self.buckets, default=0) + 2) << _SHIFT
        buckets, out = self.buckets, []
        for key in range(self.next_key, until >> _SHIFT):
            bucket = buckets.pop(key, None)
            if bucket is not None:
                bucket.sort()
                out += bucket
        self.next_key = max(self.next_key, until >> _SHIFT)
        return out


# --- one order's state --------------------------------------------------------------------


@dataclass(slots=True)
class Order:
    id: str
    customer: Customer
    channel: str
    t: int
    lines: list[dict[str, Any]]
    cents: list[int]
    fault: str | None = None
    variant: str = ""
    lookalike: str | None = None
    po_number: str | None = None
    promise_end: int = 0
    fail_lines: dict[int, int] = field(default_factory=dict)
    target_line: int = 0
    shipped: list[int] = field(default_factory=list)
    shipment_id: str = ""
    carrier: str = ""
    first_fail_t: int = 0
    node: str = ""
    wms: str = ""


class Workload:
    """Builds the world from the seed, then walks order slots forward in time."""

    def __init__(
        self,
        orders: int,
        seed: int,
        exception_rate: float,
        start: datetime,
        faults: list[dict[str, Any]],
    ) -> None:
        if orders < 0 or not 0.0 <= exception_rate <= 1.0:
            raise ValueError("orders must be >= 0 and exception_rate within [0, 1]")
        self.rng = random.Random(seed)
        self.r = self.rng.random
        self.orders = orders
        self.t0 = int(start.timestamp())
        self.faults = faults
        self.s = Stream(self.t0)
        self.push = self.s.push
        self.ids: dict[str, Iterator[str]] = {}
        self.max_due = self.t0
        self.invoice_amounts: set[int] = set()
        self.world = self._world(*master_scale(orders))
        lognormal = self.rng.lognormvariate
        self.line_counts = [min(40, max(1, round(lognormal(1.1, 0.8)))) for _ in range(TABLE)]
        self.quantities = [min(50, max(1, int(lognormal(1.7, 0.9)))) for _ in range(TABLE)]
        self.fault_of, self.lookalike_of = self._plan(orders, exception_rate)

    # --- small helpers ---

    def between(self, lo: int, hi: int) -> int:
        """A uniform integer in [lo, hi]; cheaper than ``randint``."""
        return lo + int(self.r() * (hi - lo + 1))

    def pick(self, items: Sequence[Any]) -> Any:
        return items[int(self.r() * len(items))]

    def weighted(self, pairs: Sequence[tuple[str, float]]) -> str:
        """A value drawn by weight (the weights sum to 1)."""
        x = self.r()
        for value, weight in pairs:
            x -= weight
            if x < 0:
                return value
        return pairs[-1][0]

    def next_id(self, fmt: str, first: int = 1) -> str:
        """The next business key of a kind, e.g. ``INV-{:06d}`` → INV-000001, INV-000002…"""
        ids = self.ids.get(fmt)
        if ids is None:
            ids = self.ids[fmt] = map(fmt.format, count(first))
        return next(ids)

    def truth(self, kind: str, variant: str, subject: str, keys: dict[str, Any], at: int) -> None:
        """Record an injected fault for the side channel; ``at`` is when it first shows."""
        self.faults.append(
            {
                "fault": variant or kind,
                "case_type": kind,
                "subject": subject,
                "keys": keys,
                "at": instant_text(at),
            }
        )

    def at(self, o: Order, lo: int, hi: int, etype: str, source: str, data: dict[str, Any]) -> int:
        """Emit an order event a little after the previous one: per order time only grows.
        (Inlined by hand: this runs for nearly every event.)"""
        t = o.t = o.t + lo + int(self.r() * (hi - lo + 1))
        self.push(t, etype, source, o.id, data)
        return t

    def emit(self, o: Order, etype: str, source: str, data: dict[str, Any]) -> int:
        """Emit an order event at the order's current time."""
        self.s.push(o.t, etype, source, o.id, data)
        return o.t

    # --- world ---

    def _world(self, n_customers: int, n_skus: int) -> World:
        """Customers, SKUs (popularity falls with rank) and contract prices for ~20 % of
        customer × top-SKU pairs, at 88–97 % of list."""
        customers = [self._customer(i) for i in range(1, n_customers + 1)]
        by_region: dict[str, list[Customer]] = {r: [] for r in REGIONS}
        for c in customers:
            by_region[c.region].append(c)
        products = self._products(n_skus)
        popular = self.rng.choices(
            products,
            cum_weights=list(accumulate(1.0 / (rank + 3) for rank in range(n_skus))),
            k=POPULAR_TABLE,
        )
        top = products[: max(10, n_skus // 10)]
        contracts = {
            (c.id, p.sku): round(p.price * (0.88 + 0.09 * self.r()))
            for c in customers
            for p in top
            if self.r() < 0.2
        }
        by_id = {c.id: c for c in customers}
        for (customer_id, sku), cents in contracts.items():
            by_id[customer_id].prices[sku] = cents
        return World(
            customers, by_region, products, popular, contracts, {p.sku: p for p in products}
        )

    def _customer(self, i: int) -> Customer:
        tier = self.weighted(TIERS)
        region = REGIONS[int(self.r() * 4)]
        name = f"{self.pick(NAME_A)} {self.pick(NAME_B)}"
        limits = {"strategic": 2_000_000, "gold": 500_000, "silver": 100_000}
        terms = {"strategic": 60, "gold": self.pick((45, 60)), "silver": self.pick((30, 45))}
        return Customer(
            id=f"C-{i:04d}",
            name=name,
            tier=tier,
            credit_limit=round(limits.get(tier, 25_000) * (0.4 + 0.6 * self.r()), -3),
            terms_days=terms.get(tier, 30),
            region=region,
            segment=self.pick(("industrial", "contractor", "oem", "mro")),
            ship_tos=[self._address(name, region) for _ in range(self.between(1, 3))],
            node=f"dc-{region}",
        )

    def _address(self, name: str, region: str) -> dict[str, str]:
        city, state, zip3 = self.pick(CITIES[region])
        return {
            "name": name,
            "line1": f"{self.between(10, 9999)} {self.pick(STREETS)}",
            "city": city,
            "region": state,
            "postal_code": f"{zip3}{self.between(0, 99):02d}",
            "country": "US",
        }

    def _products(self, n: int) -> list[Product]:
        """SKUs across families; cost log-uniform in the family's range, list price 1.2–1.6 ×
        cost, 0–2 substitutes from the same family."""
        seen: set[str] = set()
        products: list[Product] = []
        while len(products) < n:
            code, family, lo, hi = self.pick(FAMILIES)
            sku = f"{code}-{self.between(1000, 9999)}"
            if sku in seen:
                continue
            seen.add(sku)
            cost = max(5, round(100 * math.exp(math.log(lo) + self.r() * math.log(hi / lo))))
            products.append(Product(sku, family, cost, round(cost * (1.2 + 0.4 * self.r()))))
        families: dict[str, list[str]] = {}
        for p in products:
            families.setdefault(p.family, []).append(p.sku)
        for p in products:
            others = [s for s in families[p.family] if s != p.sku]
            p.substitutes = self.rng.sample(others, min(len(others), self.between(0, 2)))
        return products

    def _plan(self, orders: int, rate: float) -> tuple[dict[int, str], dict[int, str]]:
        """Exactly ``round(orders × rate)`` faulted slots, the kinds dealt from a shuffled
        deck so every kind shows up once there are at least as many faults as kinds."""
        slots = self.rng.sample(range(orders), round(orders * rate))
        fault_of: dict[int, str] = {}
        deck: list[str] = []
        for slot in slots:
            if not deck:
                deck = list(CASE_TYPES)
                self.rng.shuffle(deck)
            fault_of[slot] = deck.pop()
        clean = [i for i in range(orders) if i not in fault_of]
        wanted = min(len(clean), max(len(LOOKALIKES), round(orders * LOOKALIKE_RATE)))
        picked = self.rng.sample(clean, wanted)
        return fault_of, {slot: LOOKALIKES[i % len(LOOKALIKES)] for i, slot in enumerate(picked)}

    # --- run ---

    def run(self) -> Iterator[list[bytes]]:
        """Yield the events as JSON lines in batches (one per order slot)."""
        self._master()
        mean_gap = DAY / orders_per_day(self.orders)
        t = self.t0 + HOUR
        next_count = self.t0 - self.t0 % DAY + DAY + 2 * HOUR
        for slot in range(self.orders):
            t += 1 + int(self.rng.expovariate(1.0 / mean_gap))
            while next_count <= t:
                self._nightly_counts(next_count)
                next_count += DAY
            self._slot(slot, t)
            yield self.s.drain(t)
        self._heartbeat()
        yield self.s.drain(None)

    def _slot(self, slot: int, t: int) -> None:
        """One order slot: maybe a PO, maybe a side fault or look-alike, then the order."""
        kind = self.fault_of.get(slot)
        if self.r() < PO_RATE:
            self._purchase_order(t + self.between(MIN, HOUR), discrepancy=False)
        if kind in SIDE_FAULTS:
            self._side_fault(kind, t)
            kind = None
        elif kind == "cash.unapplied" and self.r() < 0.5:
            self._unreadable_remittance(t + self.between(MIN, 6 * HOUR))
            kind = None
        lookalike = self.lookalike_of.get(slot)
        if lookalike == "snapshot_one_unit_gap":
            self._snapshot_pair(t + self.between(MIN, HOUR), mismatch=False)
        o = self._new_order(t, kind, lookalike)
        if kind == "allocation.conflict":
            self._conflict(o)
        else:
            self._life(o)

    # --- master data and stock ---

    def _master(self) -> None:
        """Master data before any order, so every key an order uses is already known."""
        self._master_parties()
        self._master_catalog()
        for node in DCS:
            for p in self.world.products:
                self._agreeing_snapshots(self.t0 + MIN, node, p.sku, self.between(40, 2000))

    def _master_parties(self) -> None:
        s, t, w = self.s, self.t0, self.world
        for node, region in zip(DCS, REGIONS, strict=True):
            s.push(
                t,
                "node.upserted",
                "erp",
                node,
                {"node_id": node, "name": f"DC {region.title()}", "kind": "dc", "region": region},
            )
        for c in w.customers:
            s.push(
                t + 1,
                "customer.upserted",
                "crm",
                c.id,
                {
                    "customer_id": c.id,
                    "name": c.name,
                    "tier": c.tier,
                    "credit_limit": c.credit_limit,
                    "terms_days": c.terms_days,
                    "region": c.region,
                    "segment": c.segment,
                },
            )

    def _master_catalog(self) -> None:
        s, t, w = self.s, self.t0, self.world
        for p in w.products:
            s.push(
                t + 2,
                "product.upserted",
                "erp",
                p.sku,
                {
                    "sku": p.sku,
                    "description": f"{p.family.title()} {p.sku}",
                    "family": p.family,
                    "unit_cost": p.cost / 100,
                    "list_price": p.price / 100,
                    "substitutes": p.substitutes,
                },
            )
        for (cid, sku), cents in w.contracts.items():
            s.push(
                t + 3,
                "price.agreed",
                "erp",
                f"{cid}/{sku}",
                {
                    "customer_id": cid,
                    "sku": sku,
                    "unit_price": cents / 100,
                    "valid_from": day_text(t),
                    "valid_to": day_text(t + 365 * DAY),
                },
            )

    def _snapshot(self, t: int, source: str, node: str, sku: str, on_hand: int) -> None:
        allocated = on_hand // 5
        self.s.push(
            t,
            "inventory.snapshot",
            source,
            f"{node}/{sku}",
            {
                "node_id": node,
                "sku": sku,
                "on_hand": on_hand,
                "allocated": allocated,
                "available": on_hand - allocated,
            },
        )

    def _agreeing_snapshots(self, t: int, node: str, sku: str, on_hand: int) -> None:
        """ERP counts first, the WMS a few minutes later, and they agree to the unit."""
        self._snapshot(t, "erp", node, sku, on_hand)
        self._snapshot(t + self.between(30, 600), f"wms/{node}", node, sku, on_hand)

    def _nightly_counts(self, t: int) -> None:
        per_dc = snapshots_per_dc(len(self.world.products))
        for node in DCS:
            for p in self.rng.sample(self.world.products, per_dc):
                self._agreeing_snapshots(
                    t + self.between(0, 1800), node, p.sku, self.between(20, 1500)
                )

    def _snapshot_pair(self, t: int, mismatch: bool) -> tuple[str, str, int]:
        """ERP and WMS counts minutes apart, a quarter to a half apart (at least 25 units)
        or one unit apart (the look-alike). Returns node, SKU and when the gap shows."""
        node, sku = self.pick(DCS), self.pick(self.world.products).sku
        erp = self.between(100, 900)
        wms = round(erp * (0.5 + 0.25 * self.r())) if mismatch else erp + self.pick((-1, 1))
        self._snapshot(t, "erp", node, sku, erp)
        t += self.between(2 * MIN, 30 * MIN)
        self._snapshot(t, f"wms/{node}", node, sku, wms)
        return node, sku, t

    def _heartbeat(self) -> None:
        """A last agreeing count after every due date, so unpaid invoices age past due
        within the stream's own horizon."""
        horizon = max(self.s.last_time(), self.max_due + 30 * DAY) + HOUR
        self._agreeing_snapshots(horizon, DCS[0], self.world.products[0].sku, 500)

    # --- side faults (stock, POs, interfaces, cash) ---

    def _side_fault(self, kind: str, t: int) -> None:
        """A fault of stock, a PO or an interface, near the slot's time; its order (the
        slot's) then runs clean."""
        t += self.between(MIN, 2 * HOUR)
        if kind == "inventory.mismatch":
            node, sku, seen = self._snapshot_pair(t, mismatch=True)
            self.truth(kind, "", f"{node}/{sku}", {"node_id": node, "sku": sku}, seen)
        elif kind == "asn.discrepancy":
            self._purchase_order(t, discrepancy=True)
        else:
            self._integration_burst(t)

    def _integration_burst(self, t: int) -> None:
        """Three to five retries minutes apart, then recovery: business events may be
        missing meanwhile, which is why it is a case."""
        endpoint = self.pick(ENDPOINTS)
        source, operation = endpoint.split("/", 1)[0], self.pick(("POST", "GET", "PUT"))
        first = t
        for attempt in range(1, self.between(3, 5) + 1):
            self.s.push(
                t,
                "integration.failed",
                source,
                endpoint,
                {
                    "endpoint": endpoint,
                    "operation": f"{operation} /{endpoint.split('/')[1]}",
                    "error": self.pick(
                        ("HTTP 503 Service Unavailable", "timeout after 30s", "connection refused")
                    ),
                    "attempt": attempt,
                    "payload_ref": f"batch-{self.between(1, 99_999_999):08d}",
                },
            )
            t += self.between(MIN, 6 * MIN)
        self.s.push(
            t + self.between(20 * MIN, 2 * HOUR),
            "integration.recovered",
            source,
            endpoint,
            {"endpoint": endpoint},
        )
        self.truth("integration.failure", "", endpoint, {"endpoint": endpoint}, first)

    def _purchase_order(self, t: int, discrepancy: bool) -> None:
        """Replenishment: PO → ASN (EDI 856) a day or two before arrival → receipt."""
        po = self.next_id("PO-{:06d}")
        node = self.pick(DCS)
        lines = [
            {"sku": p.sku, "qty": self.between(5, 50) * 10}
            for p in self.rng.sample(self.world.products, self.between(1, 4))
        ]
        eta = t + self.between(3 * DAY, 10 * DAY)
        self.s.push(
            t,
            "purchase_order.created",
            "erp",
            po,
            {
                "po_id": po,
                "supplier_id": f"SUP-{self.between(1, 12):02d}",
                "node_id": node,
                "lines": lines,
                "eta": instant_text(eta),
            },
        )
        self._inbound(po, node, lines, eta, discrepancy)

    def _inbound(
        self, po: str, node: str, lines: list[dict[str, Any]], eta: int, discrepancy: bool
    ) -> None:
        """The supplier's ASN and the DC's receipt; with ``discrepancy`` the first line's
        quantity is 30–50 % off the PO (and the receipt follows the ASN, not the PO)."""
        asn_lines = [dict(line) for line in lines]
        if discrepancy:
            factor = self.pick((0.5, 0.6, 0.7, 1.3, 1.5))
            asn_lines[0]["qty"] = round(lines[0]["qty"] * factor)
        asn, ship = self.next_id("ASN-{:06d}"), eta - self.between(DAY, 2 * DAY)
        self.s.push(
            ship + HOUR,
            "asn.received",
            "edi",
            po,
            {
                "asn_id": asn,
                "po_number": po,
                "shipment_id": f"SUP-SH-{asn[4:]}",
                "ship_date": day_text(ship),
                "lines": asn_lines,
            },
        )
        self.s.push(
            eta + self.between(0, 6 * HOUR),
            "receipt.posted",
            f"wms/{node}",
            po,
            {"po_id": po, "node_id": node, "lines": asn_lines},
        )
        if discrepancy:
            self.truth(
                "asn.discrepancy",
                "",
                po,
                {"po_id": po, "asn_id": asn, "node_id": node, "sku": lines[0]["sku"]},
                ship + HOUR,
            )

    def _unreadable_remittance(self, t: int) -> None:
        """Cash nobody can place: garbled references and an amount no invoice carries."""
        rid = self.next_id("RM-{:07d}")
        cents = self.between(10_000, 3_000_000) * 10 + 7
        while cents in self.invoice_amounts:
            cents += 10
        garble = "".join(self.pick("#*/?~XQZ0123456789 ") for _ in range(16))
        customer = self.pick(self.world.customers)
        self.s.push(
            t,
            "remittance.received",
            "finance",
            rid,
            {
                "remittance_id": rid,
                "customer_id": customer.id,
                "amount": cents / 100,
                "references": f"ADV {garble}",
            },
        )
        self.truth(
            "cash.unapplied",
            "unreadable_remittance",
            rid,
            {"remittance_id": rid, "customer_id": customer.id},
            t,
        )

    # --- order creation ---

    def _new_order(
        self, t: int, fault: str | None, lookalike: str | None, customer: Customer | None = None
    ) -> Order:
        """A new order: channel by mix, 1–40 lines (median about 3), faults that shape the
        lines (short pick needs a few units, pricing needs an under-priced line) applied."""
        c = customer or self.pick(self.world.customers)
        channel = "edi" if fault == "order.duplicate" else self.weighted(CHANNELS)
        n = self.line_counts[int(self.r() * TABLE)]
        o = Order(
            self.next_id("SO-{:06d}", 100_001),
            c,
            channel,
            t,
            [],
            [],
            fault=fault,
            lookalike=lookalike,
            node=c.node,
            wms=f"wms/{c.node}",
        )
        self._lines(o, n)
        if channel in ("edi", "portal"):
            o.po_number = self.next_id("45{:08d}")
        o.target_line = int(self.r() * len(o.lines))
        if fault == "pick.short" and o.lines[o.target_line]["qty"] < 4:
            self._set_line(o, o.target_line, qty=self.between(4, 20))
        if fault == "pricing.mismatch":
            self._underprice(o)
        return o

    def _lines(self, o: Order, n: int) -> None:
        """Popular SKUs come up more often; a SKU drawn twice becomes one line. The price is
        the customer's contract price if there is one, else list."""
        w, r, quantities, prices = self.world, self.r, self.quantities, o.customer.prices
        popular = w.popular
        drawn = [popular[int(r() * POPULAR_TABLE)] for _ in range(n)]
        if n > 1:
            drawn = list({p.sku: p for p in drawn}.values())
        for i, p in enumerate(drawn, 1):
            cents = prices.get(p.sku, p.price)
            o.lines.append(
                {
                    "line_id": LINE_IDS[i],
                    "sku": p.sku,
                    "qty": quantities[int(r() * TABLE)],
                    "unit_price": cents / 100,
                }
            )
            o.cents.append(cents)

    def _set_line(self, o: Order, i: int, **changes: Any) -> None:
        """Lines are shared with already-queued events, so change them by replacing."""
        o.lines[i] = {**o.lines[i], **changes}
        if "unit_price" in changes:
            o.cents[i] = round(changes["unit_price"] * 100)

    def _underprice(self, o: Order) -> None:
        """≥ 15 % under the contract when there is one, else under unit cost."""
        contracted = [
            i
            for i, line in enumerate(o.lines)
            if (o.customer.id, line["sku"]) in self.world.contracts
        ]
        if contracted:
            o.target_line, o.variant = contracted[0], "below_contract"
            base = self.world.contracts[(o.customer.id, o.lines[o.target_line]["sku"])]
        else:
            o.variant = "below_cost"
            base = self.world.by_sku[o.lines[o.target_line]["sku"]].cost
        self._set_line(o, o.target_line, unit_price=round(base * (0.6 + 0.2 * self.r())) / 100)

    # --- an order's life ---

    def _life(self, o: Order) -> None:
        """created → (validated, held) → allocated → picked → shipped → billed → paid, with
        the order's one fault (if any) bent into the path where it would really happen."""
        if o.fault == "credit.hold":
            o.variant = self.pick(("before_pick", "after_pick_started"))
        o.shipped = [line["qty"] for line in o.lines]
        self._created(o)
        if o.fault == "master_data.invalid":
            self._validation(o)
        if o.variant == "before_pick":
            self._credit_hold(o)
        self._allocate(o)
        self._pick(o)
        if self._ship(o):
            self._bill(o)

    def _created(self, o: Order) -> None:
        """The order as its channel sends it; promised 2–3 days to ship and 5–8 to arrive,
        slack enough that only an injected fault makes it late."""
        c, t = o.customer, o.t
        o.promise_end = end_of_day(t + self.between(5, 8) * DAY)
        ship_to = self._ship_to(o)
        data = {
            "order_id": o.id,
            "customer_id": c.id,
            "channel": o.channel,
            "po_number": o.po_number,
            "currency": "USD",
            "promised_ship_date": day_text(t + self.between(2, 3) * DAY),
            "requested_delivery_date": day_text(o.promise_end),
            "ship_to": ship_to,
            "lines": o.lines,
        }
        if o.po_number is None:
            del data["po_number"]
        entry = self.s.push(t, "order.created", CHANNEL_SOURCE[o.channel], o.id, data)
        if o.lookalike == "redelivered_order":
            self.s.redeliver(t, entry)
        if o.fault == "order.duplicate":
            self._duplicate(o, data)
        if o.fault == "pricing.mismatch":
            self._pricing_truth(o)

    def _ship_to(self, o: Order) -> dict[str, str]:
        """One of the customer's addresses; broken (no such postal code, or a region with no
        tax jurisdiction) when the order's fault is invalid master data."""
        ship_to: dict[str, str] = self.pick(o.customer.ship_tos)
        if o.fault != "master_data.invalid":
            return ship_to
        o.variant = self.pick(("address", "tax"))
        if o.variant == "address":
            return {**ship_to, "postal_code": "00000", "line1": "UNKNOWN"}
        return {**ship_to, "region": "ZZ"}

    def _pricing_truth(self, o: Order) -> None:
        line = o.lines[o.target_line]
        self.truth(
            "pricing.mismatch",
            o.variant,
            o.id,
            {
                "order_id": o.id,
                "line_id": line["line_id"],
                "sku": line["sku"],
                "customer_id": o.customer.id,
            },
            o.t,
        )

    def _duplicate(self, o: Order, data: dict[str, Any]) -> None:
        """The EDI gateway re-sends the 850 as a new order; customer service cancels it."""
        dup = self.next_id("SO-{:06d}", 100_001)
        t = o.t + self.between(2 * MIN, 20 * MIN)
        self.s.push(t, "order.created", "edi", dup, {**data, "order_id": dup})
        self.s.push(
            t + self.between(2 * HOUR, 26 * HOUR),
            "order.cancelled",
            "erp",
            dup,
            {"order_id": dup, "reason": "duplicate of " + o.id},
        )
        self.truth(
            "order.duplicate",
            "",
            dup,
            {
                "order_id": dup,
                "original_order_id": o.id,
                "po_number": o.po_number,
                "customer_id": o.customer.id,
            },
            t,
        )

    def _validation(self, o: Order) -> None:
        """The ERP refuses the address or tax data; customer service fixes the ship-to."""
        check = o.variant
        t = self.at(
            o,
            MIN,
            5 * MIN,
            "order.validation_failed",
            "erp",
            {
                "order_id": o.id,
                "check": check,
                "reason": "postal code not deliverable"
                if check == "address"
                else "no tax jurisdiction for ship-to region ZZ",
            },
        )
        self.truth(
            "master_data.invalid",
            f"invalid_{check}",
            o.id,
            {"order_id": o.id, "customer_id": o.customer.id, "check": check},
            t,
        )
        self.at(
            o,
            2 * HOUR,
            8 * HOUR,
            "order.updated",
            "erp",
            {"order_id": o.id, "ship_to": self.pick(o.customer.ship_tos)},
        )

    def _credit_hold(self, o: Order) -> None:
        """Finance blocks the order over its credit limit (worse once picking started)."""
        c = o.customer
        t = self.at(
            o,
            MIN,
            15 * MIN,
            "order.held",
            "erp",
            {"order_id": o.id, "hold_code": "credit", "reason": "credit limit exceeded"},
        )
        self.at(
            o,
            5,
            120,
            "credit.hold_applied",
            "finance",
            {
                "customer_id": c.id,
                "order_id": o.id,
                "reason": "over credit limit",
                "exposure": round(c.credit_limit * (1.05 + 0.25 * self.r()), 2),
            },
        )
        self.truth(
            "credit.hold",
            f"credit_hold_{o.variant}",
            o.id,
            {"order_id": o.id, "customer_id": c.id},
            t,
        )
        self._credit_release(o)

    def _credit_release(self, o: Order) -> None:
        """Credit control approves the order hours later; the flow resumes."""
        c = o.customer
        self.at(
            o,
            2 * HOUR,
            8 * HOUR,
            "credit.hold_released",
            "finance",
            {"customer_id": c.id, "order_id": o.id, "reason": "approved by credit control"},
        )
        self.at(
            o,
            5,
            300,
            "order.released",
            "erp",
            {"order_id": o.id, "hold_code": "credit", "reason": "approved by credit control"},
        )

    def _allocate(self, o: Order) -> None:
        """The ERP reserves every line at the customer's DC; lines it cannot fill wait
        hours for stock and are reserved then (shortage or contested stock)."""
        if o.fault == "allocation.shortage":
            o.fail_lines[o.target_line] = int(o.lines[o.target_line]["qty"] * 0.5 * self.r())
        o.t += self.between(20, 240)
        if not o.fail_lines:  # the common case, written out: half of all events are per line
            push, r, order_id, node, t = self.push, self.r, o.id, o.node, o.t
            for line in o.lines:
                t += 1 + int(r() * 4)
                push(t, "allocation.reserved", "erp", order_id, {
                    "order_id": order_id, "line_id": line["line_id"], "node_id": node,
                    "qty": line["qty"], "sku": line["sku"]})  # fmt: skip
            o.t = t
            return
        failed = [i for i in range(len(o.lines)) if self._allocate_line(o, i)]
        o.t += self.between(4 * HOUR, 20 * HOUR)
        for i in failed:
            self._reserve(o, i)

    def _allocate_line(self, o: Order, i: int) -> bool:
        """Reserve the line, or report it short; True when it has to wait for stock."""
        available = o.fail_lines.get(i)
        if available is None:
            self._reserve(o, i)
            return False
        line = o.lines[i]
        t = self.at(
            o,
            1,
            4,
            "allocation.failed",
            "erp",
            {
                "order_id": o.id,
                "line_id": line["line_id"],
                "qty_requested": line["qty"],
                "qty_available": available,
                "node_id": o.node,
                "sku": line["sku"],
                "reason": "insufficient stock",
            },
        )
        o.first_fail_t = o.first_fail_t or t
        if o.fault == "allocation.shortage":
            self.truth(
                "allocation.shortage",
                "",
                o.id,
                {
                    "order_id": o.id,
                    "line_id": line["line_id"],
                    "node_id": o.node,
                    "sku": line["sku"],
                },
                t,
            )
        return True

    def _reserve(self, o: Order, i: int) -> None:
        line = o.lines[i]
        self.at(
            o,
            1,
            4,
            "allocation.reserved",
            "erp",
            {
                "order_id": o.id,
                "line_id": line["line_id"],
                "node_id": o.node,
                "qty": line["qty"],
                "sku": line["sku"],
            },
        )

    def _pick(self, o: Order) -> None:
        o.t += self.between(HOUR, 14 * HOUR)
        if o.fault != "pick.short" and o.variant != "after_pick_started":
            self._pick_all(o)
            return
        for i, line in enumerate(o.lines):
            if o.fault == "pick.short" and i == o.target_line:
                self._pick_short(o, i)
            else:
                self.at(o, 40, 240, "pick.confirmed", o.wms, {
                    "order_id": o.id, "line_id": line["line_id"], "node_id": o.node,
                    "sku": line["sku"], "qty_picked": line["qty"]})  # fmt: skip
            if i == 0 and o.variant == "after_pick_started":
                self._credit_hold(o)

    def _pick_all(self, o: Order) -> None:
        """Every line picked in full, one after another (written out: it runs per line)."""
        push, r, order_id, node, source, t = self.push, self.r, o.id, o.node, o.wms, o.t
        for line in o.lines:
            t += 40 + int(r() * 201)
            push(t, "pick.confirmed", source, order_id, {
                "order_id": order_id, "line_id": line["line_id"], "node_id": node,
                "sku": line["sku"], "qty_picked": line["qty"]})  # fmt: skip
        o.t = t

    def _pick_short(self, o: Order, i: int) -> None:
        line = o.lines[i]
        keys = {"order_id": o.id, "line_id": line["line_id"], "node_id": o.node,
                "sku": line["sku"]}  # fmt: skip
        short = max(1, int(line["qty"] * (0.3 + 0.4 * self.r())))
        o.shipped[i] = line["qty"] - short
        t = self.at(o, 40, 240, "pick.short", o.wms,
                    {**keys, "qty_picked": o.shipped[i], "qty_short": short})  # fmt: skip
        self.truth("pick.short", "", o.id, keys, t)

    # --- shipping ---

    def _ship(self, o: Order) -> bool:
        """Ship what was picked; False when the shipment never reaches the customer."""
        o.shipment_id = self.next_id("SH-{:07d}")
        o.carrier, service = self.pick(CARRIERS)
        lines = [
            {"line_id": line["line_id"], "qty": qty}
            for line, qty in zip(o.lines, o.shipped, strict=True)
            if qty > 0
        ]
        self.at(
            o,
            10 * MIN,
            HOUR,
            "shipment.created",
            "tms",
            {
                "shipment_id": o.shipment_id,
                "order_id": o.id,
                "node_id": o.node,
                "carrier": o.carrier,
                "service": service,
                "lines": lines,
                "promised_delivery_date": day_text(o.promise_end),
            },
        )
        if o.fault == "shipment.failed":
            o.variant = self.pick(("carrier_rejected", "delivery_failed"))
            if o.variant == "carrier_rejected":
                self._carrier_rejected(o)
                return False
        eta = self._dispatch(o)
        if o.fault == "shipment.failed":
            self._delivery_failed(o, eta)
            return False
        self._deliver(o, eta)
        return True

    def _carrier_rejected(self, o: Order) -> None:
        t = self.at(
            o,
            10 * MIN,
            90 * MIN,
            "carrier.rejected",
            f"carrier/{o.carrier}",
            {
                "order_id": o.id,
                "shipment_id": o.shipment_id,
                "carrier": o.carrier,
                "reason": self.pick(("routing", "address", "service unavailable")),
            },
        )
        self._shipment_truth(o, "shipment.failed", t)

    def _delivery_failed(self, o: Order, eta: int) -> None:
        o.t = max(o.t, eta - self.between(HOUR, 4 * HOUR))
        t = self.at(
            o,
            1,
            60,
            "shipment.failed",
            f"carrier/{o.carrier}",
            {
                "shipment_id": o.shipment_id,
                "reason": self.pick(("address", "refused", "no_access")),
            },
        )
        self._shipment_truth(o, "shipment.failed", t)

    def _shipment_truth(self, o: Order, kind: str, t: int, **extra: str) -> None:
        self.truth(
            kind, o.variant, o.id, {"order_id": o.id, "shipment_id": o.shipment_id, **extra}, t
        )

    def _dispatch(self, o: Order) -> int:
        """Dispatch with an ETA comfortably inside the promise, then bend it if needed."""
        o.t += self.between(HOUR, 5 * HOUR)
        eta = o.t + max(12 * HOUR, int((o.promise_end - o.t) * (0.3 + 0.4 * self.r())))
        self.s.push(
            o.t,
            "shipment.dispatched",
            f"carrier/{o.carrier}",
            o.id,
            {
                "shipment_id": o.shipment_id,
                "tracking_number": f"1Z{self.between(10**11, 10**12 - 1)}",
                "eta": instant_text(eta),
            },
        )
        if o.fault == "shipment.delay":
            late = o.promise_end + DAY + self.between(0, 2 * DAY)
            eta = self._delayed(o, eta, late, "linehaul missed connection")
            self._shipment_truth(o, "shipment.delay", o.t)
        elif o.lookalike == "delay_within_promise":
            eta = self._delayed(o, eta, eta + (o.promise_end - eta) // 2, "weather")
        return eta

    def _delayed(self, o: Order, eta: int, new_eta: int, reason: str) -> int:
        o.t = max(o.t, o.t + (eta - o.t) // 2)
        self.at(
            o,
            1,
            60,
            "shipment.delayed",
            f"carrier/{o.carrier}",
            {"shipment_id": o.shipment_id, "eta": instant_text(new_eta), "reason": reason},
        )
        return new_eta

    def _deliver(self, o: Order, eta: int) -> None:
        """Delivered a little before the (possibly delayed) ETA, clean or with a
        discrepancy on one line."""
        o.t = max(o.t + 1, eta - self.between(2 * HOUR, 4 * HOUR))
        discrepancies = []
        if o.fault == "delivery.discrepancy":
            i = o.target_line
            kind = self.pick(("damaged", "short", "wrong_item"))
            o.variant = f"delivered_{kind}"
            discrepancies.append(
                {"line_id": o.lines[i]["line_id"], "kind": kind, "qty": max(1, o.shipped[i] // 2)}
            )
        self.emit(
            o,
            "shipment.delivered",
            f"carrier/{o.carrier}",
            {
                "shipment_id": o.shipment_id,
                "delivered_at": instant_text(o.t),
                "pod": f"signed {o.customer.name.split()[0].upper()} RCV",
                "discrepancies": discrepancies,
            },
        )
        if discrepancies:
            self._shipment_truth(
                o, "delivery.discrepancy", o.t, line_id=discrepancies[0]["line_id"]
            )

    # --- billing and cash ---

    def _bill(self, o: Order) -> None:
        """Invoice after delivery, then the order's billing fault if any, then cash."""
        invoice, cents, due = self._invoice(o)
        if o.fault == "return.pending":
            self._return(o)
        if o.fault == "invoice.hold":
            t = self.at(
                o,
                DAY,
                6 * DAY,
                "invoice.disputed",
                "finance",
                {
                    "invoice_id": invoice,
                    "reason": "price differs from quote",
                    "amount_disputed": round(cents * 0.2) / 100,
                },
            )
            self.truth(
                "invoice.hold",
                "invoice_disputed",
                o.id,
                {"order_id": o.id, "invoice_id": invoice},
                t,
            )
        if o.fault == "payment.overdue":
            self.truth(
                "payment.overdue",
                "",
                o.id,
                {"order_id": o.id, "invoice_id": invoice, "customer_id": o.customer.id},
                due + 1,
            )
            return
        self._collect(o, invoice, cents, due)

    def _invoice(self, o: Order) -> tuple[str, int, int]:
        """Invoice what shipped: amount = Σ qty × price in whole cents, due after terms."""
        invoice = self.next_id("INV-{:06d}")
        lines = [
            {"line_id": line["line_id"], "qty": qty, "unit_price": line["unit_price"]}
            for line, qty in zip(o.lines, o.shipped, strict=True)
            if qty > 0
        ]
        cents = sum(q * c for q, c in zip(o.shipped, o.cents, strict=True))
        o.t += self.between(HOUR, 8 * HOUR)
        t = self.emit(
            o,
            "invoice.issued",
            "finance",
            {
                "invoice_id": invoice,
                "order_id": o.id,
                "customer_id": o.customer.id,
                "amount": cents / 100,
                "due_date": day_text(o.t + o.customer.terms_days * DAY),
                "lines": lines,
            },
        )
        due = end_of_day(t + o.customer.terms_days * DAY)
        self.max_due = max(self.max_due, due)
        self.invoice_amounts.add(cents)
        return invoice, cents, due

    def _return(self, o: Order) -> None:
        """The customer asks to return part of a line; nobody authorises or credits it."""
        rma, line = self.next_id("RMA-{:06d}"), o.lines[o.target_line]
        reason = self.pick(("damaged", "wrong_item"))
        t = self.at(
            o,
            DAY,
            5 * DAY,
            "return.requested",
            "portal",
            {
                "rma_id": rma,
                "order_id": o.id,
                "lines": [
                    {
                        "line_id": line["line_id"],
                        "sku": line["sku"],
                        "qty": max(1, o.shipped[o.target_line] // 2),
                        "reason": reason,
                    }
                ],
            },
        )
        self.truth("return.pending", f"return_{reason}", o.id, {"order_id": o.id, "rma_id": rma}, t)

    def _collect(self, o: Order, invoice: str, cents: int, due: int) -> None:
        """The customer pays a few days before the due date; cash application follows."""
        pay_t = max(o.t + HOUR, due - self.between(2 * DAY, 10 * DAY))
        if o.fault == "cash.unapplied":
            self._short_pay(o, invoice, cents, due)
            return
        number = int(invoice[4:])
        refs = invoice
        if o.lookalike == "remittance_reference_variant":
            refs = self.pick((f"Inv# {number}", f"INV{number}/SO{o.id[3:]}", f"inv {number:06d}"))
        rid = self._remit(pay_t, o, cents, refs)
        o.t = pay_t
        self.at(
            o,
            HOUR,
            20 * HOUR,
            "payment.applied",
            "finance",
            {"invoice_id": invoice, "amount": cents / 100, "remittance_id": rid},
        )

    def _remit(self, t: int, o: Order, cents: int, refs: str) -> str:
        """A remittance from the order's customer (its own subject: the remittance id)."""
        rid = self.next_id("RM-{:07d}")
        self.s.push(
            t,
            "remittance.received",
            "finance",
            rid,
            {
                "remittance_id": rid,
                "customer_id": o.customer.id,
                "amount": cents / 100,
                "references": refs,
            },
        )
        return rid

    def _short_pay(self, o: Order, invoice: str, cents: int, due: int) -> None:
        """Short by 7–20 % with no deduction given; the balance follows days later."""
        first_t = max(o.t + HOUR, due - self.between(12 * DAY, 18 * DAY))
        paid = round(cents * (0.80 + 0.13 * self.r()))
        first = self._remit(first_t, o, paid, invoice)
        self.truth(
            "cash.unapplied",
            "short_payment",
            first,
            {
                "remittance_id": first,
                "invoice_id": invoice,
                "order_id": o.id,
                "customer_id": o.customer.id,
            },
            first_t,
        )
        o.t = first_t + self.between(3 * DAY, 7 * DAY)
        second = self._remit(o.t, o, cents - paid, invoice)
        for rid, amount in ((first, paid), (second, cents - paid)):
            self.at(
                o,
                HOUR,
                4 * HOUR,
                "payment.applied",
                "finance",
                {"invoice_id": invoice, "amount": amount / 100, "remittance_id": rid},
            )

    # --- contested stock ---

    def _conflict(self, o: Order) -> None:
        """Three or four orders for the same scarce SKU at one DC inside an hour, each told
        there is not enough; stock is found hours later. One case, keyed by node/SKU."""
        product = self.pick(self.world.products[:10])
        available = self.between(0, 3)
        group = [o] + [
            self._new_order(
                o.t + self.between(5 * MIN, 40 * MIN),
                None,
                None,
                self.pick(self.world.by_region[o.customer.region]),
            )
            for _ in range(self.between(2, 3))
        ]
        for member in group:
            self._add_scarce_line(member, product, available)
        for member in group:
            self._life(member)
        self.truth(
            "allocation.conflict",
            "",
            f"{o.node}/{product.sku}",
            {"node_id": o.node, "sku": product.sku, "order_ids": [member.id for member in group]},
            min(member.first_fail_t for member in group),
        )

    def _add_scarce_line(self, o: Order, product: Product, available: int) -> None:
        """Give the order one line of the contested SKU, more than is available."""
        cents = self.world.contracts.get((o.customer.id, product.sku), product.price)
        keep = [i for i, line in enumerate(o.lines) if line["sku"] != product.sku]
        o.lines = [{**o.lines[i], "line_id": str(n)} for n, i in enumerate(keep, 1)]
        o.cents = [o.cents[i] for i in keep]
        o.lines.append(
            {
                "line_id": str(len(o.lines) + 1),
                "sku": product.sku,
                "qty": self.between(available + 5, available + 30),
                "unit_price": cents / 100,
            }
        )
        o.cents.append(cents)
        o.fail_lines[len(o.lines) - 1] = available


# --- public API ---------------------------------------------------------------------------


def generate(
    orders: int,
    seed: int = 7,
    exception_rate: float = 0.05,
    start: datetime = START,
    *,
    faults: list[dict[str, Any]] | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield the workload's events, as CloudEvent dicts, in global time order.

    The events are the very lines :func:`write_jsonl` writes, parsed back: one code path,
    so the file and the iterator can never disagree.

    Pass a list as ``faults`` to receive one record per injected fault
    (``{"fault", "case_type", "subject", "keys", "at"}``); it is complete once the
    iterator is exhausted.
    """
    workload = Workload(orders, seed, exception_rate, start, faults if faults is not None else [])
    return chain.from_iterable(map(orjson.loads, lines) for lines in workload.run())


def expected_faults(
    orders: int, seed: int = 7, exception_rate: float = 0.05, start: datetime = START
) -> list[dict[str, Any]]:
    """The faults a run with these arguments injects, sorted by when they show."""
    faults: list[dict[str, Any]] = []
    for _ in generate(orders, seed, exception_rate, start, faults=faults):
        pass
    return sorted(faults, key=lambda f: (f["at"], f["subject"]))


@contextmanager
def _without_gc() -> Iterator[None]:
    """Pause the cycle collector: the workload makes no reference cycles, and with a
    hundred thousand events in flight each collection would rescan them all (it halves
    the throughput)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


GENERATE_DEFAULTS: dict[str, Any] = {"seed": 7, "exception_rate": 0.05, "start": START}


def write_jsonl(path: str | Path, truth_path: str | Path | None = None, **kwargs: Any) -> int:
    """Write the events as JSON Lines (and the faults to ``truth_path``); return the count."""
    faults: list[dict[str, Any]] = []
    dumps, newline = orjson.dumps, orjson.OPT_APPEND_NEWLINE
    count = 0
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    workload = Workload(faults=faults, **{**GENERATE_DEFAULTS, **kwargs})
    with _without_gc(), open(path, "wb", buffering=1 << 16) as out:
        write = out.write
        for lines in workload.run():
            write(b"".join(lines))
            count += len(lines)
    if truth_path is not None:
        faults.sort(key=lambda f: (f["at"], f["subject"]))
        Path(truth_path).write_bytes(b"".join(dumps(f, option=newline) for f in faults))
    return count


# --- deliberately bad lines for the sample ------------------------------------------------


def bad_lines() -> list[bytes]:
    """Five lines the ingest gate must refuse (and dead-letter), one per kind of breakage."""
    env = {
        "specversion": "1.0",
        "time": "2026-05-05T09:00:00Z",
    }
    order = {
        "order_id": "SO-999001",
        "customer_id": "C-0001",
        "lines": [{"line_id": "1", "sku": "BRG-6204", "qty": "five", "unit_price": 4.2}],
    }
    pick = {
        "order_id": "SO-999002",
        "line_id": "1",
        "node_id": "dc-east",
        "sku": "BRG-6204",
        "qty_picked": 3,
    }
    no_version = {k: v for k, v in env.items() if k != "specversion"}
    events = [
        {
            **no_version,
            "id": "bad-2",
            "source": "erp",
            "type": "order.cancelled",
            "subject": "SO-999000",
            "data": {"order_id": "SO-999000", "reason": "no spec"},
        },
        {
            **env,
            "id": "bad-3",
            "source": "edi",
            "type": "order.created",
            "subject": "SO-999001",
            "data": order,
        },
        {
            **env,
            "id": "bad-4",
            "source": "wms/dc-east",
            "type": "pick.short",
            "subject": "SO-999002",
            "data": pick,
        },
        {
            **env,
            "id": "bad-5",
            "source": "sap",
            "type": "order.cancelled",
            "subject": "SO-999003",
            "data": {"order_id": "SO-999003", "reason": "unknown"},
        },
    ]
    return [b"this is not JSON {order SO-999000\n"] + [
        orjson.dumps(e, option=orjson.OPT_APPEND_NEWLINE) for e in events
    ]


# --- command line -------------------------------------------------------------------------


def orders_for_events(events: int) -> int:
    """The order count whose run comes to about ``events`` events, master data included."""
    orders = max(1, round(events / EVENTS_PER_ORDER))
    for _ in range(3):
        customers, skus = master_scale(orders)
        days = orders / orders_per_day(orders)
        contracts = customers * max(10, skus // 10) * 0.2
        master = customers + skus * 9 + 4 + contracts + days * 8 * snapshots_per_dc(skus)
        orders = max(1, round((events - master) / EVENTS_PER_ORDER))
    return orders


def main(argv: list[str] | None = None) -> int:
    """The command line: size the run, write events (and truth), report the rate."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--events", type=int, help="aim for about this many events")
    size.add_argument("--orders", type=int, help="exactly this many order slots")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--exception-rate", type=float, default=0.05)
    parser.add_argument("--out", type=Path, help="events file (default bench/out/workload.jsonl)")
    parser.add_argument("--truth", type=Path, help="write injected faults here (JSON Lines)")
    parser.add_argument(
        "--out-dir",
        type=Path,
        help="write DIR/events.jsonl, DIR/truth.jsonl and DIR/meta.json (what `unsnag eval` "
        "reads); instead of --out and --truth",
    )
    parser.add_argument(
        "--with-bad-lines",
        action="store_true",
        help="append five lines that must be refused (for the sample)",
    )
    args = parser.parse_args(argv)
    if args.out_dir is not None and (args.out is not None or args.truth is not None):
        parser.error("--out-dir writes events.jsonl and truth.jsonl itself: drop --out/--truth")
    if args.out_dir is not None:
        args.out, args.truth = args.out_dir / "events.jsonl", args.out_dir / "truth.jsonl"
    elif args.out is None:
        args.out = Path("bench/out/workload.jsonl")
    orders = args.orders or orders_for_events(args.events or 100_000)
    began = wallclock.perf_counter()
    count = write_jsonl(
        args.out,
        truth_path=args.truth,
        orders=orders,
        seed=args.seed,
        exception_rate=args.exception_rate,
    )
    elapsed = wallclock.perf_counter() - began
    if args.with_bad_lines:
        with open(args.out, "ab") as out:
            out.write(b"".join(bad_lines()))
    if args.out_dir is not None:
        meta = {
            "orders": orders,
            "events": count,
            "seed": args.seed,
            "exception_rate": args.exception_rate,
            "generator": "bench/workload.py",
        }
        (args.out_dir / "meta.json").write_bytes(
            orjson.dumps(meta, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)
        )
    print(
        f"{count} events from {orders} orders in {elapsed:.2f}s "
        f"({count / elapsed:,.0f} events/s) -> {args.out}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
