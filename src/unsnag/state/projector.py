"""Fold one event into the operational state.

One small function per event type, dispatched by a dict. A projector never decides
whether something is an exception (that is detect/'s job); it records what the source
system said, with the event's time, so detectors can reason about "by when".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from unsnag.events import Event
from unsnag.state.model import (
    ContractPrice,
    Customer,
    Integration,
    Invoice,
    Line,
    Order,
    Product,
    PurchaseOrder,
    Remittance,
    Return,
    Shipment,
    State,
    StockView,
)

RECENT_ORDERS_PER_CUSTOMER = 64


def _customer(state: State, ev: Event) -> None:
    d = ev.data
    old = state.customers.get(d.customer_id)
    state.customers[d.customer_id] = Customer(
        customer_id=d.customer_id,
        tier=d.tier,
        name=d.name,
        credit_limit=d.credit_limit,
        terms_days=d.terms_days,
        region=d.region,
        segment=d.segment,
        open_order_value=old.open_order_value if old else 0.0,
    )


def _product(state: State, ev: Event) -> None:
    d = ev.data
    state.products[d.sku] = Product(
        sku=d.sku,
        family=d.family,
        unit_cost=d.unit_cost,
        list_price=d.list_price,
        substitutes=tuple(d.substitutes),
    )
    for sub in d.substitutes:
        listing = state.substituted_by.setdefault(sub, [])
        if d.sku not in listing:
            listing.append(d.sku)


def _price(state: State, ev: Event) -> None:
    d = ev.data
    contract = ContractPrice(d.unit_price, d.valid_from, d.valid_to)
    state.contracts.setdefault((d.customer_id, d.sku), []).append(contract)


def _node(state: State, ev: Event) -> None:
    state.nodes[ev.data.node_id] = ev.data.model_dump(exclude_none=True)


def _lines(d: Any) -> dict[str, Line]:
    return {ln.line_id: Line(ln.line_id, ln.sku, ln.qty, ln.unit_price) for ln in d.lines}


def _order_created(state: State, ev: Event) -> None:
    d = ev.data
    existing = state.orders.get(d.order_id)
    if existing is not None:  # the same order re-sent with a new event id: an update
        _order_updated(state, ev)
        return
    order = Order(
        order_id=d.order_id,
        customer_id=d.customer_id,
        created_at=ev.time,
        lines=_lines(d),
        channel=d.channel,
        po_number=d.po_number or None,
        currency=d.currency,
        promised_ship_date=d.promised_ship_date,
        requested_delivery_date=d.requested_delivery_date,
        ship_to=d.ship_to.model_dump(exclude_none=True) if d.ship_to else None,
    )
    extra = d.model_extra
    if extra:  # terms some channels send: ship complete, substitution allowed or refused
        order.ship_complete = extra.get("ship_complete") is True
        substitution = extra.get("substitution")
        order.substitution = substitution if substitution in ("allowed", "refused") else None
    state.orders[order.order_id] = order
    if order.po_number:
        state.orders_by_po.setdefault((order.customer_id, order.po_number), []).append(
            order.order_id
        )
    else:
        recent = state.recent_orders_without_po.setdefault(order.customer_id, [])
        recent.append(order.order_id)
        if len(recent) > RECENT_ORDERS_PER_CUSTOMER:
            del recent[0]
    customer = state.customers.get(order.customer_id)
    if customer is not None:
        customer.open_order_value += order.value


def _order_updated(state: State, ev: Event) -> None:
    d = ev.data
    order = state.orders.get(d.order_id)
    if order is None:
        return
    for name in ("channel", "currency", "promised_ship_date", "requested_delivery_date"):
        value = getattr(d, name, None)
        if value is not None:
            setattr(order, name, value)
    if d.po_number and d.po_number != order.po_number:
        _reindex_po(state, order, d.po_number)
    if d.ship_to is not None:
        order.ship_to = d.ship_to.model_dump(exclude_none=True)
    if d.lines:
        for ln in d.lines:
            line = order.lines.get(ln.line_id)
            if line is None:
                order.lines[ln.line_id] = Line(ln.line_id, ln.sku, ln.qty, ln.unit_price)
            else:
                line.sku, line.qty, line.unit_price = ln.sku, ln.qty, ln.unit_price


def _reindex_po(state: State, order: Order, po_number: str) -> None:
    """A PO number added or corrected later moves the order in the by-PO index."""
    if order.po_number:
        old = state.orders_by_po.get((order.customer_id, order.po_number), [])
        if order.order_id in old:
            old.remove(order.order_id)
    order.po_number = po_number
    state.orders_by_po.setdefault((order.customer_id, po_number), []).append(order.order_id)


def _release_open_value(state: State, order: Order) -> None:
    customer = state.customers.get(order.customer_id)
    if customer is not None:
        customer.open_order_value = max(0.0, customer.open_order_value - order.value)


def _order_cancelled(state: State, ev: Event) -> None:
    order = state.orders.get(ev.data.order_id)
    if order is not None and order.status != "cancelled":
        order.status = "cancelled"
        order.cancelled_at = ev.time
        _release_open_value(state, order)
        for line in order.lines.values():
            short = state.short_orders_by_sku.get(line.sku)
            if short is not None:
                short.pop(order.order_id, None)
                if not short:
                    del state.short_orders_by_sku[line.sku]


def _order_held(state: State, ev: Event) -> None:
    order = state.orders.get(ev.data.order_id)
    if order is not None:
        order.holds.setdefault(ev.data.hold_code or "manual", ev.time)


def _order_released(state: State, ev: Event) -> None:
    order = state.orders.get(ev.data.order_id)
    if order is None:
        return
    if ev.data.hold_code is None:
        order.holds.clear()
    else:
        order.holds.pop(ev.data.hold_code, None)


def _credit_hold_applied(state: State, ev: Event) -> None:
    order = state.orders.get(ev.data.order_id) if ev.data.order_id else None
    if order is not None:
        order.holds.setdefault("credit", ev.time)


def _credit_hold_released(state: State, ev: Event) -> None:
    order = state.orders.get(ev.data.order_id) if ev.data.order_id else None
    if order is not None:
        order.holds.pop("credit", None)


def _stock_view(state: State, ev: Event) -> dict[str, StockView]:
    return state.stock.setdefault((ev.data.node_id, ev.data.sku), {})


def _snapshot(state: State, ev: Event) -> None:
    d = ev.data
    views = _stock_view(state, ev)
    if not views:  # a node+SKU seen for the first time: index it (nodes per SKU are few)
        nodes = state.nodes_by_sku.setdefault(d.sku, [])
        if d.node_id not in nodes:
            nodes.append(d.node_id)
    views[ev.system] = StockView(d.on_hand, d.allocated, d.available, ev.time)
    if ev.system == "erp":
        free = d.available if d.available is not None else d.on_hand - (d.allocated or 0.0)
        state.atp[(d.node_id, d.sku)] = (free, ev.time)


def _adjusted(state: State, ev: Event) -> None:
    view = _stock_view(state, ev).get(ev.system)
    if view is not None:
        view.on_hand += ev.data.delta
        if view.available is not None:
            view.available += ev.data.delta
        view.as_of = ev.time


def _line(state: State, ev: Event) -> Line | None:
    order = state.orders.get(ev.data.order_id)
    return order.lines.get(ev.data.line_id) if order else None


def _reserved(state: State, ev: Event) -> None:
    d = ev.data
    line = _line(state, ev)
    if line is not None:
        line.reserved += d.qty
        line.node_id = d.node_id
    sku = d.sku or (line.sku if line is not None else None)
    if sku is None:
        return
    atp = state.atp.get((d.node_id, sku))
    if atp is not None:
        state.atp[(d.node_id, sku)] = (atp[0] - d.qty, ev.time)
    short = state.short_orders_by_sku.get(sku)
    if short is not None and d.order_id in short:
        order = state.orders.get(d.order_id)
        lines = order.lines.values() if order is not None else ()
        if not any(ln.sku == sku and ln.reserved < ln.qty for ln in lines):
            del short[d.order_id]
            if not short:
                del state.short_orders_by_sku[sku]


def _alloc_failed(state: State, ev: Event) -> None:
    d = ev.data
    line = _line(state, ev)
    if line is not None and d.node_id:
        line.node_id = d.node_id
    sku = d.sku or (line.sku if line is not None else None)
    if sku is None:
        return
    if d.node_id and d.qty_available is not None:
        state.atp[(d.node_id, sku)] = (d.qty_available, ev.time)
    if line is None or line.reserved < line.qty:
        state.short_orders_by_sku.setdefault(sku, {})[d.order_id] = None


def _picked(state: State, ev: Event) -> None:
    line = _line(state, ev)
    if line is not None:
        line.picked += ev.data.qty_picked
        line.node_id = line.node_id or ev.data.node_id
    order = state.orders.get(ev.data.order_id)
    if order is not None and order.picking_started_at is None:
        order.picking_started_at = ev.time


def _pick_short(state: State, ev: Event) -> None:
    _picked(state, ev)
    line = _line(state, ev)
    if line is not None:
        line.short += ev.data.qty_short


def _shipment_created(state: State, ev: Event) -> None:
    d = ev.data
    shipment = Shipment(
        shipment_id=d.shipment_id,
        order_id=d.order_id,
        created_at=ev.time,
        node_id=d.node_id,
        carrier=d.carrier,
        service=d.service,
        line_qty={ln.line_id: ln.qty for ln in d.lines},
        promised_delivery_date=d.promised_delivery_date,
    )
    if d.shipment_id not in state.shipments and d.node_id and d.carrier:
        lane = state.carriers_by_node.setdefault(d.node_id, {})
        lane[d.carrier] = lane.get(d.carrier, 0) + 1
    if d.carrier and d.service:
        state.carrier_services[d.carrier] = d.service
    state.shipments[d.shipment_id] = shipment
    order = state.orders.get(d.order_id)
    if order is not None and d.shipment_id not in order.shipment_ids:
        order.shipment_ids.append(d.shipment_id)


def _dispatched(state: State, ev: Event) -> None:
    shipment = state.shipments.get(ev.data.shipment_id)
    if shipment is not None:
        shipment.dispatched_at = ev.time
        shipment.eta = ev.data.eta or shipment.eta
        shipment.status = "dispatched"
        _mark_shipped(state, shipment)


def _mark_shipped(state: State, shipment: Shipment) -> None:
    order = state.orders.get(shipment.order_id)
    if order is None:
        return
    for line_id, qty in shipment.line_qty.items():
        line = order.lines.get(line_id)
        if line is not None:
            line.shipped = max(line.shipped, qty if qty is not None else line.qty)
    if order.status == "open":
        order.status = "shipped"


def _delayed(state: State, ev: Event) -> None:
    shipment = state.shipments.get(ev.data.shipment_id)
    if shipment is not None:
        shipment.eta = ev.data.eta


def _delivered(state: State, ev: Event) -> None:
    shipment = state.shipments.get(ev.data.shipment_id)
    if shipment is not None:
        shipment.delivered_at = ev.data.delivered_at or ev.time
        shipment.status = "delivered"
        if shipment.dispatched_at is None:
            _mark_shipped(state, shipment)


def _failed(state: State, ev: Event) -> None:
    shipment = state.shipments.get(ev.data.shipment_id)
    if shipment is not None:
        shipment.failed_at = ev.time
        shipment.status = "failed"


def _carrier_rejected(state: State, ev: Event) -> None:
    """A carrier refusing a shipment ends that shipment's journey, like a failed delivery."""
    d = ev.data
    shipment = state.shipments.get(d.shipment_id) if d.shipment_id else None
    if shipment is None and d.order_id in state.orders:
        ids = state.orders[d.order_id].shipment_ids
        shipment = state.shipments.get(ids[-1]) if ids else None
    if shipment is not None and shipment.delivered_at is None:
        shipment.failed_at = ev.time
        shipment.status = "rejected"


