"""The order-to-cash process of the twin as scheduled steps, with faults and ground truth.

order → validation → credit check → allocation (against DC stock that depletes) → pick →
pack → ship → carrier milestones → delivery (POD) → invoice → remittance → payment
applied. Replenishment runs beside it: when a DC's stock position of a SKU falls under
its reorder point, a purchase order goes out; the supplier's ASN comes a day before the
goods, the receipt adds them to stock and serves backordered lines. Nightly, the ERP and
the WMS each report counts of a sample of SKUs.

Faults are injected at the rates of ``TwinConfig.faults`` and recorded in the truth
(``{"fault", "case_type", "subject", "keys", "at"}``, ``at`` = the event time at which it
first shows). Stockouts and stock contested by several backordered orders are not
injected: the business runs into them by itself, and they are recorded too.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from unsnag.twin.actions import Action, ActionResult, perform
from unsnag.twin.business import Business, Customer, build_business
from unsnag.twin.config import FAULT_KINDS, NATURAL_FAULTS, Carrier, TwinConfig
from unsnag.twin.emitter import DAY, HOUR, Emitter, day_text, instant_text
from unsnag.twin.sim import Simulation, epoch

MIN = 60
CHANNEL_SOURCE = {"edi": "edi", "portal": "portal", "ecommerce": "ecommerce", "inside_sales": "erp"}
ENDPOINTS = ("erp/orders-api", "erp/inventory-api", "edi/as2-inbound", "edi/x12-translator")
ORDER_FAULTS = (
    "pick_short",
    "edi_retry_duplicate",
    "contract_price_mismatch",
    "credit_hold",
    "late_delivery",
    "delivery_discrepancy",
    "short_payment",
    "invalid_master_data",
    "carrier_rejected",
    "invoice_dispute",
    "late_payment",
    "return_request",
    "return_credit_late",
    "failed_delivery",
    "unreadable_remittance",
)
FAILURE_REASONS = ("address", "refused", "no_access", "damaged", "lost")
UNREADABLE_REFERENCES = ("PAYMENT THANK YOU", "see attached", "ACH CREDIT", "REMIT")
SHIFT_START, SHIFT_END = 6, 22
"""Warehouse hours (UTC): picks happen inside them, nightly counts outside."""
SHIP_COMPLETE = {"oem": 0.6, "industrial": 0.4, "contractor": 0.3, "mro": 0.2}
"""Share of each segment's customers that take an order only complete (one delivery)."""
ACCEPTS_SUBSTITUTES = {"mro": 0.8, "contractor": 0.7, "industrial": 0.5, "oem": 0.2}
"""Share of each segment's customers that accept a listed substitute (OEMs build to a
specification and mostly refuse; maintenance buyers mostly take what fits)."""


@dataclass(slots=True)
class SpikeOrder:
    """One order of a demand spike or surge, for ``_arrive`` to place."""

    customer: Customer
    sku: str
    qty: int
    ids: list[str]
    """The spike's orders so far (``_arrive`` appends this one's id)."""
    node: str | None = None
    """The DC it is placed at (``None``: the customer's own)."""
    ship_days: int = 2
    """Days from now to the promised ship date."""
    delivery_days: int = 8
    """Days from now to the requested delivery date."""
    more: list[tuple[str, int, list[str]]] = field(default_factory=list)
    """Further lines (a surge's multi-line orders): SKU, quantity, the ids list of its
    node/SKU (``_arrive`` appends the order's id to it)."""
    terms: dict[str, Any] | None = None
    """Order-header terms sent with ``order.created`` (a surge's ``ship_complete`` and
    ``substitution``); ``None`` sends none."""


def end_of_day(t: int) -> int:
    return t - t % DAY + DAY - 1


@dataclass(slots=True)
class Order:
    id: str
    customer: Customer
    channel: str
    node: str
    lines: list[dict[str, Any]]
    cents: list[int]
    po_number: str
    fault: str | None = None
    variant: str = ""
    target: int = 0
    pending: int = 0
    shipped: list[int] = field(default_factory=list)
    shipment_id: str = ""
    carrier: str = ""
    promise_end: int = 0
    invoice_id: str = ""
    amount: int = 0
    reserved: set[int] = field(default_factory=set)
    line_nodes: dict[int, str] = field(default_factory=dict)
    leg: int = 0
    delivered: bool = False
    held: Any = None
    credit: int = 0
    paid: int = 0
    due: int = 0
    """End of the invoice's due day (epoch seconds)."""
    invoice_asked: bool = False
    """An ``IssueInvoice`` is on its way: the twin's own invoicing run skips the order."""
    dunned: bool = False
    """A reminder worked: the customer pays the rest, and no later payment pays it twice."""
    missing: dict[int, int] = field(default_factory=dict)
    """Line index -> units delivered damaged or short and not reshipped yet."""


@dataclass(slots=True)
class Rma:
    """A return the actionable twin keeps to hand (``AuthoriseReturn``)."""

    order: Order
    line: int
    qty: int
    kind: str
    """How ``_return_received`` treats it: ``routine``, ``late`` or ``damaged``."""
    delay: int
    """Seconds from authorisation until the goods arrive (0: drawn when authorised)."""
    status: str = "requested"
    """``requested`` (waits for authorisation), ``authorised`` or ``received``."""


@dataclass(slots=True)
class Outage:
    """An endpoint's outage the actionable twin keeps to hand (``RetryInterface``)."""

    kind: str
    """``transient`` (an interface hiccup a replay clears) or ``carrier`` (the carrier's
    API is down: a replay fails too)."""
    start: int
    recovered: int
    source: str
    operation: str
    cut: int | None = None
    """When a replay recovered it early (the scheduled failures and recovery then lapse)."""


