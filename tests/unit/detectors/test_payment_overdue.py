from builders import at, cases_of, ev, iso, master, order, policy_with, run

DUE = at(days=30)  # 2026-06-03T08:00:00Z
FIRES = at(days=35)  # due date + 5 days of grace
LATER = at(days=60)  # run() advances to the last event; the grace timer needs time to pass


def invoice(amount=100.0, due=DUE, inv="INV-1", when=None):
    data = {"invoice_id": inv, "order_id": "SO-1", "customer_id": "C1", "amount": amount}
    if due is not None:
        data["due_date"] = due if isinstance(due, str) else iso(due)
    return ev("invoice.issued", data, when=when or at(days=1))


def payment(amount=100.0, when=None, inv="INV-1"):
    return ev("payment.applied", {"invoice_id": inv, "amount": amount}, when=when or at(days=10))


def credit_memo(amount=100.0, when=None):
    data = {"memo_id": "CM-1", "invoice_id": "INV-1", "amount": amount}
    return ev("credit_memo.issued", data, when=when or at(days=10))


def disputed(when):
    return ev("invoice.disputed", {"invoice_id": "INV-1", "reason": "price"}, when=when)


def overdue(events, policy=None, until=LATER):
    return cases_of(run([*master(), order(), *events], policy, until), "payment.overdue")


# --- positives ----------------------------------------------------------------------


def test_an_invoice_unpaid_past_due_plus_grace_opens_a_case_at_that_moment():
    [case] = overdue([invoice()])
    assert case["subject"] == "SO-1"
    assert case["key"] == "INV-1"
    assert case["refs"] == {"customer_id": "C1", "invoice_id": "INV-1", "order_id": "SO-1"}
    assert case["root_cause"] == "overdue"
    assert case["opened_at"] == iso(FIRES)
    assert case["revenue_at_risk"] == 100.0
    assert case["customer_id"] == "C1"
    assert case["owner_team"] == "collections"
    assert case["status"] == "open"
    assert case["summary"] == "INV-1 unpaid 5 days past due 2026-06-03: 100.00 of 100.00 open"


def test_a_partial_payment_leaves_the_rest_at_risk():
    [case] = overdue([invoice(), payment(60.0)])
    assert case["revenue_at_risk"] == 40.0


def test_a_payment_after_the_grace_does_not_count_as_in_time():
    [case] = overdue([invoice(), payment(when=FIRES + (at(minutes=1) - at()))])
    assert case["opened_at"] == iso(FIRES)


def test_an_invoice_disputed_before_the_grace_ends_is_overdue_disputed():
    [case] = overdue([invoice(), disputed(at(days=31))])
    assert case["root_cause"] == "overdue_disputed"
    assert case["summary"].endswith("(disputed)")


def test_a_dispute_after_the_case_opened_does_not_change_its_cause():
    [case] = overdue([invoice(), disputed(at(days=36))])
    assert case["root_cause"] == "overdue"


def test_a_calendar_due_date_means_the_end_of_that_day():
    [case] = overdue([invoice(due="2026-06-03")])
    assert case["opened_at"] == "2026-06-08T23:59:59Z"


def test_the_grace_comes_from_the_policy():
    [case] = overdue([invoice()], policy_with(payment_overdue={"grace_days": 0}))
    assert case["opened_at"] == iso(DUE)
    assert "unpaid 0 days past due" in case["summary"]


def test_an_invoice_sent_twice_opens_one_case():
    [case] = overdue([invoice(), invoice(when=at(days=1, hours=1))])
    assert case["signals"] == 1


# --- look-alikes --------------------------------------------------------------------


def test_an_invoice_paid_exactly_at_due_date_plus_grace_is_not_overdue():
    assert overdue([invoice(), payment(when=FIRES)]) == []


def test_an_invoice_paid_in_full_early_is_not_overdue():
    assert overdue([invoice(), payment(when=at(days=2))]) == []


def test_a_partial_payment_leaving_no_more_than_the_tolerance_is_not_overdue():
    assert overdue([invoice(), payment(99.995)]) == []


def test_an_invoice_credited_in_full_in_time_is_not_overdue():
    assert overdue([invoice(), credit_memo()]) == []


def test_an_invoice_without_a_due_date_is_never_overdue():
    assert overdue([invoice(due=None)]) == []


def test_the_timer_waits_for_the_grace_to_pass():
    assert overdue([invoice()], until=at(days=34)) == []


def test_an_invoice_of_an_order_cancelled_before_the_grace_ends_is_not_chased():
    cancel = ev("order.cancelled", {"order_id": "SO-1", "reason": "customer"}, when=at(days=20))
    assert overdue([invoice(), cancel]) == []


# --- resolution ---------------------------------------------------------------------


def test_a_payment_after_the_grace_shows_the_case_opened_then_resolved_at_the_payment():
    [case] = overdue([invoice(), payment(when=at(days=40))])
    assert case["opened_at"] == iso(FIRES)
    assert case["status"] == "resolved"
    assert case["closed_at"] == iso(at(days=40))
    assert case["resolution"] == "paid"


def test_payments_that_only_together_settle_resolve_at_the_last_one():
    [case] = overdue([invoice(), payment(50.0, when=at(days=38)), payment(50.0, when=at(days=41))])
    assert case["closed_at"] == iso(at(days=41))


def test_a_credit_memo_settling_the_invoice_resolves_the_case():
    [case] = overdue([invoice(), credit_memo(when=at(days=40))])
    assert case["status"] == "resolved"
    assert case["resolution"] == "settled by credit memo"


def test_a_payment_arriving_while_the_case_is_open_resolves_it():
    engine = run([*master(), order(), invoice()], until=at(days=36))
    engine.step(payment(when=at(days=37)))
    [case] = cases_of(engine, "payment.overdue")
    assert case["status"] == "resolved"
    assert case["closed_at"] == iso(at(days=37))


def test_a_partial_payment_while_open_keeps_the_case_open():
    engine = run([*master(), order(), invoice()], until=at(days=36))
    engine.step(payment(50.0, when=at(days=37)))
    [case] = cases_of(engine, "payment.overdue")
    assert case["status"] == "open"


def test_cancelling_the_order_after_the_case_opened_cancels_it():
    cancel = ev("order.cancelled", {"order_id": "SO-1", "reason": "customer"}, when=at(days=40))
    [case] = overdue([invoice(), cancel])
    assert case["status"] == "cancelled"
    assert case["closed_at"] == iso(at(days=40))


def test_live_and_replay_tell_the_same_story():
    events = [
        *master(),
        order(),
        invoice(),
        payment(50.0, when=at(days=38)),
        payment(50.0, when=at(days=41)),
    ]
    engine = run([], until=None)
    for event in events:
        engine.step(event)
        engine.advance()  # live: timers fire as the watermark moves
    engine.advance(LATER)
    live = cases_of(engine, "payment.overdue")
    assert live == cases_of(run(events, until=LATER), "payment.overdue")
    assert live[0]["status"] == "resolved"