def _po_created(state: State, ev: Event) -> None:
    d = ev.data
    lines: dict[str, float] = {}
    for ln in d.lines:
        lines[ln.sku] = lines.get(ln.sku, 0.0) + ln.qty
    if d.po_id not in state.purchase_orders:
        for sku in lines:
            state.purchase_orders_by_sku.setdefault(sku, []).append(d.po_id)
    state.purchase_orders[d.po_id] = PurchaseOrder(
        po_id=d.po_id,
        node_id=d.node_id,
        created_at=ev.time,
        supplier_id=d.supplier_id,
        lines=lines,
        eta=d.eta,
    )


def _po_delayed(state: State, ev: Event) -> None:
    po = state.purchase_orders.get(ev.data.po_id)
    if po is not None:
        po.eta = ev.data.eta


def _asn(state: State, ev: Event) -> None:
    d = ev.data
    po = state.purchase_orders.get(d.po_number) if d.po_number else None
    if po is None or d.asn_id in po.asn_ids:
        return
    po.asn_ids.append(d.asn_id)
    for ln in d.lines:
        po.asn_qty[ln.sku] = po.asn_qty.get(ln.sku, 0.0) + ln.qty


def _receipt(state: State, ev: Event) -> None:
    po = state.purchase_orders.get(ev.data.po_id)
    if po is not None:
        for ln in ev.data.lines:
            po.received[ln.sku] = po.received.get(ln.sku, 0.0) + ln.qty
    for ln in ev.data.lines:
        atp = state.atp.get((ev.data.node_id, ln.sku))
        if atp is not None:
            state.atp[(ev.data.node_id, ln.sku)] = (atp[0] + ln.qty, ev.time)


