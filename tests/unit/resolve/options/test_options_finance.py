"""Unapplied cash, invoice holds, pending returns and overdue payments."""

import pytest
from options_support import (
    actions,
    delivered,
    first,
    invoice,
    options_for,
    remittance,
    shipment,
)

from builders import at, customer, ev, master, order, policy_with, product
from unsnag.resolve.options.cash_unapplied import (
    WRITE_OFF_THRESHOLD,
    candidate_confidence,
    near_typo,
)


def cash(*events):
    return options_for("cash_unapplied", [*master(), *events], "cash.unapplied")[0]


# --- cash.unapplied: short pay ------------------------------------------------------------


def test_a_short_pay_under_the_threshold_is_written_off():
    options = cash(order(), invoice(amount=100.0), remittance("R-1", 90.0, "INV-1"))
    write_off = options[0]
    assert write_off.action == "write_off"
    assert write_off.params == {"invoice_id": "INV-1", "amount": 10.0}
    assert write_off.amount == 10.0
    assert write_off.confidence == 0.9
    assert f"write-off threshold {WRITE_OFF_THRESHOLD:,.2f}" in " ".join(write_off.facts)


def test_a_short_pay_over_the_threshold_opens_a_deduction_not_a_write_off():
    options = cash(order(), invoice(amount=1000.0), remittance("R-1", 900.0, "INV-1"))
    assert "write_off" not in actions(options)
    deduction = options[0]
    assert deduction.action == "open_deduction"
    assert deduction.params["remittance_id"] == "R-1"
    assert deduction.params["amount"] == 100.0
    assert deduction.confidence == 0.8
    apply = first(options, "apply_payment")
    assert apply.params == {"remittance_id": "R-1", "invoice_id": "INV-1", "amount": 900.0}


def test_a_short_pay_the_contract_explains_is_credited():
    agreed = ev(
        "price.agreed",
        {"customer_id": "C1", "sku": "BRG-6204", "unit_price": 90.0},
        when=at(-40),
    )
    options = cash(
        product(cost=50.0, price=120.0),
        agreed,
        order(lines=[("1", "BRG-6204", 10, 100.0)]),
        invoice(amount=1000.0),
        remittance("R-1", 900.0, "INV-1"),
    )
    credit = options[0]
    assert credit.action == "issue_credit_memo"
    assert credit.params["amount"] == 100.0
    assert credit.confidence == 0.85
    assert "SO-1 was priced 100.00 over contract" in credit.facts


# --- cash.unapplied: over pay and no match ------------------------------------------------


def test_an_over_pay_applies_the_balance_and_asks_about_the_excess():
    options = cash(order(), invoice(amount=100.0), remittance("R-1", 130.0, "INV-1"))
    apply = options[0]
    assert apply.action == "apply_payment"
    assert apply.params["amount"] == 100.0
    assert apply.confidence == 0.8
    assert "30.00 over" in first(options, "notify", to="cash_application").params["subject"]


def test_a_remittance_matching_two_invoices_by_amount_asks_the_customer_first():
    options = cash(
        order(),
        order("SO-2"),
        invoice("INV-1", amount=100.0),
        invoice("INV-2", "SO-2", amount=100.0, when=at(days=2)),
        remittance("R-1", 100.0, "see attached"),
    )
    assert options[0].action == "request_info"
    applies = [o for o in options if o.action == "apply_payment"]
    assert [o.params["invoice_id"] for o in applies] == ["INV-1", "INV-2"]
    assert {o.confidence for o in applies} == {0.45}


def test_a_reference_one_typo_away_with_a_close_amount_is_a_likely_match():
    options = cash(
        order(),
        invoice("INV-1234", amount=1240.0),
        remittance("R-1", 1230.0, "INV-1243"),
    )
    apply = options[0]
    assert apply.action == "apply_payment"
    assert apply.params["invoice_id"] == "INV-1234"
    assert apply.params["amount"] == 1230.0
    assert apply.confidence == 0.6


