"""invoice.hold — shipped but not invoiced in time, or an invoice disputed.

Two ways in:

- *Disputed* (key: the invoice id; subject: its order id): ``invoice.disputed`` opens at
  once, root_cause ``disputed`` (the reason in the summary); at risk: ``amount_disputed``
  or else the invoice amount. A repeat dispute of the same invoice updates the case.
  Resolved when payments or credit memos settle it: the invoice balance falls within
  ``detectors.invoice_hold.balance_tolerance``, or credit memos issued since the
  dispute reach the disputed amount.
- *Not invoiced* (key and subject: the order id): ``shipment.delivered`` sets a timer at
  the delivery (proof of delivery) plus ``invoice_within_hours``. The clock starts at
  the delivery, not the dispatch: a long transit is not a billing delay, and a shipment
  that never arrives is shipment.delay's or shipment.failed's case. When it fires, the
  case opens at the timer's time, root_cause ``not_invoiced``, if no invoice of the
  order was issued by then (judged on the invoices' event times); later shipments of the
  same order while it is still uninvoiced add nothing. At risk: the shipped lines'
  value. Resolved by the order's first ``invoice.issued``: an invoice that came after
  the deadline shows the case opened at the deadline and resolved at the invoice's time.

Look-alikes it deliberately ignores: an order invoiced within the window (even before it
shipped); a shipment in transit longer than the window and invoiced soon after delivery;
a shipment whose order was cancelled by the deadline, or is
unknown. Cancelled with the order.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from unsnag.detect.base import Detector, Impact, Output, Timer, order_impact, refs
from unsnag.events import Event
from unsnag.policy.model import Policy
from unsnag.state.model import Invoice, Order, Shipment, State


class InvoiceHold(Detector):
    rule = "invoice-hold"
    case_type = "invoice.hold"
    events = frozenset(
        {
            "shipment.delivered",
            "invoice.issued",
            "invoice.disputed",
            "payment.applied",
            "credit_memo.issued",
        }
    )
    config_name = "invoice_hold"

    def __init__(self, policy: Policy) -> None:
        super().__init__(policy)
        self.memory["disputes"] = {}  # invoice id -> (disputed at, amount disputed), while open
        self.memory["late"] = {}  # order id -> deadline its not-invoiced case was opened at

    def observe(self, event: Event, state: State) -> Iterable[Output]:
        d = event.data
        if event.type == "shipment.delivered":
            shipment = state.shipments.get(d.shipment_id)
            if shipment is not None:
                yield self._shipped(event, shipment)
        elif event.type == "invoice.issued":
            if d.order_id in self.memory["late"]:
                yield self.clear(d.order_id, event.time, f"invoiced ({d.invoice_id})")
        elif event.type == "invoice.disputed":
            yield from self._disputed(event, state)
        elif d.invoice_id in self.memory["disputes"]:  # payment.applied, credit_memo.issued
            yield from self._settled(event, state.invoices.get(d.invoice_id))

    # --- shipped but not invoiced -------------------------------------------------------

    def _shipped(self, event: Event, shipment: Shipment) -> Timer:
        start = shipment.delivered_at or event.time
        deadline = start + timedelta(hours=self.cfg.invoice_within_hours)
        return self.timer(deadline, shipment.order_id, shipment.shipment_id, start)

    def fire(self, timer: Timer, state: State) -> Iterable[Output]:
        order_id = timer.key
        shipment_id, start = timer.data
        order = state.orders.get(order_id)
        if order is None:
            return
        if order_id in self.memory["late"]:
            return  # the same lapse, already reported by an earlier shipment's timer
        cancelled = order.cancelled_at
        if cancelled is not None and cancelled <= timer.at:
            return
        issued = _first_invoice(state, order)
        if issued is not None and issued.issued_at <= timer.at:
            return  # invoiced in time
        self.memory["late"][order_id] = timer.at
        hours = self.cfg.invoice_within_hours
        yield self.signal(
            order_id,
            order_id,
            timer.at,
            refs=refs(order_id=order_id, shipment_id=shipment_id, customer_id=order.customer_id),
            impact=_shipped_impact(state, order),
            root_cause="not_invoiced",
            summary=(
                f"shipment {shipment_id} delivered {start:%Y-%m-%d %H:%M}Z, "
                f"no invoice within {hours:g} h"
            ),
        )
        if issued is not None and (cancelled is None or issued.issued_at <= cancelled):
            yield self.clear(order_id, issued.issued_at, f"invoiced ({issued.invoice_id})")
        elif cancelled is not None:
            yield self.clear(order_id, cancelled, "order cancelled", status="cancelled")

    # --- disputed -----------------------------------------------------------------------

    def _disputed(self, event: Event, state: State) -> Iterable[Output]:
        d = event.data
        invoice = state.invoices.get(d.invoice_id)
        amount = d.amount_disputed
        if amount is None:
            amount = invoice.amount if invoice is not None else 0.0
        disputes: dict[str, tuple[datetime, float]] = self.memory["disputes"]
        since = disputes[d.invoice_id][0] if d.invoice_id in disputes else event.time
        disputes[d.invoice_id] = (since, amount)
        subject = invoice.order_id if invoice is not None else d.invoice_id
        customer_id = invoice.customer_id if invoice is not None else None
        of_total = f" of {invoice.amount:,.2f}" if invoice is not None else ""
        summary = f"invoice {d.invoice_id} disputed: {amount:,.2f}{of_total}"
        if d.reason:
            summary += f" ({d.reason})"
        yield self.signal(
            d.invoice_id,
            subject,
            event.time,
            refs=refs(
                invoice_id=d.invoice_id,
                order_id=invoice.order_id if invoice is not None else None,
                customer_id=customer_id,
            ),
            impact=Impact(revenue_at_risk=amount, customer_id=customer_id),
            root_cause="disputed",
            summary=summary,
        )

    def _settled(self, event: Event, invoice: Invoice | None) -> Iterable[Output]:
        if invoice is None:
            return
        since, amount = self.memory["disputes"][invoice.invoice_id]
        tol = self.cfg.balance_tolerance
        credited = sum(a for t, a in invoice.credits if t >= since)
        if invoice.balance() <= tol:
            reason = "paid" if event.type == "payment.applied" else "settled by credit memo"
        elif credited >= amount - tol:
            reason = "disputed amount credited"
        else:
            return
        del self.memory["disputes"][invoice.invoice_id]
        yield self.clear(invoice.invoice_id, event.time, reason)


def _first_invoice(state: State, order: Order) -> Invoice | None:
    invoices = [state.invoices[i] for i in order.invoice_ids if i in state.invoices]
    return min(invoices, key=lambda inv: (inv.issued_at, inv.invoice_id), default=None)


def _shipped_impact(state: State, order: Order) -> Impact:
    shipped = [line.line_id for line in order.lines.values() if line.shipped > 0]
    impact = order_impact(state, order, shipped or None)
    return Impact(revenue_at_risk=impact.revenue_at_risk, customer_id=order.customer_id)


DETECTOR = InvoiceHold
