from builders import at, cases_of, ev, iso, master, order, policy_with, run

LATER = at(days=30)  # run() advances to the last event; the invoice timer needs time to pass
DELIVERED = at(days=2)  # 2026-05-06T08:00:00Z
DEADLINE = at(days=4)  # delivery + 48 h


def shipment(sid="SH-1", line_qty=10, when=None):
    data = {
        "shipment_id": sid,
        "order_id": "SO-1",
        "node_id": "dc-east",
        "carrier": "ups",
        "lines": [{"line_id": "1", "qty": line_qty}],
    }
    return ev("shipment.created", data, when=when or at(hours=2))


def dispatched(when=None, sid="SH-1"):
    return ev("shipment.dispatched", {"shipment_id": sid}, when=when or at(hours=4))


def delivered(when=DELIVERED, sid="SH-1"):
    return ev("shipment.delivered", {"shipment_id": sid}, when=when)


def invoice(when, inv="INV-1", amount=100.0):
    data = {"invoice_id": inv, "order_id": "SO-1", "customer_id": "C1", "amount": amount}
    return ev("invoice.issued", data, when=when)


def disputed(amount=None, reason="price", when=None):
    data = {"invoice_id": "INV-1", "reason": reason}
    if amount is not None:
        data["amount_disputed"] = amount
    return ev("invoice.disputed", data, when=when or at(days=5))


def payment(amount, when):
    return ev("payment.applied", {"invoice_id": "INV-1", "amount": amount}, when=when)


def credit_memo(amount, when):
    data = {"memo_id": "CM-1", "invoice_id": "INV-1", "amount": amount, "reason": "price"}
    return ev("credit_memo.issued", data, when=when)


def shipped():
    return [*master(), order(), shipment(), dispatched(), delivered()]


def holds(events, policy=None, until=LATER):
    return cases_of(run(events, policy, until), "invoice.hold")


# --- shipped but not invoiced: positives ------------------------------------------


def test_a_delivered_order_not_invoiced_within_the_window_opens_a_case_at_the_deadline():
    [case] = holds(shipped())
    assert case["subject"] == "SO-1"
    assert case["key"] == "SO-1"
    assert case["root_cause"] == "not_invoiced"
    assert case["opened_at"] == iso(DEADLINE)
    assert case["refs"] == {"customer_id": "C1", "order_id": "SO-1", "shipment_id": "SH-1"}
    assert case["revenue_at_risk"] == 100.0
    assert case["customer_id"] == "C1"
    assert case["owner_team"] == "billing"
    assert case["status"] == "open"
    assert case["summary"] == "shipment SH-1 delivered 2026-05-06 08:00Z, no invoice within 48 h"


def test_a_shipment_never_delivered_is_not_a_billing_case():
    assert holds([*master(), order(), shipment(), dispatched()]) == []


def test_a_long_transit_invoiced_soon_after_delivery_is_not_a_billing_case():
    events = [*master(), order(), shipment(), dispatched(), delivered(when=at(days=5))]
    assert holds([*events, invoice(at(days=5, hours=6))]) == []


def test_the_clock_starts_at_delivery_however_long_the_transit():
    events = [*master(), order(), shipment(), dispatched(), delivered(when=at(days=5))]
    [case] = holds(events)
    assert case["opened_at"] == iso(at(days=7))
    assert "delivered" in case["summary"]


def test_the_window_comes_from_the_policy():
    events = [*master(), order(), shipment(), dispatched(), delivered(at(hours=20))]
    [case] = holds(events, policy_with(invoice_hold={"invoice_within_hours": 24}))
    assert case["opened_at"] == iso(at(hours=44))


def test_a_second_shipment_of_the_uninvoiced_order_does_not_open_a_second_case():
    events = [
        *shipped(),
        shipment("SH-2", when=at(days=1)),
        dispatched(at(days=1), "SH-2"),
        delivered(at(days=3), "SH-2"),
    ]
    [case] = holds(events)
    assert case["refs"]["shipment_id"] == "SH-1"


# --- shipped but not invoiced: look-alikes ----------------------------------------


def test_an_order_invoiced_within_the_window_opens_nothing():
    assert holds([*shipped(), invoice(at(days=3))]) == []


def test_an_order_invoiced_exactly_at_the_deadline_opens_nothing():
    assert holds([*shipped(), invoice(DEADLINE)]) == []


def test_an_order_invoiced_before_it_shipped_opens_nothing():
    events = [*master(), order(), invoice(at(hours=1)), shipment(), dispatched(), delivered()]
    assert holds(events) == []


def test_the_window_runs_from_delivery_when_delivered_in_time():
    # more than 48 h after the dispatch, but within 48 h of the delivery
    assert holds([*shipped(), invoice(at(days=3, hours=12))]) == []


def test_the_timer_waits_for_the_window_to_pass():
    assert holds(shipped(), until=at(days=3)) == []