def test_a_remittance_nothing_resembles_asks_the_customer():
    options = cash(order(), invoice(amount=100.0), remittance("R-1", 5000.0, "INV-8888"))
    assert actions(options) == ["request_info", "notify"]
    assert "which invoices does R-1 (5,000.00) pay?" in options[0].params["question"]


def test_a_payer_without_a_customer_id_goes_to_cash_application():
    options = cash(order(), invoice(amount=100.0), remittance("R-1", 5000.0, "???", cid=None))
    assert actions(options) == ["notify"]
    assert "payer unknown" in " ".join(options[0].facts)


def test_cash_for_a_shipped_order_never_invoiced_proposes_the_invoice():
    dispatched = ev("shipment.dispatched", {"shipment_id": "SH-1"}, when=at(hours=4))
    options = cash(
        order(),
        shipment("SH-1", "SO-1"),
        dispatched,
        remittance("R-1", 100.0, "SO-1"),
    )
    bill = first(options, "issue_invoice")
    assert bill.params == {"order_id": "SO-1"}
    assert bill.confidence == 0.6


@pytest.mark.parametrize(
    ("a", "b", "near"),
    [
        ("1243", "1234", True),
        ("1235", "1234", True),
        ("1234", "1234", False),
        ("4321", "1234", False),
        ("123", "1234", False),
    ],
)
def test_a_near_reference_is_one_changed_digit_or_one_swap(a, b, near):
    assert near_typo(a, b) is near


@pytest.mark.parametrize(
    ("exact", "unique", "near_ref", "near_amount", "confidence"),
    [
        (True, True, True, True, 0.9),
        (True, True, False, True, 0.8),
        (True, False, False, True, 0.45),
        (False, False, True, True, 0.6),
        (False, False, True, False, 0.45),
        (False, False, False, True, 0.4),
        (False, False, False, False, 0.0),
    ],
)
def test_match_confidence_grows_with_the_evidence(exact, unique, near_ref, near_amount, confidence):
    assert candidate_confidence(exact, unique, near_ref, near_amount) == confidence


# --- invoice.hold -------------------------------------------------------------------------


def hold(*events, until=None):
    return options_for("invoice_hold", [*master(), *events], "invoice.hold", until=until)[0]


def disputed(amount, inv="INV-1"):
    data = {"invoice_id": inv, "amount_disputed": amount, "reason": "price"}
    return ev("invoice.disputed", data, when=at(days=2))


def test_an_order_delivered_and_not_invoiced_is_invoiced():
    options = hold(
        order(),
        shipment("SH-1", "SO-1"),
        ev("shipment.dispatched", {"shipment_id": "SH-1"}, when=at(hours=3)),
        delivered("SH-1", []),
        until=at(days=5),
    )
    bill = options[0]
    assert bill.action == "issue_invoice"
    assert bill.params == {"order_id": "SO-1"}
    assert bill.confidence == 0.9
    assert bill.amount == 100.0


def test_a_dispute_the_contract_explains_is_credited():
    agreed = ev(
        "price.agreed", {"customer_id": "C1", "sku": "BRG-6204", "unit_price": 9.0}, when=at(-40)
    )
    options = hold(agreed, order(), invoice(amount=100.0), disputed(10.0))
    credit = options[0]
    assert credit.action == "issue_credit_memo"
    assert credit.params == {"invoice_id": "INV-1", "amount": 10.0, "reason": "dispute"}
    assert credit.confidence == 0.85


def test_a_large_unexplained_dispute_asks_for_proof_first():
    options = hold(order(), invoice(amount=100.0), disputed(60.0))
    assert options[0].action == "request_info"
    assert first(options, "issue_credit_memo").confidence == 0.4


