"""Stock, inbound supply and lanes as the supply-side option computers read them
(allocation shortage and conflict, pick short, delivery discrepancy reships).

Free stock of a node+SKU is read per system: the ERP's and the WMS's latest
``inventory.snapshot`` (``available``, else ``on_hand - allocated``). A view older than
:data:`STALE_VIEW_DAYS` before the case's last signal counts as no view. Evidence that a
node can supply ``need`` units:

- ``both``: the ERP and the WMS each show at least ``need`` free;
- ``one``: the only view there is shows enough;
- ``disagree``: one view shows enough and the other does not.

Lane cost, kept simple on purpose (unsnag does not know freight rates): moving a line to
another DC costs :data:`REALLOCATE_HANDLING_PCT` of the value moved (re-pick, re-pack);
when the DC is in another region than the customer (``customer.upserted`` region, else
the original DC's region; regions from ``node.upserted``) it also costs
:data:`CROSS_REGION_FREIGHT_PCT` and :data:`CROSS_REGION_EXTRA_DAYS` of transit.

Waiting for supply: the earliest open purchase orders at the node whose open quantity
(ordered less received) covers the need give the wait (their ETA less the case's last
signal time); without such a PO, :data:`DEFAULT_LEAD_TIME_DAYS` is assumed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from unsnag.resolve.model import Effect, Option
from unsnag.resolve.options._common import clamp, day, days_between, money, num, pct
from unsnag.state.model import Line, Order, PurchaseOrder, State, StockView

EPS = 1e-9
STALE_VIEW_DAYS = 7.0
REALLOCATE_HANDLING_PCT = 0.02
CROSS_REGION_FREIGHT_PCT = 0.03
CROSS_REGION_EXTRA_DAYS = 1.0
DEFAULT_LEAD_TIME_DAYS = 14.0

MOVE_CONFIDENCE = {"both": 0.9, "one": 0.65, "disagree": 0.35}
"""Confidence of a reallocation by the stock evidence at the target DC."""
SUBSTITUTE_CONFIDENCE = {"both": 0.7, "one": 0.5, "disagree": 0.3}
"""Lower than a move: the customer may still refuse the substitute."""


@dataclass(frozen=True, slots=True)
class NodeStock:
    """Free units of one SKU at one node, per system (None: no usable view)."""

    node_id: str
    sku: str
    erp: float | None
    wms: float | None

    def evidence(self, need: float) -> str | None:
        """``both``, ``one`` or ``disagree`` (see the module doc); None: no view has enough."""
        views = [v for v in (self.erp, self.wms) if v is not None]
        enough = [v >= need - EPS for v in views]
        if not any(enough):
            return None
        if all(enough):
            return "both" if len(views) == 2 else "one"
        return "disagree"

    def views(self) -> str:
        erp = f"ERP {num(self.erp)} free" if self.erp is not None else "no ERP view"
        wms = f"WMS {num(self.wms)} free" if self.wms is not None else "no WMS view"
        return f"{erp}, {wms}"

    def describe(self) -> str:
        return f"{self.sku} at {self.node_id}: {self.views()}"


def free(view: StockView | None, now: datetime) -> float | None:
    if view is None or days_between(view.as_of, now) > STALE_VIEW_DAYS:
        return None
    if view.available is not None:
        return view.available
    return view.on_hand - (view.allocated or 0.0)


def stock_at(state: State, node_id: str, sku: str, now: datetime) -> NodeStock:
    views = state.stock.get((node_id, sku), {})
    return NodeStock(node_id, sku, free(views.get("erp"), now), free(views.get("wms"), now))


def other_nodes(state: State, sku: str, exclude: str | None, now: datetime) -> list[NodeStock]:
    """Every other node any system reported the SKU at, by node id."""
    nodes = sorted(n for n in state.nodes_by_sku.get(sku, ()) if n != exclude)
    return [stock_at(state, node, sku, now) for node in nodes]


# --- inbound --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Inbound:
    po: PurchaseOrder
    open_qty: float
    announced: float
    """Units of the SKU on the PO's ASNs: the supplier has shipped them."""

    def describe(self, sku: str) -> str:
        asn = f", ASN {num(self.announced)}" if self.announced else ", no ASN yet"
        return (
            f"{self.po.po_id} to {self.po.node_id}: {num(self.open_qty)} of {sku} open"
            f"{asn}, ETA {day(self.po.eta)}"
        )