class Twin:
    """One simulated run: build with a config, days, orders per day and seed; ``start()``
    schedules the business, then run the simulation.

    With ``actionable=True`` the twin keeps its orders, shipments, invoices and
    remittances to hand for :meth:`act`, and leaves credit holds, duplicate orders and
    returns that need authorisation waiting for an action (``ReleaseHold``,
    ``CancelOrder``, ``AuthoriseReturn``) instead of resolving them by itself. The
    default run is unchanged."""

    def __init__(
        self,
        config: TwinConfig,
        days: int,
        orders_per_day: float,
        seed: int,
        emitter_sink: Callable[[bytes], object],
        *,
        actionable: bool = False,
    ) -> None:
        self.config, self.days, self.per_day, self.seed = config, days, orders_per_day, seed
        self.sim = Simulation(config.start, seed)
        self.rng: random.Random = self.sim.rng
        self.r = self.rng.random
        self.t0 = epoch(config.start)
        self.end = self.t0 + days * DAY
        self.business: Business = build_business(config, self.rng)
        self.emitter = Emitter(self.sim, config.latency, seed, emitter_sink)
        self.emit = self.emitter.emit
        self.truth: list[dict[str, Any]] = []
        self.counters: dict[str, int] = {}
        self.orders = 0
        self.on_hand: dict[tuple[str, str], int] = {}
        self.allocated: dict[tuple[str, str], int] = {}
        self.on_order: dict[tuple[str, str], int] = {}
        self.reorder_point: dict[tuple[str, str], int] = {}
        self.order_up_to: dict[tuple[str, str], int] = {}
        self.waiting: dict[tuple[str, str], list[tuple[Order, int, int]]] = {}
        self.conflict_open: dict[tuple[str, str], list[str]] = {}
        self.endpoint_free: dict[str, int] = {}
        self.carrier_down: dict[str, tuple[int, int]] = {}  # carrier -> (down, recovered)
        self.routine_returns: list[str] = []  # RMAs that need no one's attention
        # node/SKU -> (orders of a demand spike or surge on it, until when it may show,
        # its fault kind)
        self.spikes: dict[tuple[str, str], tuple[list[str], int, str]] = {}
        self.min_on_hand = 0
        self.products = self.business.products
        self.channels = list(config.channel_mix)
        self.channel_weights = list(config.channel_mix.values())
        self.carriers = config.carriers
        self.carrier_weights = [c.weight for c in config.carriers]
        self.dc_region = {dc.id: dc.region for dc in config.dcs}
        mean_week = sum(config.weekday_weights) / 7
        self.weekday = [w / mean_week for w in config.weekday_weights]
        hours = sum(config.hour_weights)
        self.hour_share = [w / hours for w in config.hour_weights]
        lc, qc = config.line_count, config.quantity
        self.line_counts = [
            min(lc.max, max(1, round(self.rng.lognormvariate(lc.mu, lc.sigma))))
            for _ in range(4096)
        ]
        self.quantities = [
            min(qc.max, max(1, int(self.rng.lognormvariate(qc.mu, qc.sigma)))) for _ in range(4096)
        ]
        rates = config.faults
        self.order_fault_cum: list[tuple[float, str]] = []
        acc = 0.0
        for kind in ORDER_FAULTS:
            acc += float(getattr(rates, kind))
            self.order_fault_cum.append((acc, kind))
        self.actionable = actionable
        self.by_order: dict[str, Order] = {}
        self.by_shipment: dict[str, Order] = {}
        self.by_invoice: dict[str, Order] = {}
        self.remittances: dict[str, list[Any]] = {}  # id -> [order, cents, applied cents]
        self.duplicates: dict[str, str] = {}  # duplicate order id -> original order id
        self.cancelled: set[str] = set()
        self.credited: dict[str, int] = {}  # invoice id -> cents credited
        self.rmas: dict[str, Rma] = {}
        self.outages: dict[str, Outage] = {}  # endpoint -> its latest outage
        self.action_results: dict[str, ActionResult] = {}
        self.action_rng = random.Random(f"actions-{seed}")
        self.rules: dict[str, tuple[bool, bool]] = {}

    def transit_days(self, o: Order, carrier: Carrier) -> int:
        """Days a carrier takes from the order's DC to its customer (longer off-region)."""
        same_region = self.dc_region[o.node] == o.customer.region
        return carrier.transit_days + (0 if same_region else carrier.extra_days_other_region)

    def emit_shipment_created(self, o: Order, carrier: Carrier) -> None:
        """TMS plans the order's current shipment with ``carrier`` for what was picked."""
        self.emit(
            "shipment.created",
            "tms",
            o.id,
            {
                "shipment_id": o.shipment_id,
                "order_id": o.id,
                "node_id": o.node,
                "carrier": carrier.id,
                "service": carrier.service,
                "lines": [
                    {"line_id": ln["line_id"], "qty": q}
                    for ln, q in zip(o.lines, o.shipped, strict=True)
                    if q > 0
                ],
                "promised_delivery_date": day_text(o.promise_end),
            },
        )

    def act(self, action: Action) -> ActionResult:
        """Apply one of unsnag's actions (``unsnag.twin.actions``): accepted or refused
        now, its confirming events scheduled after the responding system's latency."""
        return perform(self, action)

    # --- helpers ---

    def next_id(self, prefix: str, width: int, first: int = 1) -> str:
        n = self.counters.get(prefix, first)
        self.counters[prefix] = n + 1
        return f"{prefix}{n:0{width}d}"

    def between(self, lo: int, hi: int) -> int:
        return lo + int(self.r() * (hi - lo + 1))

    def later(self, lo: int, hi: int, fn: Any, *args: Any) -> None:
        self.sim.at(self.sim.now_s + self.between(lo, hi), fn, *args)

    def record(self, fault: str, subject: str, keys: dict[str, Any], at: int) -> None:
        case_type = FAULT_KINDS.get(fault) or NATURAL_FAULTS[fault]
        self.truth.append(
            {
                "fault": fault,
                "case_type": case_type,
                "subject": subject,
                "keys": keys,
                "at": instant_text(at),
            }
        )

    def poisson(self, lam: float) -> int:
        if lam <= 0:
            return 0
        if lam > 30:
            return max(0, round(self.rng.gauss(lam, math.sqrt(lam))))
        limit, k, p = math.exp(-lam), 0, self.r()
        while p > limit:
            k += 1
            p *= self.r()
        return k

    def in_shift(self, t: int) -> int:
        """``t`` if the warehouse works then, else a moment after the next shift starts."""
        hour = t % DAY // HOUR
        if SHIFT_START <= hour < SHIFT_END:
            return t
        day = t - t % DAY + (DAY if hour >= SHIFT_END else 0)
        return day + SHIFT_START * HOUR + self.between(0, 2 * HOUR)

    # --- set-up ---

    def start(self) -> None:
        """Master data and opening stock now; arrivals, counts and outages scheduled."""
        self._master()
        for day in range(self.days):
            base = self.t0 + day * DAY
            weekday = self.weekday[(base // DAY + 3) % 7]  # 1970-01-01 was a Thursday
            for hour in range(24):
                lam = self.per_day * weekday * self.hour_share[hour]
                self.sim.at(base + hour * HOUR, self._arrivals, lam)
            if day:
                self.sim.at(base + 2 * HOUR, self._nightly_counts)
            self.sim.at(base, self._outages)

    def _master(self) -> None:
        emit, t = self.emit, self.t0
        for dc in self.config.dcs:
            emit(
                "node.upserted",
                "erp",
                dc.id,
                {
                    "node_id": dc.id,
                    "name": f"DC {dc.region.title()}",
                    "kind": "dc",
                    "region": dc.region,
                },
            )
        for c in self.business.customers:
            emit(
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
        for p in self.products:
            emit(
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
        for c in self.business.customers:
            for sku, cents in c.prices.items():
                emit(
                    "price.agreed",
                    "erp",
                    f"{c.id}/{sku}",
                    {
                        "customer_id": c.id,
                        "sku": sku,
                        "unit_price": cents / 100,
                        "valid_from": day_text(t - 30 * DAY),
                        "valid_to": day_text(t + 365 * DAY),
                    },
                )
        lc, qc = self.config.line_count, self.config.quantity
        units_per_order = math.exp(lc.mu + lc.sigma**2 / 2) * math.exp(qc.mu + qc.sigma**2 / 2)
        share: dict[str, float] = {}
        for c in self.business.customers:
            share[c.node] = share.get(c.node, 0.0) + 1 / len(self.business.customers)
        cfg = self.config
        for dc in cfg.dcs:
            for p in self.products:
                daily = self.per_day * units_per_order * p.weight * share.get(dc.id, 0.0)
                key = (dc.id, p.sku)
                self.on_hand[key] = max(60, math.ceil(daily * cfg.stock_cover_days))
                self.allocated[key] = 0
                self.on_order[key] = 0
                self.reorder_point[key] = max(20, math.ceil(daily * cfg.reorder_point_days))
                self.order_up_to[key] = max(80, math.ceil(daily * cfg.order_up_to_days))
        self.sim.at(
            t + MIN, self._counts, [(dc.id, p.sku) for dc in cfg.dcs for p in self.products]
        )

    # --- stock counts and stale ERP inventory ---

    def _snapshot(self, source: str, key: tuple[str, str], on_hand: int) -> None:
        allocated = min(self.allocated[key], on_hand)
        self.emit(
            "inventory.snapshot",
            source,
            f"{key[0]}/{key[1]}",
            {
                "node_id": key[0],
                "sku": key[1],
                "on_hand": on_hand,
                "allocated": allocated,
                "available": on_hand - allocated,
            },
        )

    def _counts(
        self, keys: list[tuple[str, str]], stale: frozenset[tuple[str, str]] = frozenset()
    ) -> None:
        """The ERP reports its counts now, the WMS the same units minutes later (nothing
        moves at night); a stale ERP reports stock it no longer has."""
        for key in keys:
            true = self.on_hand[key]
            erp = true + max(25, round(true * (0.3 + 0.3 * self.r()))) if key in stale else true
            self._snapshot("erp", key, erp)
            self.later(2 * MIN, 30 * MIN, self._wms_count, key, key in stale)

    def _wms_count(self, key: tuple[str, str], stale: bool) -> None:
        self._snapshot(f"wms/{key[0]}", key, self.on_hand[key])
        if stale:
            subject = f"{key[0]}/{key[1]}"
            self.record(
                "stale_erp_inventory", subject, {"node_id": key[0], "sku": key[1]}, self.sim.now_s
            )

    def _nightly_counts(self) -> None:
        per_dc = min(self.config.nightly_counts_per_dc, len(self.products))
        keys = [
            (dc.id, p.sku) for dc in self.config.dcs for p in self.rng.sample(self.products, per_dc)
        ]
        n_stale = self.poisson(self.config.faults.stale_erp_inventory)
        stale = frozenset(self.rng.sample(keys, min(n_stale, len(keys))))
        self.later(0, 30 * MIN, self._counts, keys, stale)

    # --- integration outages ---

    def _outages(self) -> None:
        for _ in range(self.poisson(self.config.faults.integration_failure)):
            self.later(0, DAY - 6 * HOUR, self._burst)
        for _ in range(self.poisson(self.config.faults.carrier_outage)):
            self.later(7 * HOUR, 17 * HOUR, self._carrier_outage)  # while trucks roll
        for _ in range(self.poisson(self.config.faults.demand_spike)):
            self.later(8 * HOUR, 16 * HOUR, self._demand_spike)
        for _ in range(self.poisson(self.config.faults.demand_surge)):
            self.later(8 * HOUR, 16 * HOUR, self._demand_spike, True)

    # --- demand spikes ---

    def _demand_spike(self, surge: bool = False) -> None:
        """Several customers of one DC order the same scarce SKU within an hour or two,
        each enough that at most one of them can be served from its stock. A ``surge``
        is the larger, family-wide kind (:meth:`_family_surge`)."""
        if surge:
            self._family_surge()
            return
        now = self.sim.now_s
        nodes = [
            dc.id
            for dc in self.config.dcs
            if sum(c.node == dc.id for c in self.business.customers) >= 3
        ]
        if not nodes:
            return
        node = nodes[int(self.r() * len(nodes))]
        pool = self.products
        for key in [k for k, (_, until, _) in self.spikes.items() if until < now]:
            del self.spikes[key]
        sample = self.rng.sample(pool, min(10, len(pool)))
        candidates = [
            p.sku
            for p in sample
            if (node, p.sku) not in self.spikes and self._free(node, p.sku) >= 2
        ]
        if not candidates:
            return
        sku = min(candidates, key=lambda k: self._free(node, k))
        available = self._free(node, sku)
        ids: list[str] = []
        self.spikes[(node, sku)] = (ids, now + DAY, "demand_spike")
        customers = [c for c in self.business.customers if c.node == node]
        chosen = self.rng.sample(customers, min(len(customers), self.between(3, 5)))
        for c in chosen:
            qty = max(2, math.ceil(available * (0.55 + 0.4 * self.r())))
            order = SpikeOrder(c, sku, qty, ids)
            self.sim.at(now + self.between(0, 2 * HOUR), self._arrive, order)

    def _free(self, node: str, sku: str) -> int:
        return self.on_hand[(node, sku)] - self.allocated[(node, sku)]

    def customer_rules(self, c: Customer) -> tuple[bool, bool]:
        """(ship complete, accepts substitutes) of a customer: standing terms by segment
        (:data:`SHIP_COMPLETE`, :data:`ACCEPTS_SUBSTITUTES`), drawn once per customer
        from a random source of their own (the run's stream is not touched)."""
        rules = self.rules.get(c.id)
        if rules is None:
            rng = random.Random(f"terms-{self.seed}-{c.id}")
            rules = (
                rng.random() < SHIP_COMPLETE.get(c.segment, 0.3),
                rng.random() < ACCEPTS_SUBSTITUTES.get(c.segment, 0.5),
            )
            self.rules[c.id] = rules
        return rules

    def _family_surge(self) -> None:
        """A demand surge over a product family: one of the top SKUs and its listed
        substitutes, ordered at 2 to all-but-one DCs within an hour or two, 3-5 times
        the family's free stock at each DC hit, while the DCs not hit still hold some.

        Each DC hit gets 5-9 orders: a customer of each tier at least (of any region,
        so some order off their home region), the rest its own customers. Ship-complete
        customers (:meth:`customer_rules`) order 2-3 SKUs of the family on one order;
        the others one SKU, the surging one mostly. Strategic orders are smaller,
        standard ones larger; about a third promise shipment today or tomorrow. Each
        order carries its customer's terms (``ship_complete``, ``substitution``)."""
        now = self.sim.now_s
        for key in [k for k, (_, until, _) in self.spikes.items() if until < now]:
            del self.spikes[key]
        dcs = [dc.id for dc in self.config.dcs]
        top = self.products[: max(10, len(self.products) // 10)]
        families = [
            [p.sku, *p.substitutes]
            for p in self.rng.sample(top, min(10, len(top)))
            if p.substitutes and not any((n, s) in self.spikes for n in dcs for s in p.substitutes)
            and not any((n, p.sku) in self.spikes for n in dcs)
        ]  # fmt: skip
        if not families or len(dcs) < 2:
            return
        family = families[0]
        hit = self.rng.sample(dcs, self.between(2, max(2, len(dcs) - 1)))
        hit = [n for n in hit if sum(self._free(n, s) for s in family) >= 4]
        if not hit:
            return
        ids = {(n, s): list[str]() for n in hit for s in family}
        for (n, s), key_ids in ids.items():
            self.spikes[(n, s)] = (key_ids, now + DAY, "demand_surge")
        for node in hit:
            available = sum(self._free(node, s) for s in family)
            for order in self._surge_orders(node, family, available, ids):
                self.sim.at(now + self.between(0, 2 * HOUR), self._arrive, order)

    def _surge_orders(
        self,
        node: str,
        family: list[str],
        available: int,
        ids: dict[tuple[str, str], list[str]],
    ) -> list[SpikeOrder]:
        """A family surge's orders at one DC (see :meth:`_family_surge`)."""
        customers = self.business.customers
        tiers = sorted({c.tier for c in customers})
        chosen = [self.rng.choice([c for c in customers if c.tier == t]) for t in tiers]
        n = max(self.between(5, 9), len(chosen))
        home = [c for c in customers if c.node == node and c not in chosen]
        away = [c for c in customers if c.node != node and c not in chosen]
        take = min(len(home), n - len(chosen))
        chosen += self.rng.sample(home, take)
        chosen += self.rng.sample(away, min(len(away), n - len(chosen)))
        size = {"strategic": 0.5, "gold": 0.8, "silver": 1.0, "standard": 1.6}
        shares = [size.get(c.tier, 1.0) * self.rng.lognormvariate(0, 0.6) for c in chosen]
        demand = available * (3 + 2 * self.r())
        orders = []
        for c, share in zip(chosen, shares, strict=True):
            qty = max(1, round(demand * share / sum(shares)))
            complete, accepts = self.customer_rules(c)
            if complete:
                skus = [family[0], *self.rng.sample(family[1:], min(len(family) - 1, 2))]
            elif self.r() < 0.6:
                skus = [family[0]]
            else:
                skus = [self.rng.choice(family[1:])]
            split = [1.0] + [0.3 + 0.5 * self.r() for _ in skus[1:]]
            qtys = [max(1, round(qty * w / sum(split))) for w in split]
            tight = self.r() < 0.35  # promised to ship today or tomorrow
            ship, delivery = (self.between(0, 1), self.between(2, 3)) if tight else (2, 8)
            more = [(s, q, ids[(node, s)]) for s, q in zip(skus[1:], qtys[1:], strict=True)]
            terms = {"ship_complete": complete,
                     "substitution": "allowed" if accepts else "refused"}  # fmt: skip
            orders.append(
                SpikeOrder(
                    c, skus[0], qtys[0], ids[(node, skus[0])], node, ship, delivery, more, terms
                )
            )
        return orders

    def _spike_conflict(self, o: Order, key: tuple[str, str], now: int) -> bool:
        """Record a demand spike or surge when its orders contest the stock (``True``:
        recorded). A surge's truth keeps its list of orders, so those arriving later join
        it (ids are in arrival order, which is their sorted order)."""
        spike = self.spikes.get(key)
        if spike is None:
            return False
        ids, until, fault = spike
        if now > until:
            del self.spikes[key]
            return False
        if o.id not in ids:
            return False
        failed = {w.id for w, _, t in self.waiting.get(key, ()) if w.id in ids}
        if len(failed) < 2:
            return False
        del self.spikes[key]
        order_ids = ids if fault == "demand_surge" else sorted(ids)
        keys = {"node_id": key[0], "sku": key[1], "order_ids": order_ids}
        self.record(fault, f"{key[0]}/{key[1]}", keys, now)
        return True

    def _carrier_outage(self) -> None:
        """A carrier's tracking API fails for hours: the TMS retries it (attempts
        increasing) until it recovers; the carrier's milestones of that window are
        reported only after the recovery."""
        now = self.sim.now_s
        free = [c.id for c in self.carriers if self.endpoint_free.get(self._track(c.id), 0) <= now]
        if not free:
            return
        carrier = free[int(self.r() * len(free))]
        endpoint = self._track(carrier)
        recovered = now + self.between(2 * HOUR, 5 * HOUR)
        t, attempt = now, 1
        while t < recovered:
            self.sim.at(t, self._failed, endpoint, "tms", "GET", attempt)
            t += self.between(10 * MIN, 30 * MIN)
            attempt += 1
        self.sim.at(
            recovered, self.emit, "integration.recovered", "tms", endpoint, {"endpoint": endpoint}
        )
        self.carrier_down[carrier] = (now, recovered)
        self.endpoint_free[endpoint] = recovered + 6 * HOUR
        if self.actionable:
            self.outages[endpoint] = Outage("carrier", now, recovered, "tms", "GET")
        self.record("carrier_outage", endpoint, {"endpoint": endpoint}, now)

    @staticmethod
    def _track(carrier: str) -> str:
        return f"carrier/{carrier}-tracking"

    def _milestone(self, o: Order, etype: str, data: dict[str, Any]) -> int:
        """Emit a carrier milestone; during its tracking outage it is reported late."""
        now = self.sim.now_s
        down = self.carrier_down.get(o.carrier)
        if down is not None and down[0] <= now < down[1]:
            tms = self.config.latency.get("tms")  # reported after the recovery is
            backlog = down[1] + (tms.max if tms else 0) + self.between(MIN, 30 * MIN)
            if self.emitter.last.get(o.id, 0) < backlog:
                self.emitter.last[o.id] = backlog
        return self.emit(etype, f"carrier/{o.carrier}", o.id, data)

    def _burst(self) -> None:
        now = self.sim.now_s
        free = [e for e in ENDPOINTS if self.endpoint_free.get(e, 0) <= now]
        if not free:
            return
        endpoint = free[int(self.r() * len(free))]
        source, operation = endpoint.split("/", 1)[0], self.rng.choice(("POST", "GET", "PUT"))
        attempts = self.between(3, 5)
        t = now
        for attempt in range(1, attempts + 1):
            self.sim.at(t, self._failed, endpoint, source, operation, attempt)
            t += self.between(MIN, 6 * MIN)
        recovered = t + self.between(20 * MIN, 2 * HOUR)
        self.sim.at(recovered, self._recovered, endpoint, source)
        self.endpoint_free[endpoint] = recovered + 6 * HOUR
        if self.actionable:
            self.outages[endpoint] = Outage("transient", now, recovered, source, operation)
        self.record("integration_failure", endpoint, {"endpoint": endpoint}, now)

    def _replayed(self, endpoint: str) -> bool:
        """A replay (``RetryInterface``) recovered the endpoint's outage already."""
        outage = self.outages.get(endpoint) if self.actionable else None
        return outage is not None and outage.cut is not None and outage.cut <= self.sim.now_s

    def _recovered(self, endpoint: str, source: str) -> None:
        if not self._replayed(endpoint):
            self.emit("integration.recovered", source, endpoint, {"endpoint": endpoint})

    def _failed(self, endpoint: str, source: str, operation: str, attempt: int) -> None:
        if self._replayed(endpoint):
            return
        self.emit(
            "integration.failed",
            source,
            endpoint,
            {
                "endpoint": endpoint,
                "operation": f"{operation} /{endpoint.split('/')[1]}",
                "error": self.rng.choice(
                    ("HTTP 503 Service Unavailable", "timeout after 30s", "connection refused")
                ),
                "attempt": attempt,
                "payload_ref": f"batch-{self.between(1, 99_999_999):08d}",
            },
        )

    # --- arrivals and order entry ---

    def _arrivals(self, lam: float) -> None:
        base = self.sim.now_s
        for _ in range(self.poisson(lam)):
            self.sim.at(base + int(self.r() * HOUR), self._arrive)

    def _draw_fault(self) -> str | None:
        x = self.r()
        for edge, kind in self.order_fault_cum:
            if x < edge:
                return kind
        return None

    def _arrive(self, spike: SpikeOrder | None = None) -> None:
        if spike is None:
            c = self.business.customers[int(self.r() * len(self.business.customers))]
            fault = self._draw_fault()
        else:
            c, fault = spike.customer, None
        channel = self.rng.choices(self.channels, self.channel_weights)[0]
        if fault == "edi_retry_duplicate":
            channel = "edi"
        order_id = self.next_id("SO-", 7, 1_000_001)
        po = self.next_id("WEB-", 8) if channel == "ecommerce" else self.next_id("45", 8)
        node = spike.node if spike is not None and spike.node else c.node
        o = Order(order_id, c, channel, node, [], [], po, fault=fault)
        if spike is None:
            self._lines(o)
        else:
            lines = [(spike.sku, spike.qty, spike.ids), *spike.more]
            for n, (sku, qty, ids) in enumerate(lines, 1):
                cents = c.prices.get(sku, self.business.by_sku[sku].price)
                o.lines.append(
                    {"line_id": str(n), "sku": sku, "qty": qty, "unit_price": cents / 100}
                )
                o.cents.append(cents)
                if o.id not in ids:
                    ids.append(o.id)
        o.target = int(self.r() * len(o.lines))
        if fault == "pick_short" and o.lines[o.target]["qty"] < 4:
            self._set_line(o, o.target, qty=self.between(4, 20))
        if fault == "contract_price_mismatch":
            self._underprice(o)
        self.orders += 1
        if self.actionable:
            self.by_order[o.id] = o
        now = self.sim.now_s
        ship_days, delivery_days = (spike.ship_days, spike.delivery_days) if spike else (2, 8)
        data = {
            "order_id": o.id,
            "customer_id": c.id,
            "channel": channel,
            "po_number": po,
            "currency": "USD",
            "promised_ship_date": day_text(now + ship_days * DAY),
            "requested_delivery_date": day_text(now + delivery_days * DAY),
            "ship_to": self._ship_to(o),
            "lines": o.lines,
        }
        if spike is not None and spike.terms is not None:
            data.update(spike.terms)
        self.emit("order.created", CHANNEL_SOURCE[channel], o.id, data)
        if fault == "contract_price_mismatch":
            line = o.lines[o.target]
            self.record(
                fault,
                o.id,
                {
                    "order_id": o.id,
                    "line_id": line["line_id"],
                    "sku": line["sku"],
                    "customer_id": c.id,
                },
                now,
            )
        if fault == "edi_retry_duplicate":
            self.later(2 * MIN, 20 * MIN, self._duplicate, o, data)
        self.later(MIN, 5 * MIN, self._validate, o)

    def _ship_to(self, o: Order) -> dict[str, str]:
        ship_to = o.customer.ship_tos[int(self.r() * len(o.customer.ship_tos))]
        if o.fault != "invalid_master_data":
            return ship_to
        o.variant = self.rng.choice(("address", "tax"))
        if o.variant == "address":
            return {**ship_to, "postal_code": "00000", "line1": "UNKNOWN"}
        return {**ship_to, "region": "ZZ"}

    def _lines(self, o: Order) -> None:
        n = self.line_counts[int(self.r() * 4096)]
        cum, products, total = self.business.demand_cum, self.products, self.business.demand_cum[-1]
        drawn = {}
        for _ in range(n):
            p = products[min(len(products) - 1, bisect_left(cum, self.r() * total))]
            drawn[p.sku] = p
        for i, p in enumerate(drawn.values(), 1):
            cents = o.customer.prices.get(p.sku, p.price)
            o.lines.append(
                {
                    "line_id": str(i),
                    "sku": p.sku,
                    "qty": self.quantities[int(self.r() * 4096)],
                    "unit_price": cents / 100,
                }
            )
            o.cents.append(cents)

    def _set_line(self, o: Order, i: int, **changes: Any) -> None:
        o.lines[i] = {**o.lines[i], **changes}
        if "unit_price" in changes:
            o.cents[i] = round(changes["unit_price"] * 100)

    def _underprice(self, o: Order) -> None:
        """≥ 20 % under the contract when there is one, else under unit cost."""
        contracted = [i for i, ln in enumerate(o.lines) if ln["sku"] in o.customer.prices]
        if contracted:
            o.target, o.variant = contracted[0], "below_contract"
            base = o.customer.prices[o.lines[o.target]["sku"]]
        else:
            o.variant = "below_cost"
            base = self.business.by_sku[o.lines[o.target]["sku"]].cost
        self._set_line(o, o.target, unit_price=max(1, round(base * (0.6 + 0.2 * self.r()))) / 100)

    def _duplicate(self, o: Order, data: dict[str, Any]) -> None:
        """The EDI gateway re-sends the 850 as a new order; order entry cancels it."""
        dup = self.next_id("SO-", 7, 1_000_001)
        self.orders += 1
        now = self.emit("order.created", "edi", dup, {**data, "order_id": dup})
        delay = self.between(2 * HOUR, 26 * HOUR)
        if self.actionable:
            self.duplicates[dup] = o.id  # waits for a CancelOrder
        else:
            self.sim.at(now + delay, self._cancel, dup, o.id)
        self.record(
            "edi_retry_duplicate",
            dup,
            {
                "order_id": dup,
                "original_order_id": o.id,
                "po_number": o.po_number,
                "customer_id": o.customer.id,
            },
            now,
        )

    def _cancel(self, dup: str, original: str) -> None:
        self.emit(
            "order.cancelled", "erp", dup, {"order_id": dup, "reason": "duplicate of " + original}
        )

    def _validate(self, o: Order) -> None:
        """The ERP checks the ship-to; a broken one waits for customer service."""
        if o.fault == "invalid_master_data":
            check = o.variant
            reason = (
                "postal code not deliverable"
                if check == "address"
                else "no tax jurisdiction for ship-to region ZZ"
            )
            now = self.emit(
                "order.validation_failed",
                "erp",
                o.id,
                {"order_id": o.id, "check": check, "reason": reason},
            )
            self.record(
                "invalid_master_data",
                o.id,
                {"order_id": o.id, "customer_id": o.customer.id, "check": check},
                now,
            )
            self.later(2 * HOUR, 8 * HOUR, self._fix_ship_to, o)
            return
        self.later(MIN, 10 * MIN, self._credit_check, o)

    def _fix_ship_to(self, o: Order) -> None:
        ship_to = o.customer.ship_tos[0]
        self.emit("order.updated", "erp", o.id, {"order_id": o.id, "ship_to": ship_to})
        self.later(MIN, 10 * MIN, self._credit_check, o)

    def _credit_check(self, o: Order) -> None:
        if o.fault == "credit_hold":
            o.variant = self.rng.choice(("before_pick", "after_pick_started"))
            if o.variant == "before_pick":
                self._hold(o, self._allocate)
                return
        self.later(20, 4 * MIN, self._allocate, o)

    def _hold(self, o: Order, then: Any) -> None:
        c = o.customer
        now = self.emit(
            "order.held",
            "erp",
            o.id,
            {"order_id": o.id, "hold_code": "credit", "reason": "credit limit exceeded"},
        )
        self.emit(
            "credit.hold_applied",
            "finance",
            o.id,
            {
                "customer_id": c.id,
                "order_id": o.id,
                "reason": "over credit limit",
                "exposure": round(c.credit_limit * (1.05 + 0.25 * self.r()), 2),
            },
        )
        self.record("credit_hold", o.id, {"order_id": o.id, "customer_id": c.id}, now)
        delay = self.between(2 * HOUR, 8 * HOUR)
        if self.actionable:
            o.held = then  # waits for a ReleaseHold
        else:
            self.sim.at(now + delay, self._release, o, then)

    def _release(self, o: Order, then: Any) -> None:
        reason = "approved by credit control"
        self.emit(
            "credit.hold_released",
            "finance",
            o.id,
            {"customer_id": o.customer.id, "order_id": o.id, "reason": reason},
        )
        self.emit(
            "order.released",
            "erp",
            o.id,
            {"order_id": o.id, "hold_code": "credit", "reason": reason},
        )
        self.later(5, 5 * MIN, then, o)

    # --- allocation and replenishment ---

    def _allocate(self, o: Order) -> None:
        node = o.node
        for i, line in enumerate(o.lines):
            key, qty = (node, line["sku"]), line["qty"]
            available = self.on_hand[key] - self.allocated[key]
            if available >= qty:
                self._reserve(o, i, key)
            else:
                self._backorder(o, i, key, max(0, available))
            self._reorder(key)
        if not o.pending:
            self._to_pick(o)

    def _reserve(self, o: Order, i: int, key: tuple[str, str]) -> None:
        """Reserve line ``i`` of ``o`` at ``key`` (node, sku) and tell the ERP's view."""
        line = o.lines[i]
        self.allocated[key] += line["qty"]
        o.reserved.add(i)
        data = {"order_id": o.id, "line_id": line["line_id"], "node_id": key[0],
                "qty": line["qty"], "sku": key[1]}  # fmt: skip
        self.emit("allocation.reserved", "erp", o.id, data)

    def _backorder(self, o: Order, i: int, key: tuple[str, str], available: int) -> None:
        line = o.lines[i]
        now = self.emit(
            "allocation.failed",
            "erp",
            o.id,
            {
                "order_id": o.id,
                "line_id": line["line_id"],
                "qty_requested": line["qty"],
                "qty_available": available,
                "node_id": key[0],
                "sku": key[1],
                "reason": "insufficient stock",
            },
        )
        self.record(
            "stockout",
            o.id,
            {"order_id": o.id, "line_id": line["line_id"], "node_id": key[0], "sku": key[1]},
            now,
        )
        queue = self.waiting.setdefault(key, [])
        queue.append((o, i, now))
        o.pending += 1
        recent = {w.id for w, _, t in queue if t >= now - DAY}
        spiked = self._spike_conflict(o, key, now)
        if len(recent) >= 2 and key not in self.conflict_open:
            ids = sorted(recent)
            self.conflict_open[key] = ids
            if spiked:  # the spike's truth stands for this conflict
                return
            self.record(
                "contested_stock",
                f"{key[0]}/{key[1]}",
                {"node_id": key[0], "sku": key[1], "order_ids": ids},
                now,
            )
        elif key in self.conflict_open and o.id not in self.conflict_open[key]:
            self.conflict_open[key].append(o.id)

    def _reorder(self, key: tuple[str, str]) -> None:
        if self.on_order[key]:
            return
        waiting = sum(w.lines[i]["qty"] for w, i, _ in self.waiting.get(key, ()))
        position = self.on_hand[key] - self.allocated[key] - waiting
        if position >= self.reorder_point[key]:
            return
        qty = math.ceil((self.order_up_to[key] - position) / 10) * 10
        self.on_order[key] = qty
        po = self.next_id("PO-", 7)
        lead = self.config.supplier_lead_days
        eta = self.in_shift(self.sim.now_s + self.between(lead.min, lead.max) * DAY)
        eta = min(eta, eta - eta % DAY + 16 * HOUR)
        lines = [{"sku": key[1], "qty": qty}]
        self.emit(
            "purchase_order.created",
            "erp",
            po,
            {
                "po_id": po,
                "supplier_id": f"SUP-{1 + sum(map(ord, key[1][:3])) % 12:02d}",
                "node_id": key[0],
                "lines": lines,
                "eta": instant_text(eta),
            },
        )
        self.sim.at(max(self.sim.now_s + HOUR, eta - DAY), self._asn, po, key, qty, eta)

    def _asn(self, po: str, key: tuple[str, str], qty: int, eta: int) -> None:
        """The supplier's advance ship notice; with an ASN discrepancy it ships 30-50 %
        off the PO, and the receipt follows the ASN."""
        asn = self.next_id("ASN-", 7)
        shipped = qty
        if self.r() < self.config.faults.asn_discrepancy:
            shipped = max(1, round(qty * self.rng.choice((0.5, 0.6, 0.7, 1.3, 1.5))))
            self.record(
                "asn_discrepancy",
                po,
                {"po_id": po, "asn_id": asn, "node_id": key[0], "sku": key[1]},
                self.sim.now_s,
            )
        lines = [{"sku": key[1], "qty": shipped}]
        self.sim.at(eta, self._receipt, po, key, shipped)
        self.emit(
            "asn.received",
            "edi",
            po,
            {
                "asn_id": asn,
                "po_number": po,
                "shipment_id": f"SUP-SH-{asn[4:]}",
                "ship_date": day_text(self.sim.now_s),
                "lines": lines,
            },
        )

    def _receipt(self, po: str, key: tuple[str, str], qty: int) -> None:
        self.emit(
            "receipt.posted",
            f"wms/{key[0]}",
            po,
            {"po_id": po, "node_id": key[0], "lines": [{"sku": key[1], "qty": qty}]},
        )
        self.on_hand[key] += qty
        self.on_order[key] = 0
        queue = self.waiting.get(key, [])
        still: list[tuple[Order, int, int]] = []
        for o, i, t in queue:
            line = o.lines[i]
            if self.on_hand[key] - self.allocated[key] >= line["qty"]:
                self._reserve(o, i, key)
                o.pending -= 1
                if not o.pending:
                    self._to_pick(o)
            else:
                still.append((o, i, t))
        if still:
            self.waiting[key] = still
        else:
            self.waiting.pop(key, None)
        if len({o.id for o, _, _ in still}) < 2:
            self.conflict_open.pop(key, None)
        self._reorder(key)

    # --- warehouse ---

    def _to_pick(self, o: Order) -> None:
        t = self.in_shift(self.sim.now_s + self.between(HOUR, 6 * HOUR))
        self.sim.at(t, self._pick, o)

    def _pick(self, o: Order) -> None:
        source = f"wms/{o.node}"
        o.shipped = []
        for i, line in enumerate(o.lines):
            node = o.line_nodes.get(i, o.node) if o.line_nodes else o.node
            key, qty = (node, line["sku"]), line["qty"]
            self.allocated[key] -= qty
            self.on_hand[key] -= qty
            self.min_on_hand = min(self.min_on_hand, self.on_hand[key], self.allocated[key])
            keys = {
                "order_id": o.id,
                "line_id": line["line_id"],
                "node_id": node,
                "sku": line["sku"],
            }
            if o.fault == "pick_short" and i == o.target:
                short = max(1, int(qty * (0.3 + 0.4 * self.r())))
                now = self.emit(
                    "pick.short",
                    source,
                    o.id,
                    {**keys, "qty_picked": qty - short, "qty_short": short},
                )
                self.record("pick_short", o.id, keys, now)
                o.shipped.append(qty - short)
            else:
                where = source if node == o.node else f"wms/{node}"
                self.emit("pick.confirmed", where, o.id, {**keys, "qty_picked": qty})
                o.shipped.append(qty)
        if o.variant == "after_pick_started":
            self.later(MIN, 10 * MIN, self._hold, o, self._pack)
        else:
            self.later(10 * MIN, HOUR, self._pack, o)

    def _pack(self, o: Order) -> None:
        carrier = self.rng.choices(self.carriers, self.carrier_weights)[0]
        if o.fault == "carrier_rejected" and not o.variant:
            o.variant, o.carrier = "carrier_rejected", carrier.id
            now = self._milestone(
                o,
                "carrier.rejected",
                {
                    "order_id": o.id,
                    "carrier": carrier.id,
                    "reason": self.rng.choice(("routing", "service unavailable")),
                },
            )
            self.record("carrier_rejected", o.id, {"order_id": o.id, "carrier": carrier.id}, now)
            self.later(HOUR, 4 * HOUR, self._pack, o)
            return
        if o.variant == "carrier_rejected":
            others = [c for c in self.carriers if c.id != o.carrier] or self.carriers
            carrier = others[int(self.r() * len(others))]
        o.shipment_id = self.next_id("SH-", 7)
        o.carrier = carrier.id
        if self.actionable:
            self.by_shipment[o.shipment_id] = o
        transit = self.transit_days(o, carrier)
        now = self.sim.now_s
        o.promise_end = end_of_day(now + 5 * HOUR + transit * DAY + 6 * HOUR + DAY)
        self.emit_shipment_created(o, carrier)
        self.later(HOUR, 5 * HOUR, self._dispatch, o, transit, o.leg)

    # --- carrier ---

    def _dispatch(self, o: Order, transit: int, leg: int = 0) -> None:
        if leg != o.leg:
            return  # rerouted: this leg's carrier no longer has it
        now = self.sim.now_s
        eta = now + transit * DAY + self.between(0, 6 * HOUR)
        self._milestone(
            o,
            "shipment.dispatched",
            {
                "shipment_id": o.shipment_id,
                "tracking_number": f"1Z{self.between(10**11, 10**12 - 1)}",
                "eta": instant_text(eta),
            },
        )
        if o.fault == "late_delivery":
            late = o.promise_end + self.between(DAY, 3 * DAY)
            self.sim.at(now + max(HOUR, (eta - now) // 2), self._delayed, o, late, leg)
        elif o.fault == "failed_delivery" and o.variant != "redelivery":
            attempt = max(now + HOUR, eta - self.between(0, 2 * HOUR))
            self.sim.at(self.in_shift(attempt), self._delivery_failed, o, leg)
        else:
            self.sim.at(max(now + HOUR, eta - self.between(0, 2 * HOUR)), self._deliver, o, leg)

    def _delayed(self, o: Order, eta: int, leg: int = 0) -> None:
        if leg != o.leg:
            return
        now = self._milestone(
            o,
            "shipment.delayed",
            {
                "shipment_id": o.shipment_id,
                "eta": instant_text(eta),
                "reason": "linehaul missed connection",
            },
        )
        self.record("late_delivery", o.id, {"order_id": o.id, "shipment_id": o.shipment_id}, now)
        self.sim.at(eta, self._deliver, o, leg)

    def _delivery_failed(self, o: Order, leg: int = 0) -> None:
        """The carrier's delivery attempt fails; the order is re-shipped days later."""
        if leg != o.leg:
            return
        o.variant = "redelivery"
        reason = self.rng.choice(FAILURE_REASONS)
        now = self._milestone(
            o, "shipment.failed", {"shipment_id": o.shipment_id, "reason": reason}
        )
        self.record(
            "failed_delivery",
            o.id,
            {
                "order_id": o.id,
                "shipment_id": o.shipment_id,
                "carrier": o.carrier,
                "reason": reason,
            },
            now,
        )
        self.later(DAY, 3 * DAY, self._reship, o, leg)

    def _reship(self, o: Order, leg: int) -> None:
        if leg == o.leg:  # not rerouted meanwhile
            self._pack(o)

    def _deliver(self, o: Order, leg: int = 0) -> None:
        if leg != o.leg:
            return
        o.delivered = True
        discrepancies = []
        if o.fault == "delivery_discrepancy":
            i = max(range(len(o.shipped)), key=lambda j: o.shipped[j])
            kind = self.rng.choice(("damaged", "short"))
            o.variant = f"delivered_{kind}"
            discrepancies.append(
                {"line_id": o.lines[i]["line_id"], "kind": kind, "qty": max(1, o.shipped[i] // 2)}
            )
            o.missing[i] = discrepancies[0]["qty"]
        now = self._milestone(
            o,
            "shipment.delivered",
            {
                "shipment_id": o.shipment_id,
                "delivered_at": instant_text(self.sim.now_s),
                "pod": f"signed {o.customer.name.split()[0].upper()} RCV",
                "discrepancies": discrepancies,
            },
        )
        if discrepancies:
            self.record(
                "delivery_discrepancy",
                o.id,
                {
                    "order_id": o.id,
                    "shipment_id": o.shipment_id,
                    "line_id": discrepancies[0]["line_id"],
                },
                now,
            )
        self.later(HOUR, 8 * HOUR, self._invoice, o)

    # --- billing and cash ---

    def _invoice(self, o: Order, asked: bool = False) -> None:
        """Bill what shipped; ``asked``: by an ``IssueInvoice`` (the order's own invoicing
        run then finds it invoiced, or on its way, and skips it)."""
        if o.invoice_id or (o.invoice_asked and not asked):
            return
        o.invoice_asked = False
        o.invoice_id = self.next_id("INV-", 7)
        if self.actionable:
            self.by_invoice[o.invoice_id] = o
        o.amount = sum(q * c for q, c in zip(o.shipped, o.cents, strict=True))
        now = self.sim.now_s
        terms = o.customer.terms_days
        self.emit(
            "invoice.issued",
            "finance",
            o.id,
            {
                "invoice_id": o.invoice_id,
                "order_id": o.id,
                "customer_id": o.customer.id,
                "amount": o.amount / 100,
                "due_date": day_text(now + terms * DAY),
                "lines": [
                    {"line_id": ln["line_id"], "qty": q, "unit_price": ln["unit_price"]}
                    for ln, q in zip(o.lines, o.shipped, strict=True)
                    if q > 0
                ],
            },
        )
        due = o.due = end_of_day(now + terms * DAY)
        if o.fault == "short_payment" and o.amount >= 3_000:
            paid = round(o.amount * (0.80 + 0.13 * self.r()))
            first = max(now + HOUR, due - self.between(12 * DAY, 18 * DAY))
            self.sim.at(first, self._remit, o, paid, True)
            self.sim.at(first + self.between(3 * DAY, 7 * DAY), self._remit, o, o.amount - paid)
        elif o.fault == "unreadable_remittance" and o.amount >= 3_000:
            paid = round(o.amount * (0.45 + 0.45 * self.r())) + self.between(1, 99)
            first = max(now + HOUR, due - self.between(12 * DAY, 18 * DAY))
            self.sim.at(first, self._remit, o, paid, False, True)
            self.sim.at(first + self.between(5 * DAY, 8 * DAY), self._remit, o, o.amount - paid)
        elif o.fault == "late_payment":
            self.record(
                "late_payment",
                o.id,
                {"order_id": o.id, "invoice_id": o.invoice_id, "customer_id": o.customer.id},
                due + 1,
            )
            self.sim.at(due + self.between(8 * DAY, 20 * DAY), self._remit, o, o.amount)
        else:
            self.sim.at(
                max(now + HOUR, due - self.between(2 * DAY, 10 * DAY)), self._remit, o, o.amount
            )
        if o.fault == "invoice_dispute":
            self.later(DAY, 6 * DAY, self._dispute, o)
        elif o.fault == "return_request":
            self.later(DAY, 5 * DAY, self._return, o)
        elif o.fault == "return_credit_late":
            self.later(DAY, 5 * DAY, self._request_return, o, "late")
        elif o.variant == "delivered_damaged":
            if self.r() < self.config.returns.after_discrepancy:
                self.later(DAY, 5 * DAY, self._request_return, o, "damaged")
        elif o.fault is None and self.r() < self.config.returns.rate:
            self.later(DAY, 5 * DAY, self._request_return, o, "routine")

    def _dispute(self, o: Order) -> None:
        now = self.emit(
            "invoice.disputed",
            "finance",
            o.id,
            {
                "invoice_id": o.invoice_id,
                "reason": "price differs from quote",
                "amount_disputed": round(o.amount * 0.2) / 100,
            },
        )
        self.record("invoice_dispute", o.id, {"order_id": o.id, "invoice_id": o.invoice_id}, now)

    def _return(self, o: Order) -> None:
        rma = self.next_id("RMA-", 7)
        i = max(range(len(o.shipped)), key=lambda j: o.shipped[j])
        line = o.lines[i]
        qty, reason = max(1, o.shipped[i] // 2), self.rng.choice(("damaged", "wrong_item"))
        now = self.emit(
            "return.requested",
            "portal",
            o.id,
            {
                "rma_id": rma,
                "order_id": o.id,
                "lines": [
                    {"line_id": line["line_id"], "sku": line["sku"], "qty": qty, "reason": reason}
                ],
            },
        )
        self.record("return_request", o.id, {"order_id": o.id, "rma_id": rma}, now)
        if self.actionable:  # nobody authorises it, unless unsnag does
            kind = "damaged" if reason == "damaged" else "routine"
            self.rmas[rma] = Rma(o, i, qty, kind, 0)

    # --- returns: RMA, receipt at the DC, credit memo ---

    def _request_return(self, o: Order, kind: str) -> None:
        """The customer asks to send goods back: ``routine`` (mostly unwanted), ``late``
        (unwanted, credited after the deadline) or ``damaged`` (after a damaged delivery).
        """
        cfg = self.config.returns
        shipped = [i for i, q in enumerate(o.shipped) if q > 0]
        if not shipped or not o.invoice_id:
            return
        limit = round(cfg.auto_authorise_max_value * 100) - 100  # a dollar's margin
        if kind == "damaged":
            i = max(range(len(o.shipped)), key=lambda j: o.shipped[j])
            reason, qty = "damaged", max(1, o.shipped[i] // 2)
        else:
            if kind == "late":
                i = min(shipped, key=lambda j: o.cents[j])
                reason = "unwanted"
            else:
                i = shipped[int(self.r() * len(shipped))]
                reason = "unwanted" if self.r() < cfg.unwanted_share else "wrong_item"
            qty = self.between(1, o.shipped[i])
            if reason == "unwanted":
                qty = max(1, min(qty, limit // max(1, o.cents[i])))
        rma = self.next_id("RMA-", 7)
        line = o.lines[i]
        now = self.emit(
            "return.requested",
            "erp",
            o.id,
            {
                "rma_id": rma,
                "order_id": o.id,
                "lines": [
                    {"line_id": line["line_id"], "sku": line["sku"], "qty": qty, "reason": reason}
                ],
            },
        )
        routine = reason == "unwanted" and qty * o.cents[i] <= limit
        if not routine:
            self.record(
                "return_authorisation",
                o.id,
                {"order_id": o.id, "rma_id": rma, "reason": reason},
                now,
            )
        elif kind == "routine":
            self.routine_returns.append(rma)
        delay = self.between(2 * DAY, 6 * DAY)
        back = self.in_shift(now + delay)
        if self.actionable:
            status = "authorised" if routine else "requested"  # by policy, or waits
            self.rmas[rma] = Rma(o, i, qty, kind, delay, status)
            if not routine:
                return  # the goods come back once an AuthoriseReturn is accepted
        self.sim.at(back, self._return_received, o, rma, i, qty, kind)

    def _return_received(self, o: Order, rma: str, i: int, qty: int, kind: str) -> None:
        if self.actionable:
            self.rmas[rma].status = "received"
        node = o.line_nodes.get(i, o.node)
        sku = o.lines[i]["sku"]
        condition = "damaged" if kind == "damaged" else "resaleable"
        now = self.emit(
            "return.received",
            f"wms/{node}",
            o.id,
            {
                "rma_id": rma,
                "node_id": node,
                "lines": [{"sku": sku, "qty": qty, "condition": condition}],
            },
        )
        if condition == "resaleable":
            self.on_hand[(node, sku)] += qty
            self.emit(
                "inventory.adjusted",
                f"wms/{node}",
                f"{node}/{sku}",
                {"node_id": node, "sku": sku, "delta": qty, "reason": "return"},
            )
        deadline = now + self.config.returns.credit_within_hours * HOUR
        cents = qty * o.cents[i]
        if kind == "late":
            self.record(
                "return_credit_late",
                o.id,
                {"order_id": o.id, "rma_id": rma, "invoice_id": o.invoice_id},
                deadline,
            )
            self.sim.at(deadline + self.between(HOUR, 36 * HOUR), self._credit_return, o, cents)
        else:
            self.sim.at(
                min(deadline - HOUR, now + self.between(2 * HOUR, 48 * HOUR)),
                self._credit_return,
                o,
                cents,
            )

    def _credit_return(self, o: Order, cents: int) -> None:
        credited = self.credited.get(o.invoice_id, 0) if self.actionable else o.credit
        cents = min(cents, o.amount - credited)
        if cents <= 0:
            return
        o.credit += cents
        if self.actionable:
            self.credited[o.invoice_id] = credited + cents
        self.emit(
            "credit_memo.issued",
            "finance",
            o.id,
            {
                "memo_id": self.next_id("CM-", 7),
                "invoice_id": o.invoice_id,
                "amount": cents / 100,
                "reason": "return",
            },
        )

    def _remit(self, o: Order, cents: int, short: bool = False, unreadable: bool = False) -> None:
        """Cash from the customer; a short pay names its invoice, an unreadable one does
        not (garbage references, an odd amount) and waits days for cash application."""
        if self.actionable and o.dunned:  # a reminder has the customer paying what is left
            cents = min(cents, o.amount - self.credited.get(o.invoice_id, 0) - o.paid)
            if cents <= 0:
                return
        if (
            not short and not unreadable and o.credit
        ):  # a return was credited: the customer pays the rest
            cents = min(cents, o.amount - o.credit - o.paid)
            if cents <= 0:
                return
        o.paid += cents
        rid = self.next_id("RM-", 7)
        if self.actionable:
            self.remittances[rid] = [o, cents, 0]
        now = self.emit(
            "remittance.received",
            "finance",
            rid,
            {
                "remittance_id": rid,
                "customer_id": o.customer.id,
                "amount": cents / 100,
                "references": self._unreadable_refs() if unreadable else o.invoice_id,
            },
        )
        if short:
            self.record(
                "short_payment",
                rid,
                {
                    "remittance_id": rid,
                    "invoice_id": o.invoice_id,
                    "order_id": o.id,
                    "customer_id": o.customer.id,
                },
                now,
            )
        if unreadable:
            self.record(
                "unreadable_remittance",
                rid,
                {
                    "remittance_id": rid,
                    "invoice_id": o.invoice_id,
                    "order_id": o.id,
                    "customer_id": o.customer.id,
                },
                now,
            )
            self.later(2 * DAY, 4 * DAY, self._apply, o, rid, cents)
        else:
            self.later(HOUR, 20 * HOUR, self._apply, o, rid, cents)

    def _unreadable_refs(self) -> str:
        if self.r() < 0.3:
            return f"TRACE {self.between(10**14, 10**15 - 1)}"
        return self.rng.choice(UNREADABLE_REFERENCES)

    def _apply(self, o: Order, rid: str, cents: int) -> None:
        if self.actionable:  # an ApplyPayment may have applied some of it already
            remittance = self.remittances[rid]
            cents = min(cents, remittance[1] - remittance[2])
            if cents <= 0:
                return
            remittance[2] += cents
        self.emit(
            "payment.applied",
            "finance",
            o.id,
            {"invoice_id": o.invoice_id, "amount": cents / 100, "remittance_id": rid},
        )