def test_a_dispute_matching_a_return_is_credited():
    rma = ev(
        "return.requested",
        {
            "rma_id": "RMA-1",
            "order_id": "SO-1",
            "lines": [{"line_id": "1", "sku": "BRG-6204", "qty": 3, "reason": "unwanted"}],
        },
        when=at(days=1, hours=12),
    )
    options = hold(order(), invoice(amount=100.0), rma, disputed(30.0))
    assert first(options, "issue_credit_memo").confidence == 0.8


# --- return.pending -----------------------------------------------------------------------


def returned(reason, qty=2, *events):
    request = ev(
        "return.requested",
        {
            "rma_id": "RMA-1",
            "order_id": "SO-1",
            "lines": [{"line_id": "1", "sku": "BRG-6204", "qty": qty, "reason": reason}],
        },
        when=at(days=3),
    )
    return [*master(), *events, request]


def pending(events, until=None):
    return options_for("return_pending", events, "return.pending", until=until)[0]


DELIVERED = (order(), shipment("SH-1", "SO-1"), delivered("SH-1", []))


def test_a_damaged_return_is_authorised():
    options = pending(returned("damaged", 2, *DELIVERED))
    assert options[0].action == "authorise_return"
    assert options[0].params["rma_id"] == "RMA-1"
    assert options[0].confidence == 0.85
    assert options[0].amount == 20.0


def test_an_unwanted_return_over_the_limit_is_looked_at():
    big = order(lines=[("1", "BRG-6204", 100, 10.0)])
    options = pending(
        returned("unwanted", 60, big, shipment("SH-1", "SO-1"), delivered("SH-1", []))
    )
    assert first(options, "authorise_return").confidence == 0.6
    assert "request_info" in actions(options)


def test_a_return_of_goods_never_delivered_is_doubtful():
    options = pending(returned("damaged", 2, order()))
    assert first(options, "authorise_return").confidence == 0.2


def test_goods_back_without_a_credit_are_credited():
    received = ev(
        "return.received",
        {"rma_id": "RMA-1", "node_id": "dc-east", "lines": [{"sku": "BRG-6204", "qty": 2}]},
        when=at(days=4),
    )
    events = [*returned("unwanted", 2, *DELIVERED), invoice(when=at(days=2)), received]
    options = pending(events, until=at(days=10))
    credit = options[0]
    assert credit.action == "issue_credit_memo"
    assert credit.params == {"invoice_id": "INV-1", "amount": 20.0, "reason": "return RMA-1"}
    assert credit.confidence == 0.9


# --- payment.overdue ----------------------------------------------------------------------


def overdue(*events, until):
    return options_for(
        "payment_overdue",
        [customer(), product(), order(), *events],
        "payment.overdue",
        until=until,
    )[0]


def test_a_fresh_overdue_invoice_gets_a_reminder():
    options = overdue(invoice(due=at(days=30)), until=at(days=36))
    assert options[0].action == "send_dunning"
    assert options[0].params == {"invoice_id": "INV-1"}
    assert options[0].confidence == 0.9
    assert options[0].amount == 100.0


def test_an_invoice_long_overdue_goes_to_collections_to_call():
    policy = policy_with(payment_overdue={"grace_days": 45})
    options = options_for(
        "payment_overdue",
        [customer(), product(), order(), invoice(due=at(days=30))],
        "payment.overdue",
        policy,
        until=at(days=80),
    )[0]
    call = options[0]
    assert call.action == "notify"
    assert call.params["to"] == "collections"
    assert call.params["subject"] == "INV-1 (100.00, 45 d late): call the customer"
    assert call.confidence == 0.7
    assert first(options, "send_dunning").confidence == 0.6


def test_a_disputed_invoice_is_not_dunned_before_the_dispute_is_settled():
    dispute = ev("invoice.disputed", {"invoice_id": "INV-1"}, when=at(days=10))
    options = overdue(invoice(due=at(days=30)), dispute, until=at(days=36))
    assert options[0].params["to"] == "billing"
    assert first(options, "send_dunning").confidence == 0.2