def inbound(state: State, sku: str, node_id: str | None = None) -> list[Inbound]:
    """Open purchase orders of the SKU (at ``node_id`` if given), earliest ETA first."""
    found: list[Inbound] = []
    for po_id in state.purchase_orders_by_sku.get(sku, ()):
        po = state.purchase_orders.get(po_id)
        if po is None or (node_id is not None and po.node_id != node_id):
            continue
        left = po.lines.get(sku, 0.0) - po.received.get(sku, 0.0)
        if left > EPS:
            found.append(Inbound(po, left, po.asn_qty.get(sku, 0.0)))
    found.sort(key=lambda i: (i.po.eta is None, i.po.eta.timestamp() if i.po.eta else 0.0))
    return found


@dataclass(frozen=True, slots=True)
class Wait:
    """How long the line waits for supply at its own node if nothing is done."""

    days: float
    covering: Inbound | None

    def describe(self, sku: str) -> str:
        if self.covering is None:
            return (
                f"no open PO covers the need of {sku}: assume {num(DEFAULT_LEAD_TIME_DAYS)} d "
                "replenishment lead time"
            )
        return f"waiting means {self.days:.1f} d for {self.covering.describe(sku)}"


def wait_for(supply: list[Inbound], need: float, now: datetime) -> Wait:
    got = 0.0
    for item in supply:
        got += item.open_qty
        if got >= need - EPS and item.po.eta is not None:
            return Wait(max(days_between(now, item.po.eta), 0.0), item)
    return Wait(DEFAULT_LEAD_TIME_DAYS, None)


# --- lanes ----------------------------------------------------------------------------


def region_of(state: State, node_id: str | None) -> str | None:
    node = state.nodes.get(node_id) if node_id else None
    region = node.get("region") if node else None
    return str(region) if region else None


def home_region(state: State, order: Order, from_node: str | None) -> str | None:
    customer = state.customers.get(order.customer_id)
    return (customer.region if customer else None) or region_of(state, from_node)


def lane(state: State, order: Order, from_node: str | None, to_node: str) -> tuple[float, float]:
    """(extra transit days, cost as a share of the value moved) of shipping from ``to_node``."""
    home, there = home_region(state, order, from_node), region_of(state, to_node)
    if home and there and home != there:
        return CROSS_REGION_EXTRA_DAYS, REALLOCATE_HANDLING_PCT + CROSS_REGION_FREIGHT_PCT
    return 0.0, REALLOCATE_HANDLING_PCT


# --- the options ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Need:
    """What a supply option must cover for one order line."""

    order: Order
    line: Line
    qty: float
    """Units the target must hold (free) for the option to work."""
    at_risk: float
    """Revenue at risk if nothing is done."""
    node_id: str | None
    wait: Wait


def reallocations(state: State, need: Need, now: datetime) -> list[Option]:
    """One ``reallocate`` per other DC with enough free stock of the line's SKU."""
    found = []
    for stock in other_nodes(state, need.line.sku, need.node_id, now):
        option = move(state, need, stock)
        if option is not None:
            found.append(option)
    return found


def move(state: State, need: Need, stock: NodeStock) -> Option | None:
    """``reallocate`` the line to ``stock``'s node, if its stock evidence allows."""
    evidence = stock.evidence(need.qty)
    if evidence is None:
        return None
    line = need.line
    extra_days, cost_pct = lane(state, need.order, need.node_id, stock.node_id)
    cost = cost_pct * need.qty * line.unit_price
    gained = need.wait.days - extra_days
    where = "another region, " if extra_days else ""
    facts = [
        stock.describe(),
        need.wait.describe(line.sku),
        f"lane: +{num(extra_days)} d transit, cost {pct(cost_pct)} of "
        f"{money(need.qty * line.unit_price)} moved",
    ]
    if evidence == "disagree":
        facts.append(f"ERP and WMS disagree on {line.sku} at {stock.node_id}: count first")
    return Option(
        action="reallocate",
        params={
            "order_id": need.order.order_id,
            "line_id": line.line_id,
            "to_node": stock.node_id,
            "qty": need.qty,
        },
        summary=(
            f"reallocate {num(need.qty)} of {line.sku} on {need.order.order_id} line "
            f"{line.line_id} to {stock.node_id} ({stock.views()}); "
            f"{where}ships {gained:.1f} d sooner than waiting, ~{money(cost)} handling"
        ),
        effect=Effect(need.at_risk, cost, gained),
        facts=tuple(facts),
        confidence=MOVE_CONFIDENCE[evidence],
        amount=need.at_risk,
    )


