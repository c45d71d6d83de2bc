"""The actions a real system would accept from unsnag, and how the twin reacts to them.

Each action is a frozen dataclass named as an imperative command, with an idempotency
``key`` (by default the action's own fields, so the same command twice is the same
key). :meth:`unsnag.twin.flow.Twin.act` decides at once — accepted, or refused with a
reason — and, when accepted, changes the twin's state now and schedules the confirming
canonical events at the current simulated time plus the responding system's latency
(``TwinConfig.latency``, drawn from a random source of its own, so acting is as
deterministic as the rest of the twin). A refused action emits nothing; a key already
accepted returns the first result (``repeated=True``) and changes nothing.

| action | responds | confirming events |
|---|---|---|
| ``ReleaseHold`` | erp | ``credit.hold_released`` (finance), ``order.released``; flow goes on |
| ``Reallocate`` | erp | ``allocation.reserved`` at the new node (the old one ends); a |
| | | short-picked line: the short quantity reserved and picked there |
| ``Reroute`` | tms | ``shipment.created`` (tms), ``shipment.dispatched`` (the new carrier) |
| ``CancelOrder`` | erp | ``order.cancelled`` (duplicates only) |
| ``CorrectPrice`` | erp | ``order.updated`` with the corrected lines (the invoice uses them) |
| ``IssueCreditMemo`` | finance | ``credit_memo.issued`` |
| ``ApplyPayment`` | finance | ``payment.applied`` |
| ``IssueInvoice`` | finance | ``invoice.issued`` (the twin's own invoicing run skips it) |
| ``SendDunning`` | finance | none for the reminder; with :data:`DUNNING_PAYS` the customer |
| | | pays the rest 1-5 days later (``remittance.received``, ``payment.applied``) |
| ``AuthoriseReturn`` | erp | none at once; the goods come back (``return.received``) and |
| | | are credited (``credit_memo.issued``) as any return |
| ``PartialShip`` | erp | a delivery discrepancy: the missing units reshipped |
| | | (``shipment.created``, ``shipment.dispatched``, ``shipment.delivered``) |
| ``RetryInterface`` | its system | ``integration.recovered`` minutes later (a transient outage); |
| | | ``integration.failed`` (a carrier's API down: the replay fails) |
"""

from __future__ import annotations

from dataclasses import astuple, dataclass, replace
from typing import TYPE_CHECKING, Any

from unsnag.twin.emitter import DAY, HOUR, day_text, instant_text

if TYPE_CHECKING:
    from unsnag.twin.flow import Order, Outage, Twin

MIN = 60
DUNNING_PAYS = 0.8
"""Share of reminders after which the customer pays (the rest stay as they were)."""
DUNNING_DAYS = (1, 5)
"""The customer pays this many days (uniform) after a reminder that works."""
RETURN_DAYS = (2, 6)
"""Days from authorising a return until its goods arrive at the DC (as a routine one)."""


@dataclass(frozen=True, kw_only=True)
class _Action:
    key: str = ""
    """Idempotency key; empty means the action's own type and fields."""

    @property
    def idempotency_key(self) -> str:
        return self.key or f"{type(self).__name__}:{astuple(self)[1:]}"


@dataclass(frozen=True, kw_only=True)
class ReleaseHold(_Action):
    order_id: str


@dataclass(frozen=True, kw_only=True)
class Reallocate(_Action):
    order_id: str
    line_id: str
    to_node: str


@dataclass(frozen=True, kw_only=True)
class Reroute(_Action):
    carrier: str
    shipment_id: str = ""
    order_id: str = ""
    """Either the shipment or its order."""


@dataclass(frozen=True, kw_only=True)
class CancelOrder(_Action):
    order_id: str
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class CorrectPrice(_Action):
    order_id: str
    line_id: str
    unit_price: float


@dataclass(frozen=True, kw_only=True)
class IssueCreditMemo(_Action):
    invoice_id: str
    amount: float
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class ApplyPayment(_Action):
    remittance_id: str
    invoice_id: str
    amount: float


@dataclass(frozen=True, kw_only=True)
class IssueInvoice(_Action):
    order_id: str


@dataclass(frozen=True, kw_only=True)
class SendDunning(_Action):
    invoice_id: str


@dataclass(frozen=True, kw_only=True)
class AuthoriseReturn(_Action):
    rma_id: str


