"""delivery.discrepancy — goods arrived damaged, short or wrong.

Opens on ``shipment.delivered`` whose ``discrepancies`` include one with a quantity at or
above ``detectors.delivery_discrepancy.min_qty`` (a discrepancy without a quantity counts
as its whole line, or the whole shipment when it names no line). One case per shipment
(key ``shipment_id``, subject the order id); root cause the kinds found (``damaged``,
``short``, ``wrong_item``, joined with ``+``); revenue at risk Σ qty × the line's unit
price. A second delivery report for the same shipment updates the case.

Look-alikes ignored: a delivery with an empty discrepancy list, or whose discrepancies
are all of quantity 0 (or under ``min_qty``), is a clean delivery.

Resolved when, after the discrepancy, a ``credit_memo.issued`` arrives for an invoice of
the order, a ``return.received`` for an RMA of the order, or a replacement shipment of the
order (created after the discrepancy, covering one of its lines when both name lines) is
delivered without discrepancies. Cancelled with its order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

from unsnag.detect.base import Detector, Output, order_impact, refs
from unsnag.events import Event
from unsnag.policy.model import Policy
from unsnag.state.model import Order, Shipment, State

Found = tuple[str, str | None, float | None, float]


class DeliveryDiscrepancy(Detector):
    rule = "delivery-discrepancy"
    case_type = "delivery.discrepancy"
    events = frozenset(
        {"shipment.delivered", "credit_memo.issued", "return.received", "order.cancelled"}
    )
    config_name = "delivery_discrepancy"

    def __init__(self, policy: Policy) -> None:
        super().__init__(policy)
        # order_id -> {shipment_id: (time of the discrepancy, line ids it names)}
        self.memory["open"] = {}

    def observe(self, event: Event, state: State) -> Iterable[Output]:
        d = event.data
        if event.type == "shipment.delivered":
            shipment = state.shipments.get(d.shipment_id)
            if shipment is not None:
                yield from self._delivered(event, state, shipment)
        elif event.type == "credit_memo.issued":
            invoice = state.invoices.get(d.invoice_id) if d.invoice_id else None
            if invoice is not None:
                note = f"credit memo {d.memo_id} issued on invoice {invoice.invoice_id}"
                yield from self._settle(invoice.order_id, event.time, note)
        elif event.type == "return.received":
            rma = state.returns.get(d.rma_id)
            if rma is not None:
                yield from self._settle(rma.order_id, event.time, f"return {d.rma_id} received")
        else:
            self.memory["open"].pop(d.order_id, None)

    def _delivered(self, event: Event, state: State, shipment: Shipment) -> Iterable[Output]:
        order = state.orders.get(shipment.order_id)
        measured = (self._measure(x, shipment, order) for x in event.data.discrepancies)
        found = [x for x in measured if x is not None]
        moment = shipment.delivered_at or event.time
        if not found:
            yield from self._replacement(shipment, moment)
            return
        kinds = sorted({kind for kind, _, _, _ in found})
        line_ids = sorted({line_id for _, line_id, _, _ in found if line_id})
        revenue = sum(value for _, _, _, value in found)
        pairs = list(
            refs(
                order_id=shipment.order_id,
                shipment_id=shipment.shipment_id,
                node_id=shipment.node_id,
            )
        )
        for line_id in line_ids:
            pairs.append(("line_id", line_id))
            line = order.lines.get(line_id) if order else None
            if line is not None:
                pairs.append(("sku", line.sku))
        open_cases: dict[str, dict[str, tuple[datetime, tuple[str, ...]]]] = self.memory["open"]
        open_cases.setdefault(shipment.order_id, {})[shipment.shipment_id] = (
            moment,
            tuple(line_ids),
        )
        impact = order_impact(state, order, line_ids or list(shipment.line_qty))
        yield self.signal(
            shipment.shipment_id,
            shipment.order_id,
            moment,
            refs=tuple(sorted(set(pairs))),
            impact=replace(impact, revenue_at_risk=revenue),
            root_cause="+".join(kinds),
            summary=f"{shipment.shipment_id} delivered with "
            + ", ".join(self._describe(x) for x in found)
            + f" ({revenue:,.2f} at risk)",
        )

    def _measure(self, x: Any, shipment: Shipment, order: Order | None) -> Found | None:
        """(kind, line_id, qty — None for "all of it" —, value at risk), or None if clean."""
        line = order.lines.get(x.line_id) if order and x.line_id else None
        if x.qty is not None:
            if x.qty <= 0 or x.qty < self.cfg.min_qty:
                return None
            return (x.kind, x.line_id, x.qty, x.qty * line.unit_price if line else 0.0)
        if x.line_id is not None:  # no quantity: the whole line
            shipped = shipment.line_qty.get(x.line_id)
            qty = shipped if shipped is not None else (line.qty if line else None)
            value = qty * line.unit_price if line and qty is not None else 0.0
            return (x.kind, x.line_id, qty, value)
        value = 0.0  # neither line nor quantity: the whole shipment
        for line_id, shipped in shipment.line_qty.items():
            ln = order.lines.get(line_id) if order else None
            if ln is not None:
                value += (shipped if shipped is not None else ln.qty) * ln.unit_price
        return (x.kind, None, None, value)

    @staticmethod
    def _describe(found: Found) -> str:
        kind, line_id, qty, _ = found
        kind = kind.replace("_", " ")
        where = f"line {line_id}" if line_id else "the shipment"
        if qty is None:
            return f"{kind} ({where}, all of it)"
        return f"{qty:g} {kind} ({where})"

    def _replacement(self, shipment: Shipment, moment: datetime) -> Iterable[Output]:
        """A clean delivery of a shipment created after a discrepancy of the same order."""
        open_cases = self.memory["open"].get(shipment.order_id)
        if not open_cases:
            return
        lines = set(shipment.line_qty)
        for shipment_id, (since, line_ids) in sorted(open_cases.items()):
            if shipment_id == shipment.shipment_id or shipment.created_at <= since:
                continue
            if lines and line_ids and not lines.intersection(line_ids):
                continue
            del open_cases[shipment_id]
            note = f"replacement {shipment.shipment_id} delivered without discrepancies"
            yield self.clear(shipment_id, moment, note)
        if not open_cases:
            del self.memory["open"][shipment.order_id]

    def _settle(self, order_id: str, moment: datetime, note: str) -> Iterable[Output]:
        open_cases = self.memory["open"].get(order_id)
        if not open_cases:
            return
        for shipment_id, (since, _) in sorted(open_cases.items()):
            if since <= moment:
                del open_cases[shipment_id]
                yield self.clear(shipment_id, moment, note)
        if not open_cases:
            del self.memory["open"][order_id]


DETECTOR = DeliveryDiscrepancy