def _invoice(state: State, ev: Event) -> None:
    d = ev.data
    if d.invoice_id in state.invoices:
        state.invoices[d.invoice_id].amount = d.amount
        return
    state.invoices[d.invoice_id] = Invoice(
        invoice_id=d.invoice_id,
        order_id=d.order_id,
        customer_id=d.customer_id,
        amount=d.amount,
        issued_at=ev.time,
        due_date=d.due_date,
    )
    state.invoices_by_customer.setdefault(d.customer_id, []).append(d.invoice_id)
    order = state.orders.get(d.order_id)
    if order is not None:
        order.invoice_ids.append(d.invoice_id)
        _release_open_value(state, order)


def _disputed(state: State, ev: Event) -> None:
    invoice = state.invoices.get(ev.data.invoice_id)
    if invoice is not None and invoice.disputed_at is None:
        invoice.disputed_at = ev.time


def _remittance(state: State, ev: Event) -> None:
    d = ev.data
    refs = d.references
    text = " ".join(refs) if isinstance(refs, list) else (refs or "")
    state.remittances[d.remittance_id] = Remittance(
        remittance_id=d.remittance_id,
        customer_id=d.customer_id,
        amount=d.amount,
        references=text,
        received_at=ev.time,
        deductions=sum(x.amount for x in d.deductions),
    )