@dataclass(frozen=True, kw_only=True)
class PartialShip(_Action):
    order_id: str
    line_id: str
    qty: float
    """Whole units: the reship of a delivery discrepancy, or what was picked."""


@dataclass(frozen=True, kw_only=True)
class RetryInterface(_Action):
    endpoint: str


Action = (
    ReleaseHold
    | Reallocate
    | Reroute
    | CancelOrder
    | CorrectPrice
    | IssueCreditMemo
    | ApplyPayment
    | IssueInvoice
    | SendDunning
    | AuthoriseReturn
    | PartialShip
    | RetryInterface
)


@dataclass(frozen=True)
class ActionResult:
    action: Action
    accepted: bool
    reason: str = ""
    effective_at: int | None = None
    """Epoch second at which the confirming events happen (None when refused)."""
    repeated: bool = False
    """True when the key was accepted before: nothing was done this time."""


class Refused(Exception):
    pass


def perform(twin: Twin, action: Action) -> ActionResult:
    """Decide on ``action`` now; schedule its confirming events when accepted."""
    key = action.idempotency_key
    earlier = twin.action_results.get(key)
    if earlier is not None:
        return replace(earlier, repeated=True)
    try:
        if not twin.actionable:
            raise Refused("the twin was not built actionable")
        when = _perform(twin, action)
    except Refused as refusal:
        return ActionResult(action, False, str(refusal))
    result = ActionResult(action, True, "accepted", when)
    twin.action_results[key] = result
    return result


def _after(twin: Twin, system: str) -> int:
    r = twin.config.latency.get(system)
    lo, hi = (r.min, r.max) if r is not None else (0, 0)
    return twin.sim.now_s + lo + int(twin.action_rng.random() * (hi - lo + 1))


def _draw(twin: Twin, lo: int, hi: int) -> int:
    """Uniform whole seconds in ``[lo, hi]`` from the actions' own random source."""
    return lo + int(twin.action_rng.random() * (hi - lo + 1))


def _in_shift(twin: Twin, t: int) -> int:
    """``t`` inside warehouse hours, else soon after the next shift starts (as
    :meth:`Twin.in_shift`, drawing from the actions' random source)."""
    from unsnag.twin.flow import SHIFT_END, SHIFT_START

    hour = t % DAY // HOUR
    if SHIFT_START <= hour < SHIFT_END:
        return t
    day = t - t % DAY + (DAY if hour >= SHIFT_END else 0)
    return day + SHIFT_START * HOUR + _draw(twin, 0, 2 * HOUR)


def _order(twin: Twin, order_id: str) -> Order:
    o = twin.by_order.get(order_id)
    if o is None:
        raise Refused(f"unknown order {order_id}")
    return o


def _line(o: Order, line_id: str) -> int:
    for i, line in enumerate(o.lines):
        if line["line_id"] == line_id:
            return i
    raise Refused(f"order {o.id} has no line {line_id}")


def _cents(amount: float, what: str) -> int:
    cents = round(amount * 100)
    if cents <= 0:
        raise Refused(f"{what} must be positive")
    return cents


def _perform(twin: Twin, action: Action) -> int:
    match action:
        case ReleaseHold():
            return _release_hold(twin, action)
        case Reallocate():
            return _reallocate(twin, action)
        case Reroute():
            return _reroute(twin, action)
        case CancelOrder():
            return _cancel(twin, action)
        case CorrectPrice():
            return _correct_price(twin, action)
        case IssueCreditMemo():
            return _credit_memo(twin, action)
        case ApplyPayment():
            return _apply_payment(twin, action)
        case IssueInvoice():
            return _issue_invoice(twin, action)
        case SendDunning():
            return _send_dunning(twin, action)
        case AuthoriseReturn():
            return _authorise_return(twin, action)
        case PartialShip():
            return _partial_ship(twin, action)
        case RetryInterface():
            return _retry_interface(twin, action)


def _release_hold(twin: Twin, a: ReleaseHold) -> int:
    o = _order(twin, a.order_id)
    if o.held is None:
        raise Refused(f"order {o.id} is not on credit hold")
    then, o.held = o.held, None
    when = _after(twin, "erp")
    twin.sim.at(when, twin._release, o, then)
    return when