def test_an_order_cancelled_before_the_deadline_is_not_chased():
    cancel = ev("order.cancelled", {"order_id": "SO-1", "reason": "customer"}, when=at(days=3))
    assert holds([*shipped(), cancel]) == []


def test_a_shipment_of_an_unknown_order_is_ignored():
    assert holds([*master(), shipment(), dispatched(), delivered()]) == []


# --- shipped but not invoiced: resolution -----------------------------------------


def test_a_late_invoice_shows_the_case_opened_at_the_deadline_then_resolved():
    [case] = holds([*shipped(), invoice(at(days=6))])
    assert case["opened_at"] == iso(DEADLINE)
    assert case["status"] == "resolved"
    assert case["closed_at"] == iso(at(days=6))
    assert case["resolution"] == "invoiced (INV-1)"


def test_an_invoice_arriving_while_the_case_is_open_resolves_it():
    engine = run(shipped(), until=at(days=5))
    engine.step(invoice(at(days=6)))
    [case] = cases_of(engine, "invoice.hold")
    assert case["status"] == "resolved"
    assert case["closed_at"] == iso(at(days=6))


def test_cancelling_the_order_after_the_deadline_cancels_the_case():
    cancel = ev("order.cancelled", {"order_id": "SO-1", "reason": "customer"}, when=at(days=6))
    [case] = holds([*shipped(), cancel])
    assert case["status"] == "cancelled"
    assert case["closed_at"] == iso(at(days=6))


def test_live_and_replay_tell_the_same_story():
    events = [
        *master(),
        order(),
        shipment(),
        dispatched(),
        delivered(at(days=5)),
        invoice(at(days=8)),
    ]
    engine = run([], until=None)
    for event in events:
        engine.step(event)
        engine.advance()  # live: timers fire as the watermark moves
    engine.advance(LATER)
    live = cases_of(engine, "invoice.hold")
    assert live == holds(events)
    assert [(c["opened_at"], c["closed_at"]) for c in live] == [(iso(at(days=7)), iso(at(days=8)))]


# --- disputed ---------------------------------------------------------------------


def invoiced():
    return [*shipped(), invoice(at(days=3))]


def test_a_disputed_invoice_opens_a_case_on_its_order_keyed_by_the_invoice():
    [case] = holds([*invoiced(), disputed(40.0)])
    assert case["subject"] == "SO-1"
    assert case["key"] == "INV-1"
    assert case["root_cause"] == "disputed"
    assert case["opened_at"] == iso(at(days=5))
    assert case["refs"] == {"customer_id": "C1", "invoice_id": "INV-1", "order_id": "SO-1"}
    assert case["revenue_at_risk"] == 40.0
    assert case["customer_id"] == "C1"
    assert case["summary"] == "invoice INV-1 disputed: 40.00 of 100.00 (price)"


def test_a_dispute_without_an_amount_puts_the_whole_invoice_at_risk():
    [case] = holds([*invoiced(), disputed()])
    assert case["revenue_at_risk"] == 100.0


def test_a_repeat_dispute_updates_the_open_case():
    [case] = holds([*invoiced(), disputed(40.0), disputed(40.0, when=at(days=6))])
    assert case["signals"] == 2


def test_a_dispute_of_an_unknown_invoice_still_opens_on_the_invoice():
    [case] = holds([*master(), disputed(40.0)])
    assert case["subject"] == "INV-1"
    assert case["revenue_at_risk"] == 40.0


def test_a_credit_memo_for_the_disputed_amount_resolves_the_dispute():
    [case] = holds([*invoiced(), disputed(40.0), credit_memo(40.0, at(days=7))])
    assert case["status"] == "resolved"
    assert case["closed_at"] == iso(at(days=7))
    assert case["resolution"] == "disputed amount credited"


def test_a_smaller_credit_memo_leaves_the_dispute_open():
    [case] = holds([*invoiced(), disputed(40.0), credit_memo(10.0, at(days=7))])
    assert case["status"] == "open"


def test_paying_the_invoice_in_full_resolves_the_dispute():
    events = [*invoiced(), disputed(40.0), payment(60.0, at(days=7)), payment(40.0, at(days=8))]
    [case] = holds(events)
    assert case["status"] == "resolved"
    assert case["closed_at"] == iso(at(days=8))
    assert case["resolution"] == "paid"


def test_a_credit_memo_before_the_dispute_does_not_settle_it():
    events = [*invoiced(), credit_memo(40.0, at(days=4)), disputed(40.0), payment(10.0, at(days=7))]
    [case] = holds(events)
    assert case["status"] == "open"


def test_a_dispute_and_a_late_invoice_are_two_problems():
    events = [*shipped(), invoice(at(days=6)), disputed(40.0, when=at(days=7))]
    cases = holds(events)
    assert sorted(c["root_cause"] for c in cases) == ["disputed", "not_invoiced"]
