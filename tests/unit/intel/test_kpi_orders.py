"""The order-cycle KPIs on hand-made orders, every expected figure computed by hand."""

from __future__ import annotations

from datetime import date

import pytest
from test_kpi_support import at, event, frames, order

from unsnag.intel import kpi


def shipment(sid: str, oid: str, created, promised: str, qty: float, carrier: str = "ups"):
    return event("shipment.created", created, oid, "tms", shipment_id=sid, order_id=oid,
                 node_id="dc-east", carrier=carrier, promised_delivery_date=promised,
                 lines=[{"line_id": "1", "qty": qty}])  # fmt: skip


def dispatched(sid: str, oid: str, when):
    return event("shipment.dispatched", when, oid, "carrier", shipment_id=sid)


def delivered(sid: str, oid: str, when, discrepancies=()):
    return event("shipment.delivered", when, oid, "carrier", shipment_id=sid,
                 delivered_at=when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                 discrepancies=list(discrepancies))  # fmt: skip


def invoice(iid: str, oid: str, when, amount: float, customer: str):
    return event("invoice.issued", when, oid, "finance", invoice_id=iid, order_id=oid,
                 customer_id=customer, amount=amount)  # fmt: skip


def paid(iid: str, oid: str, when, amount: float, kind: str = "payment.applied"):
    return event(kind, when, oid, "finance", invoice_id=iid, amount=amount)


EVENTS = [
    # O1 (A): shipped after 10 h, delivered 48 h later before its promise, invoiced,
    # settled by two payments 10 days after the invoice: perfect
    order("O1", at(1), "A", [("S", 10)]),
    shipment("SH1", "O1", at(1, 9), "2026-05-04", 10),
    dispatched("SH1", "O1", at(1, 10)),
    delivered("SH1", "O1", at(3, 10)),
    invoice("I1", "O1", at(3, 12), 100, "A"),
    paid("I1", "O1", at(10), 60),
    paid("I1", "O1", at(13, 12), 40),
    # O2 (A): shipped after 6 h, delivered 120 h later, after the promise: late
    order("O2", at(1, 6), "A", [("S", 5)]),
    shipment("SH2", "O2", at(1, 11), "2026-05-04", 5),
    dispatched("SH2", "O2", at(1, 12)),
    delivered("SH2", "O2", at(6, 12)),
    invoice("I2", "O2", at(6, 13), 200, "A"),
    # O3 (B): on time but damaged, and its invoice disputed
    order("O3", at(2), "B", [("S", 1)]),
    shipment("SH3", "O3", at(2, 1), "2026-05-05", 1),
    dispatched("SH3", "O3", at(2, 2)),
    delivered("SH3", "O3", at(4), [{"line_id": "1", "kind": "damaged", "qty": 1}]),
    invoice("I3", "O3", at(4, 1), 50, "B"),
    event("invoice.disputed", at(5), "O3", "finance", invoice_id="I3", reason="damaged"),
    # O4 (B): on time, clean, but 3 of 4 delivered: incomplete; credited in full
    order("O4", at(2), "B", [("S", 4)]),
    shipment("SH4", "O4", at(2, 3), "2026-05-06", 3),
    dispatched("SH4", "O4", at(2, 4)),
    delivered("SH4", "O4", at(3)),
    invoice("I4", "O4", at(4), 80, "B"),
    paid("I4", "O4", at(8), 80, "credit_memo.issued"),
    # O5 (B): cancelled before shipping
    order("O5", at(2), "B", [("S", 1)]),
    event("order.cancelled", at(2, 1), "O5", "erp", order_id="O5"),
]

WEEK = kpi.Period.days(date(2026, 5, 1), date(2026, 5, 7))
FORTNIGHT = kpi.Period.days(date(2026, 5, 1), date(2026, 5, 14))


def test_order_to_ship_and_ship_to_deliver_are_medians_of_the_orders_that_got_there():
    values = kpi.summary(frames([], EVENTS), WEEK)
    assert values["order_to_ship_p50_h"] == pytest.approx(5.0)  # of 10, 6, 2, 4 h
    assert values["ship_to_deliver_p50_h"] == pytest.approx(47.0)  # of 48, 120, 46, 20 h


def test_perfect_order_rate_counts_only_orders_delivered_complete_on_time_clean_and_billed():
    orders = frames([], EVENTS).orders.sort("order_id")
    assert orders["perfect"].to_list() == [True, False, False, False, False]
    assert orders["on_time"].to_list() == [True, False, True, True, False]
    assert orders["complete"].to_list() == [True, True, False, False, False]
    values = kpi.summary(frames([], EVENTS), WEEK)
    assert values["perfect_order_rate"] == pytest.approx(0.25)  # O1 of O1..O4 delivered


def test_invoice_to_cash_and_dso():
    values = kpi.summary(frames([], EVENTS), FORTNIGHT)
    # settled in the fortnight: I1 after 10 days, I4 (by its credit memo) after 4
    assert values["invoice_to_cash_p50_d"] == pytest.approx(7.0)
    # open at the end: I2 200 + I3 50 of 430 invoiced, over 14 days
    assert values["dso_days"] == pytest.approx(round(250 / 430 * 14, 1))


def test_dso_counts_payments_only_up_to_the_period_end():
    values = kpi.summary(frames([], EVENTS), WEEK)
    # by 05-08: I1 unpaid 100, I2 200, I3 50; I4 credited on 05-08 00:00 is after the end
    assert values["dso_days"] == pytest.approx(round(430 / 430 * 7, 1))


def test_order_kpis_slice_by_customer():
    table = kpi.compute(frames([], EVENTS), WEEK, by="customer")
    rows = {row["customer"]: row for row in table.iter_rows(named=True)}
    assert rows["A"]["perfect_order_rate"] == pytest.approx(0.5)
    assert rows["B"]["perfect_order_rate"] == pytest.approx(0.0)
    assert rows["A"]["orders"] == 2
    assert rows["B"]["orders"] == 3
    assert rows["B"]["order_to_ship_p50_h"] == pytest.approx(3.0)  # 2 and 4 h