def _reallocate(twin: Twin, a: Reallocate) -> int:
    o = _order(twin, a.order_id)
    i = _line(o, a.line_id)
    line = o.lines[i]
    if o.shipped and i < len(o.shipped) and o.shipped[i] < line["qty"] and not o.delivered:
        return _fill_short(twin, a, o, i)
    if o.shipment_id:
        raise Refused(f"line {a.line_id} of {o.id} already shipped")
    if o.shipped:
        raise Refused(f"line {a.line_id} of {o.id} already picked")
    if a.to_node not in twin.dc_region:
        raise Refused(f"unknown node {a.to_node}")
    node, sku, qty = o.line_nodes.get(i, o.node), line["sku"], line["qty"]
    if node == a.to_node:
        raise Refused(f"line {a.line_id} of {o.id} is already at {a.to_node}")
    source, target = (node, sku), (a.to_node, sku)
    queue = twin.waiting.get(source, [])
    waiting = [entry for entry in queue if entry[0] is o and entry[1] == i]
    if i not in o.reserved and not waiting:
        raise Refused(f"line {a.line_id} of {o.id} is not allocated yet")
    available = twin.on_hand[target] - twin.allocated[target]
    if available < qty:
        raise Refused(f"not enough stock at {a.to_node}: {max(0, available)} < {qty}")
    if waiting:
        still = [entry for entry in queue if entry not in waiting]
        if still:
            twin.waiting[source] = still
        else:
            twin.waiting.pop(source, None)
        if len({w.id for w, _, _ in still}) < 2:
            twin.conflict_open.pop(source, None)
        o.pending -= 1
    else:
        twin.allocated[source] -= qty
    twin.allocated[target] += qty
    o.reserved.add(i)
    o.line_nodes[i] = a.to_node
    go_on = bool(waiting) and not o.pending
    data = {"order_id": o.id, "line_id": a.line_id, "node_id": a.to_node, "qty": qty, "sku": sku}
    when = _after(twin, "erp")
    twin.sim.at(when, _reserved, twin, o, data, target, go_on)
    return when


def _fill_short(twin: Twin, a: Reallocate, o: Order, i: int) -> int:
    """A short-picked line: the missing quantity is reserved and picked at ``to_node``
    (it travels as a separate parcel the twin does not model further)."""
    if a.to_node not in twin.dc_region:
        raise Refused(f"unknown node {a.to_node}")
    line = o.lines[i]
    short, key = line["qty"] - o.shipped[i], (a.to_node, line["sku"])
    if twin.on_hand[key] - twin.allocated[key] < short:
        raise Refused(f"not enough stock at {a.to_node} for the {short} short")
    twin.on_hand[key] -= short
    o.shipped[i] += short
    keys = {"order_id": o.id, "line_id": line["line_id"], "node_id": a.to_node,
            "sku": line["sku"]}  # fmt: skip
    when = _after(twin, "erp")
    twin.sim.at(when, twin.emit, "allocation.reserved", "erp", o.id, {**keys, "qty": short})
    picked = _after(twin, "wms") + HOUR
    twin.sim.at(max(picked, when + 1), twin.emit, "pick.confirmed", f"wms/{a.to_node}", o.id,
                {**keys, "qty_picked": short})  # fmt: skip
    twin.sim.at(when, twin._reorder, key)
    return when


def _reserved(twin: Twin, o: Order, data: dict[str, Any], key: tuple[str, str], go: bool) -> None:
    twin.emit("allocation.reserved", "erp", o.id, data)
    twin._reorder(key)
    if go:
        twin._to_pick(o)


def _reroute(twin: Twin, a: Reroute) -> int:
    if a.shipment_id:
        found = twin.by_shipment.get(a.shipment_id)
        if found is None:
            raise Refused(f"unknown shipment {a.shipment_id}")
        o = found
    else:
        o = _order(twin, a.order_id)
    if not o.shipment_id:
        raise Refused(f"order {o.id} has not shipped yet")
    if o.delivered:
        raise Refused(f"shipment {o.shipment_id} already delivered")
    carrier = next((c for c in twin.carriers if c.id == a.carrier), None)
    if carrier is None:
        raise Refused(f"unknown carrier {a.carrier}")
    if carrier.id == o.carrier:
        raise Refused(f"shipment {o.shipment_id} is already with {carrier.id}")
    o.leg += 1  # the old carrier's scheduled milestones lapse
    o.shipment_id = twin.next_id("SH-", 7)
    o.carrier = carrier.id
    twin.by_shipment[o.shipment_id] = o
    if o.fault == "late_delivery":
        o.fault = None
    when = _after(twin, "tms")
    twin.sim.at(when, _reship, twin, o, o.leg)
    return when


