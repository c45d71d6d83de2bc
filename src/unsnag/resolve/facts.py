"""The facts a playbook's ``gather`` step records on a case, by group, as people read them.

Groups (``GatherStep.facts``): order, customer, stock, inbound, substitutes, shipment,
invoice, payments, remittance, returns, interface, carrier_lane. Each reads only what the
case touches (its refs, its order), through the state's indexes. An unknown group, or a
group with nothing on file, yields a fact saying so: gathering never raises.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from unsnag.cases.desk import Case
from unsnag.resolve.options._carriers import lane_facts
from unsnag.resolve.options._common import as_of, day, money, num, order_of, refs
from unsnag.resolve.options._stock import inbound as open_pos
from unsnag.resolve.options._stock import other_nodes, stock_at
from unsnag.state.model import Invoice, Order, Shipment, State, StockView

MAX_ITEMS = 5
"""At most this many records per group (a conflict names many orders)."""

Group = Callable[[Case, State], list[str]]


def gather(groups: Sequence[str], case: Case, state: State) -> list[str]:
    """The facts of ``groups`` for ``case``, in group order, each fact once."""
    found: list[str] = []
    for name in groups:
        group = GROUPS.get(name)
        if group is None:
            facts = [f"no fact group named {name!r} (known: {', '.join(GROUPS)})"]
        else:
            facts = group(case, state) or [f"{name}: nothing on file for {case.subject}"]
        found.extend(f for f in facts if f not in found)
    return found


# --- what the case touches ------------------------------------------------------------


def _orders(case: Case, state: State) -> list[Order]:
    ids = [*refs(case, "order_id"), case.subject]
    found = [o for i in dict.fromkeys(ids) if (o := state.orders.get(i)) is not None]
    return found[:MAX_ITEMS]


def _stock_keys(case: Case, state: State) -> list[tuple[str, str]]:
    """(node, SKU) pairs: the case's own, else its order lines'."""
    nodes, skus = refs(case, "node_id"), refs(case, "sku")
    if nodes and skus:
        return [(n, s) for n in nodes for s in skus][:MAX_ITEMS]
    order = order_of(case, state)
    pairs: dict[tuple[str, str], None] = {}
    for line in order.lines.values() if order else ():
        if line.node_id is not None:
            pairs[(line.node_id, line.sku)] = None
    return list(pairs)[:MAX_ITEMS]


def _skus(case: Case, state: State) -> list[str]:
    skus = refs(case, "sku")
    if not skus:
        order = order_of(case, state)
        skus = sorted({ln.sku for ln in order.lines.values()}) if order else []
    return skus[:MAX_ITEMS]


def _shipments(case: Case, state: State) -> list[Shipment]:
    ids = refs(case, "shipment_id")
    for order in _orders(case, state):
        ids.extend(order.shipment_ids)
    found = [s for i in dict.fromkeys(ids) if (s := state.shipments.get(i)) is not None]
    return found[:MAX_ITEMS]


def _invoices(case: Case, state: State) -> list[Invoice]:
    ids = refs(case, "invoice_id")
    if case.key in state.invoices:
        ids.append(case.key)
    for order in _orders(case, state):
        ids.extend(order.invoice_ids)
    found = [v for i in dict.fromkeys(ids) if (v := state.invoices.get(i)) is not None]
    return found[:MAX_ITEMS]


def _customer_id(case: Case, state: State) -> str | None:
    if case.impact.customer_id:
        return case.impact.customer_id
    ids = refs(case, "customer_id")
    if ids:
        return ids[0]
    orders = _orders(case, state)
    return orders[0].customer_id if orders else None


def _count(n: int, what: str) -> str:
    return f"{n} {what}" + ("" if n == 1 else "s")


# --- the groups -----------------------------------------------------------------------


def order_facts(case: Case, state: State) -> list[str]:
    out = []
    for o in _orders(case, state):
        holds = f", holds {', '.join(sorted(o.holds))}" if o.holds else ""
        out.append(
            f"order {o.order_id} for {o.customer_id}: {_count(len(o.lines), 'line')}, "
            f"{money(o.value)}"
            f" {o.currency or ''}".rstrip()
            + f", status {o.status}, channel {o.channel or 'unknown'}, PO "
            f"{o.po_number or 'none'}, promise {day(o.promise)}{holds}"
        )
    return out


def customer_facts(case: Case, state: State) -> list[str]:
    customer_id = _customer_id(case, state)
    customer = state.customers.get(customer_id) if customer_id else None
    if customer is None:
        return [f"customer {customer_id or '(none)'} unknown: no customer.upserted seen"]
    open_ = state.open_invoices_of(customer.customer_id)
    limit = money(customer.credit_limit) if customer.credit_limit else "none"
    terms = f"{num(customer.terms_days)} d" if customer.terms_days is not None else "unknown"
    return [
        f"customer {customer.customer_id} {customer.name or ''}".rstrip()
        + f": tier {customer.tier}, credit limit {limit}, terms {terms}, open orders "
        f"{money(customer.open_order_value)}, {_count(len(open_), 'open invoice')} "
        f"{money(sum(i.balance() for i in open_))}"
    ]


def _view(name: str, view: StockView | None) -> str:
    if view is None:
        return f"no {name} view"
    extra = f", available {num(view.available)}" if view.available is not None else ""
    return f"{name} on hand {num(view.on_hand)}{extra} ({view.as_of:%Y-%m-%d %H:%M}Z)"


def stock_facts(case: Case, state: State) -> list[str]:
    now = as_of(case)
    out = []
    for node, sku in _stock_keys(case, state):
        views = state.stock.get((node, sku), {})
        out.append(
            f"{sku} at {node}: {_view('ERP', views.get('erp'))}; {_view('WMS', views.get('wms'))}"
        )
        elsewhere = [
            s for s in other_nodes(state, sku, node, now) if s.erp is not None or s.wms is not None
        ]
        if elsewhere:
            shown = "; ".join(f"{s.node_id} {s.views()}" for s in elsewhere[:MAX_ITEMS])
            out.append(f"{sku} elsewhere: {shown}")
    return out


def inbound_facts(case: Case, state: State) -> list[str]:
    out = []
    po_id = case.key if case.key in state.purchase_orders else None
    for po_ref in [*refs(case, "po_id"), *([po_id] if po_id else [])]:
        po = state.purchase_orders.get(po_ref)
        if po is not None:
            lines = ", ".join(
                f"{num(q)} {sku} (ASN {num(po.asn_qty.get(sku, 0))}, received "
                f"{num(po.received.get(sku, 0))})"
                for sku, q in sorted(po.lines.items())
            )
            out.append(f"{po.po_id} from {po.supplier_id or '?'} to {po.node_id}: {lines}")
    if out:
        return list(dict.fromkeys(out))
    for sku in _skus(case, state):
        out.extend(item.describe(sku) for item in open_pos(state, sku)[:MAX_ITEMS])
    return out


def substitute_facts(case: Case, state: State) -> list[str]:
    now = as_of(case)
    nodes = dict(_stock_keys(case, state))
    out = []
    for sku in _skus(case, state):
        product = state.products.get(sku)
        if product is None or not product.substitutes:
            out.append(f"{sku}: no substitutes listed")
            continue
        node = next((n for n, s in nodes.items() if s == sku), None)
        for sub in product.substitutes[:MAX_ITEMS]:
            where = f": {stock_at(state, node, sub, now).views()} at {node}" if node else ""
            out.append(f"{sub} substitutes {sku}{where}")
    return out


def shipment_facts(case: Case, state: State) -> list[str]:
    out = []
    for s in _shipments(case, state):
        eta = f", ETA {s.eta:%Y-%m-%d %H:%M}Z" if s.eta else ""
        out.append(
            f"shipment {s.shipment_id} of {s.order_id} from {s.node_id or '?'}: "
            f"{s.carrier or 'carrier ?'} {s.service or ''}".rstrip()
            + f", {s.status}{eta}, promised {day(s.promised_delivery_date)}"
        )
    return out


def invoice_facts(case: Case, state: State) -> list[str]:
    out = []
    for v in _invoices(case, state):
        disputed = f", disputed {day(v.disputed_at)}" if v.disputed_at else ""
        out.append(
            f"invoice {v.invoice_id} of {v.order_id}: {money(v.amount)}, balance "
            f"{money(v.balance())}, issued {day(v.issued_at)}, due {day(v.due_date)}{disputed}"
        )
    return out


def payment_facts(case: Case, state: State) -> list[str]:
    out = []
    for v in _invoices(case, state):
        paid = "; ".join(f"{money(a)} on {day(t)}" for t, a in v.payments) or "nothing paid"
        credited = "; ".join(f"{money(a)} on {day(t)}" for t, a in v.credits)
        out.append(f"{v.invoice_id}: {paid}" + (f"; credited {credited}" if credited else ""))
    return out


def remittance_facts(case: Case, state: State) -> list[str]:
    ids = [*refs(case, "remittance_id"), case.key]
    out = []
    for rid in dict.fromkeys(ids):
        r = state.remittances.get(rid)
        if r is not None:
            out.append(
                f"remittance {r.remittance_id} from {r.customer_id or 'unknown payer'} "
                f"{day(r.received_at)}: {money(r.amount)}, deductions {money(r.deductions)}, "
                f"applied {money(r.applied_total)}, references '{r.references}'"
            )
    return out


def return_facts(case: Case, state: State) -> list[str]:
    ids = refs(case, "rma_id")
    for order in _orders(case, state):
        ids.extend(state.returns_by_order.get(order.order_id, ()))
    out = []
    for rma_id in list(dict.fromkeys(ids))[:MAX_ITEMS]:
        r = state.returns.get(rma_id)
        if r is not None:
            out.append(
                f"return {r.rma_id} of {r.order_id}: {money(r.value)}, reasons "
                f"{', '.join(r.reasons) or 'none'}, requested {day(r.requested_at)}, received "
                f"{day(r.received_at)}, credited {day(r.credited_at)}"
            )
    return out


def interface_facts(case: Case, state: State) -> list[str]:
    out = []
    for endpoint in dict.fromkeys([*refs(case, "endpoint")]):
        i = state.integrations.get(endpoint)
        if i is not None:
            since = f"failing since {day(i.failing_since)}" if i.failing_since else "up"
            out.append(
                f"interface {endpoint}: {since}, {i.attempts} attempts, last error "
                f"'{i.last_error or 'none'}'"
            )
    failing = sorted(e for e, i in state.integrations.items() if i.failing_since is not None)
    out.append(f"interfaces failing now: {', '.join(failing) or 'none'}")
    return out


def carrier_lane_facts(case: Case, state: State) -> list[str]:
    nodes = refs(case, "node_id") or [s.node_id for s in _shipments(case, state) if s.node_id]
    return [lane_facts(state, node) for node in list(dict.fromkeys(nodes))[:MAX_ITEMS]]


GROUPS: dict[str, Group] = {
    "order": order_facts,
    "customer": customer_facts,
    "stock": stock_facts,
    "inbound": inbound_facts,
    "substitutes": substitute_facts,
    "shipment": shipment_facts,
    "invoice": invoice_facts,
    "payments": payment_facts,
    "remittance": remittance_facts,
    "returns": return_facts,
    "interface": interface_facts,
    "carrier_lane": carrier_lane_facts,
}