def substitutions(state: State, need: Need, now: datetime) -> list[Option]:
    """One ``substitute`` per substitute SKU with enough free stock at the line's node."""
    line = need.line
    product = state.products.get(line.sku)
    if product is None or need.node_id is None:
        return []
    out: list[Option] = []
    for sub in product.substitutes:
        stock = stock_at(state, need.node_id, sub, now)
        evidence = stock.evidence(need.qty)
        if evidence is None:
            continue
        sub_cost = state.products[sub].unit_cost if sub in state.products else None
        extra = (sub_cost or 0.0) - (product.unit_cost or 0.0) if sub_cost is not None else 0.0
        cost = max(extra, 0.0) * need.qty
        out.append(
            Option(
                action="substitute",
                params={"order_id": need.order.order_id, "line_id": line.line_id, "sku": sub},
                summary=(
                    f"fill {need.order.order_id} line {line.line_id} with {num(need.qty)} of "
                    f"substitute {sub} from {need.node_id} at the line's price "
                    f"{money(line.unit_price)} (margin given up {money(cost)})"
                ),
                effect=Effect(need.at_risk, cost, need.wait.days),
                facts=(stock.describe(), f"{sub} is a listed substitute of {line.sku}"),
                confidence=SUBSTITUTE_CONFIDENCE[evidence],
                amount=need.at_risk,
            )
        )
    return out


def partial_ship(need: Need, ready: float, why: str) -> list[Option]:
    """Ship ``ready`` units now, the rest later: confidence 0.4 + 0.4 x the share ready."""
    line = need.line
    if ready <= EPS:
        return []
    share = ready / line.qty if line.qty > 0 else 0.0
    later = max(line.qty - ready, 0.0)
    return [
        Option(
            action="partial_ship",
            params={"order_id": need.order.order_id, "line_id": line.line_id, "qty": ready},
            summary=(
                f"ship {num(ready)} of {num(line.qty)} {line.sku} on {need.order.order_id} now "
                f"({why}), {num(later)} to follow"
            ),
            effect=Effect(ready * line.unit_price, 0.0, need.wait.days),
            facts=(
                f"line {line.line_id}: {num(ready)} of {num(line.qty)} ready ({pct(share)})",
                need.wait.describe(line.sku),
            ),
            confidence=clamp(0.4 + 0.4 * share, 0.0, 0.8),
            amount=ready * line.unit_price,
        )
    ]


EXPEDITE_DAYS = 2.0
"""Days an expedite request is assumed to pull a PO in by."""
EXPEDITE_COST_PCT = 0.05
"""Expedite surcharge, as a share of the expedited units at cost (else at price)."""


def expedite(state: State, need: Need, short: float, promise: datetime | None) -> list[Option]:
    """``expedite_po`` for the PO the line waits on, when it lands after the promise.

    Confidence 0.5 when the PO's open quantity covers the shortfall and the supplier has
    not shipped yet (no ASN), 0.3 when it only covers part or is already in transit.
    """
    covering = need.wait.covering
    line = need.line
    if covering is None or covering.po.eta is None:
        return []
    if promise is not None and covering.po.eta <= promise:
        return []  # it lands in time: nothing to expedite
    product = state.products.get(line.sku)
    unit = product.unit_cost if product and product.unit_cost is not None else line.unit_price
    cost = EXPEDITE_COST_PCT * short * unit
    full = covering.open_qty >= short - EPS and covering.announced <= EPS
    gained = min(EXPEDITE_DAYS, need.wait.days)
    return [
        Option(
            action="expedite_po",
            params={"po_id": covering.po.po_id, "sku": line.sku, "qty": short},
            summary=(
                f"ask the supplier to expedite {covering.po.po_id} (ETA {day(covering.po.eta)},"
                f" promise {day(promise)}) by ~{num(EXPEDITE_DAYS)} d for {num(short)} of "
                f"{line.sku}"
            ),
            effect=Effect(need.at_risk, cost, gained),
            facts=(covering.describe(line.sku),),
            confidence=0.5 if full else 0.3,
            amount=cost,
        )
    ]