def _reship(twin: Twin, o: Order, leg: int) -> None:
    carrier = next(c for c in twin.carriers if c.id == o.carrier)
    transit = twin.transit_days(o, carrier)
    now = twin.sim.now_s
    o.promise_end = now - now % DAY + transit * DAY + 2 * DAY - 1
    twin.emit_shipment_created(o, carrier)
    delay = HOUR + int(twin.action_rng.random() * 2 * HOUR)
    twin.sim.at(now + delay, twin._dispatch, o, transit, leg)


def _cancel(twin: Twin, a: CancelOrder) -> int:
    if a.order_id in twin.cancelled:
        raise Refused(f"order {a.order_id} is already cancelled")
    original = twin.duplicates.get(a.order_id)
    if original is None:
        _order(twin, a.order_id)
        raise Refused(f"order {a.order_id} is not a duplicate; only duplicates are cancelled")
    twin.cancelled.add(a.order_id)
    data = {"order_id": a.order_id, "reason": a.reason or f"duplicate of {original}"}
    when = _after(twin, "erp")
    twin.sim.at(when, twin.emit, "order.cancelled", "erp", a.order_id, data)
    return when


def _correct_price(twin: Twin, a: CorrectPrice) -> int:
    o = _order(twin, a.order_id)
    i = _line(o, a.line_id)
    cents = _cents(a.unit_price, "unit price")
    if o.invoice_id:
        raise Refused(f"order {o.id} is already invoiced ({o.invoice_id})")
    if o.cents[i] == cents:
        raise Refused(f"line {a.line_id} of {o.id} already has unit price {cents / 100}")
    twin._set_line(o, i, unit_price=cents / 100)
    data = {"order_id": o.id, "lines": list(o.lines)}
    when = _after(twin, "erp")
    twin.sim.at(when, twin.emit, "order.updated", "erp", o.id, data)
    return when


def _credit_memo(twin: Twin, a: IssueCreditMemo) -> int:
    o = twin.by_invoice.get(a.invoice_id)
    if o is None:
        raise Refused(f"unknown invoice {a.invoice_id}")
    cents = _cents(a.amount, "amount")
    open_cents = o.amount - twin.credited.get(a.invoice_id, 0)
    if cents > open_cents:
        raise Refused(
            f"{cents / 100} exceeds what {a.invoice_id} leaves to credit ({open_cents / 100})"
        )
    twin.credited[a.invoice_id] = twin.credited.get(a.invoice_id, 0) + cents
    data: dict[str, Any] = {
        "memo_id": twin.next_id("CM-", 7),
        "invoice_id": a.invoice_id,
        "amount": cents / 100,
    }
    if a.reason:
        data["reason"] = a.reason
    when = _after(twin, "finance")
    twin.sim.at(when, twin.emit, "credit_memo.issued", "finance", o.id, data)
    return when


def _apply_payment(twin: Twin, a: ApplyPayment) -> int:
    remittance = twin.remittances.get(a.remittance_id)
    if remittance is None:
        raise Refused(f"unknown remittance {a.remittance_id}")
    o = twin.by_invoice.get(a.invoice_id)
    if o is None:
        raise Refused(f"unknown invoice {a.invoice_id}")
    cents = _cents(a.amount, "amount")
    left = remittance[1] - remittance[2]
    if left <= 0:
        raise Refused(f"remittance {a.remittance_id} is already applied")
    if cents > left:
        raise Refused(f"{cents / 100} exceeds what {a.remittance_id} has unapplied ({left / 100})")
    remittance[2] += cents
    data = {"invoice_id": a.invoice_id, "amount": cents / 100, "remittance_id": a.remittance_id}
    when = _after(twin, "finance")
    twin.sim.at(when, twin.emit, "payment.applied", "finance", o.id, data)
    return when