def _payment(state: State, ev: Event) -> None:
    d = ev.data
    invoice = state.invoices.get(d.invoice_id)
    if invoice is not None:
        invoice.payments.append((ev.time, d.amount))
    remittance = state.remittances.get(d.remittance_id) if d.remittance_id else None
    if remittance is not None:
        remittance.applied.append((ev.time, d.amount))


def _credit_memo(state: State, ev: Event) -> None:
    d = ev.data
    invoice = state.invoices.get(d.invoice_id) if d.invoice_id else None
    if invoice is None:
        return
    invoice.credits.append((ev.time, d.amount if d.amount is not None else 0.0))
    for rma_id in state.returns_by_order.get(invoice.order_id, ()):
        rma = state.returns[rma_id]
        if rma.credited_at is None:
            rma.credited_at = ev.time


def _return_requested(state: State, ev: Event) -> None:
    d = ev.data
    order = state.orders.get(d.order_id)
    value = 0.0
    for ln in d.lines:
        line = order.lines.get(ln.line_id) if order and ln.line_id else None
        value += ln.qty * line.unit_price if line else 0.0
    state.returns[d.rma_id] = Return(
        rma_id=d.rma_id,
        order_id=d.order_id,
        requested_at=ev.time,
        value=value,
        reasons=tuple(sorted({ln.reason for ln in d.lines if ln.reason})),
    )
    rmas = state.returns_by_order.setdefault(d.order_id, [])
    if d.rma_id not in rmas:
        rmas.append(d.rma_id)


def _return_received(state: State, ev: Event) -> None:
    rma = state.returns.get(ev.data.rma_id)
    if rma is not None and rma.received_at is None:
        rma.received_at = ev.time


def _integration_failed(state: State, ev: Event) -> None:
    d = ev.data
    status = state.integrations.setdefault(d.endpoint, Integration(d.endpoint))
    if status.failing_since is None:
        status.failing_since = ev.time
        status.attempts = 0
    status.attempts = max(status.attempts + 1, int(d.attempt or 0))
    status.last_error = d.error
    status.recovered_at = None


def _integration_recovered(state: State, ev: Event) -> None:
    status = state.integrations.setdefault(ev.data.endpoint, Integration(ev.data.endpoint))
    status.failing_since = None
    status.attempts = 0
    status.recovered_at = ev.time


PROJECTORS: dict[str, Callable[[State, Event], None]] = {
    "customer.upserted": _customer,
    "product.upserted": _product,
    "price.agreed": _price,
    "node.upserted": _node,
    "order.created": _order_created,
    "order.updated": _order_updated,
    "order.cancelled": _order_cancelled,
    "order.held": _order_held,
    "order.released": _order_released,
    "credit.hold_applied": _credit_hold_applied,
    "credit.hold_released": _credit_hold_released,
    "inventory.snapshot": _snapshot,
    "inventory.adjusted": _adjusted,
    "allocation.reserved": _reserved,
    "allocation.failed": _alloc_failed,
    "pick.confirmed": _picked,
    "pick.short": _pick_short,
    "shipment.created": _shipment_created,
    "shipment.dispatched": _dispatched,
    "shipment.delayed": _delayed,
    "shipment.delivered": _delivered,
    "shipment.failed": _failed,
    "carrier.rejected": _carrier_rejected,
    "purchase_order.created": _po_created,
    "purchase_order.delayed": _po_delayed,
    "asn.received": _asn,
    "receipt.posted": _receipt,
    "invoice.issued": _invoice,
    "invoice.disputed": _disputed,
    "remittance.received": _remittance,
    "payment.applied": _payment,
    "credit_memo.issued": _credit_memo,
    "return.requested": _return_requested,
    "return.received": _return_received,
    "integration.failed": _integration_failed,
    "integration.recovered": _integration_recovered,
}


def project(state: State, event: Event) -> None:
    """Fold ``event`` into ``state``; types without a projector change nothing."""
    projector = PROJECTORS.get(event.type)
    if projector is not None:
        projector(state, event)