def _issue_invoice(twin: Twin, a: IssueInvoice) -> int:
    """Bill a shipped order now; its own invoicing run (after the delivery) then skips it."""
    o = _order(twin, a.order_id)
    if o.invoice_id:
        raise Refused(f"order {o.id} is already invoiced ({o.invoice_id})")
    if o.invoice_asked:
        raise Refused(f"order {o.id} is being invoiced already")
    if not o.shipment_id:
        raise Refused(f"order {o.id} has not shipped yet")
    o.invoice_asked = True
    when = _after(twin, "finance")
    twin.sim.at(when, twin._invoice, o, True)
    return when


def _send_dunning(twin: Twin, a: SendDunning) -> int:
    """A reminder on an overdue invoice: with :data:`DUNNING_PAYS` the customer pays what
    is left :data:`DUNNING_DAYS` later through the twin's cash path; a later payment
    scheduled before then pays only what is still open (never twice)."""
    o = twin.by_invoice.get(a.invoice_id)
    if o is None:
        raise Refused(f"unknown invoice {a.invoice_id}")
    left = o.amount - twin.credited.get(a.invoice_id, 0) - o.paid
    if left <= 0:
        raise Refused(f"invoice {a.invoice_id} is paid")
    if twin.sim.now_s <= o.due:
        raise Refused(f"invoice {a.invoice_id} is not overdue (due {day_text(o.due)})")
    when = _after(twin, "finance")
    if not o.dunned and twin.action_rng.random() < DUNNING_PAYS:
        o.dunned = True  # an earlier reminder that worked has the payment coming already
        lo, hi = DUNNING_DAYS
        twin.sim.at(when + _draw(twin, lo * DAY, hi * DAY), twin._remit, o, left)
    return when


def _authorise_return(twin: Twin, a: AuthoriseReturn) -> int:
    """A return waiting for authorisation goes ahead: the customer sends the goods, they
    arrive :data:`RETURN_DAYS` later (``return.received``) and are credited as any
    return is (``credit_memo.issued`` within the credit deadline)."""
    rma = twin.rmas.get(a.rma_id)
    if rma is None:
        raise Refused(f"unknown return {a.rma_id}")
    if rma.status == "received":
        raise Refused(f"return {a.rma_id} was received already")
    if rma.status == "authorised":
        raise Refused(f"return {a.rma_id} is authorised already")
    rma.status = "authorised"
    when = _after(twin, "erp")
    lo, hi = RETURN_DAYS
    delay = rma.delay or _draw(twin, lo * DAY, hi * DAY)
    back = _in_shift(twin, when + delay)
    twin.sim.at(back, twin._return_received, rma.order, a.rma_id, rma.line, rma.qty, rma.kind)
    return when


def _units(qty: float) -> int:
    units = round(qty)
    if units <= 0 or abs(qty - units) > 1e-6:
        raise Refused(f"qty must be a positive whole number, not {qty:g}")
    return units


def _partial_ship(twin: Twin, a: PartialShip) -> int:
    """The units a delivery discrepancy left missing (damaged or short) reshipped from
    the line's DC; or, on a line picked and not delivered yet (a short pick), what was
    picked — which the twin ships anyway. An order not picked yet ships whole: refused."""
    o = _order(twin, a.order_id)
    i = _line(o, a.line_id)
    qty = _units(a.qty)
    if o.delivered:
        return _reship_missing(twin, o, i, qty)
    picked = o.shipped[i] if i < len(o.shipped) else None
    if picked is None:
        raise Refused(f"order {o.id} is not picked yet; the twin ships an order whole")
    if qty > picked:
        raise Refused(f"line {a.line_id} of {o.id} has only {picked} picked, not {qty}")
    return _after(twin, "erp")  # what was picked ships with the order's shipment


def _reship_missing(twin: Twin, o: Order, i: int, qty: int) -> int:
    line = o.lines[i]
    missing = o.missing.get(i, 0)
    if not missing:
        raise Refused(f"line {line['line_id']} of {o.id} has nothing missing to reship")
    if qty > missing:
        raise Refused(f"{qty} exceeds the {missing} missing on line {line['line_id']} of {o.id}")
    node = o.line_nodes.get(i, o.node)
    key = (node, line["sku"])
    available = twin.on_hand[key] - twin.allocated[key]
    if available < qty:
        raise Refused(f"not enough stock at {node}: {max(0, available)} < {qty}")
    twin.on_hand[key] -= qty  # reserved and picked for the replacement
    o.missing[i] = missing - qty
    when = _after(twin, "erp")
    twin.sim.at(when, twin._reorder, key)
    packed = _in_shift(twin, when + _draw(twin, HOUR, 6 * HOUR)) + _draw(twin, 10 * MIN, HOUR)
    shipment = twin.next_id("SH-", 7)
    twin.sim.at(packed, _replacement, twin, o, shipment, node, i, qty)
    return packed


def _replacement(twin: Twin, o: Order, shipment: str, node: str, i: int, qty: int) -> None:
    """TMS plans the replacement with the order's carrier; dispatch hours later."""
    carrier = next(c for c in twin.carriers if c.id == o.carrier)
    same_region = twin.dc_region[node] == o.customer.region
    transit = carrier.transit_days + (0 if same_region else carrier.extra_days_other_region)
    now = twin.sim.now_s
    promise = now + 5 * HOUR + transit * DAY + 6 * HOUR + DAY
    twin.emit(
        "shipment.created",
        "tms",
        o.id,
        {
            "shipment_id": shipment,
            "order_id": o.id,
            "node_id": node,
            "carrier": carrier.id,
            "service": carrier.service,
            "lines": [{"line_id": o.lines[i]["line_id"], "qty": qty}],
            "promised_delivery_date": day_text(promise - promise % DAY + DAY - 1),
        },
    )
    twin.sim.at(now + _draw(twin, HOUR, 5 * HOUR), _replacement_out, twin, o, shipment, transit)


def _replacement_out(twin: Twin, o: Order, shipment: str, transit: int) -> None:
    now = twin.sim.now_s
    eta = now + transit * DAY + _draw(twin, 0, 6 * HOUR)
    tracking = f"1Z{_draw(twin, 10**11, 10**12 - 1)}"
    data = {"shipment_id": shipment, "tracking_number": tracking, "eta": instant_text(eta)}
    twin._milestone(o, "shipment.dispatched", data)
    delivered = max(now + HOUR, eta - _draw(twin, 0, 2 * HOUR))
    twin.sim.at(delivered, _replacement_delivered, twin, o, shipment)


def _replacement_delivered(twin: Twin, o: Order, shipment: str) -> None:
    twin._milestone(
        o,
        "shipment.delivered",
        {
            "shipment_id": shipment,
            "delivered_at": instant_text(twin.sim.now_s),
            "pod": f"signed {o.customer.name.split()[0].upper()} RCV",
            "discrepancies": [],
        },
    )


def _retry_interface(twin: Twin, a: RetryInterface) -> int:
    """Replay a failing endpoint's messages. A transient outage (an ERP or EDI interface
    hiccup) recovers minutes later and its remaining failures lapse; a carrier's tracking
    API down at the carrier is not transient: the replay fails too, and the endpoint
    recovers on its own schedule."""
    from unsnag.twin.flow import ENDPOINTS

    outage = twin.outages.get(a.endpoint)
    now = twin.sim.now_s
    if outage is None:
        tracking = {twin._track(c.id) for c in twin.carriers}
        if a.endpoint not in ENDPOINTS and a.endpoint not in tracking:
            raise Refused(f"unknown endpoint {a.endpoint}")
        raise Refused(f"{a.endpoint} is not failing")
    if outage.cut is not None or not outage.start <= now < outage.recovered:
        raise Refused(f"{a.endpoint} is not failing")
    if outage.kind == "carrier":
        when = _after(twin, outage.source)
        twin.sim.at(when, _replay_failed, twin, a.endpoint, outage)
        return when
    when = _after(twin, outage.source) + _draw(twin, MIN, 5 * MIN)
    if when >= outage.recovered:
        return outage.recovered  # it comes back by itself first
    outage.cut = when
    data = {"endpoint": a.endpoint}
    twin.sim.at(when, twin.emit, "integration.recovered", outage.source, a.endpoint, data)
    return when


def _replay_failed(twin: Twin, endpoint: str, outage: Outage) -> None:
    if twin.sim.now_s >= outage.recovered:
        return  # back up meanwhile: the replay went through
    twin.emit(
        "integration.failed",
        outage.source,
        endpoint,
        {
            "endpoint": endpoint,
            "operation": f"{outage.operation} /{endpoint.split('/')[1]} (replay)",
            "error": "HTTP 503 Service Unavailable",
            "payload_ref": f"batch-{_draw(twin, 1, 99_999_999):08d}",
        },
    )
