"""Pricing, credit hold, master data and duplicate orders."""

import pytest
from options_support import actions, first, invoice, options_for, shipment

from builders import at, customer, ev, master, order, product


def agreed(price, sku="BRG-6204", cid="C1"):
    data = {"customer_id": cid, "sku": sku, "unit_price": price}
    return ev("price.agreed", data, when=at(-40))


def pricing(*events):
    return options_for("pricing", list(events), "pricing.mismatch")[0]


# --- pricing.mismatch ---------------------------------------------------------------------


def test_a_line_off_contract_is_corrected_to_the_contract_price():
    options = pricing(*master(), agreed(9.0), order())
    fix = options[0]
    assert fix.action == "correct_price"
    assert fix.params == {"order_id": "SO-1", "line_id": "1", "unit_price": 9.0}
    assert fix.confidence == 0.95
    assert fix.amount == pytest.approx(10.0)  # 1.00 on 10 units
    assert not fix.below_margin_floor


def test_a_contract_price_under_the_margin_floor_is_flagged_for_pricing():
    options = pricing(customer(), product(cost=8.9), agreed(9.0), order())
    fix = first(options, "correct_price")
    assert fix.below_margin_floor
    assert fix.confidence == 0.8
    assert "still under the margin floor" in fix.summary


def test_without_a_contract_a_deep_discount_goes_to_the_lowest_allowed_price():
    options = pricing(*master(), order(lines=[("1", "BRG-6204", 10, 5.0)]))
    fix = first(options, "correct_price")
    assert fix.params["unit_price"] == 6.5  # list 10.00 less the 35 % maximum discount
    assert fix.confidence == 0.6
    assert fix.effect.revenue_protected == pytest.approx(15.0)
    assert "notify" in actions(options)


def test_a_margin_under_floor_without_contract_is_raised_to_the_floor_price():
    options = pricing(customer(), product(cost=9.9, price=10.0), order())
    fix = first(options, "correct_price")
    assert fix.params["unit_price"] == 10.21  # 9.90 / (1 - 3 %), rounded up to the cent
    assert fix.confidence == 0.5


def test_a_contract_that_itself_sells_under_floor_is_not_overridden():
    options = pricing(customer(), product(cost=9.9, price=12.0), agreed(10.0), order())
    assert "correct_price" not in actions(options)
    assert options[0].params["to"] == "pricing"
    assert "under the margin floor" in options[0].params["subject"]


# --- credit.hold --------------------------------------------------------------------------


def held(*events, until=None):
    hold = ev("order.held", {"order_id": "SO-1", "hold_code": "credit"}, when=at(hours=1))
    return options_for("credit_hold", [*events, hold], "credit.hold", until=until or at(hours=3))[0]


def test_exposure_within_the_limit_and_nothing_overdue_proposes_a_release():
    options = held(customer(credit_limit=1000.0), product(), order())
    release = options[0]
    assert release.action == "release_hold"
    assert release.confidence == 0.9
    assert release.amount == 100.0
    assert release.summary == "release SO-1 (100.00): exposure 10 % of limit, no invoice overdue"


def test_an_overdue_invoice_makes_the_release_conditional_and_proposes_dunning():
    events = [
        customer(credit_limit=1000.0),
        product(),
        order("SO-0", when=at(days=-40)),
        invoice("INV-0", "SO-0", 250.0, due=at(days=-5), when=at(days=-35)),
        order(),
    ]
    options = held(*events)
    release = first(options, "release_hold")
    assert release.confidence == pytest.approx(0.5)
    assert "once INV-0 (250.00, 5 d overdue) is paid" in release.summary
    dunning = first(options, "send_dunning")
    assert dunning.params == {"invoice_id": "INV-0"}
    assert options[0] == dunning


def test_exposure_over_the_limit_goes_to_finance_first():
    options = held(customer(credit_limit=50.0), product(), order())
    assert options[0].action == "notify"
    assert options[0].params["to"] == "finance"
    assert first(options, "release_hold").confidence == 0.15
    assert "exposure 200 % of limit" in options[0].params["subject"]


def test_without_a_credit_limit_the_release_cannot_be_scored():
    options = held(*master(), order())
    assert first(options, "release_hold").confidence == 0.4
    assert "no limit on file" in first(options, "release_hold").summary


def test_a_habitually_late_payer_lowers_the_confidence():
    history = []
    for n in range(4):
        oid, inv = f"SO-0{n}", f"INV-0{n}"
        history += [
            order(oid, when=at(days=-60)),
            invoice(inv, oid, 10.0, due=at(days=-40), when=at(days=-59)),
            ev("payment.applied", {"invoice_id": inv, "amount": 10.0}, when=at(days=-30)),
        ]
    options = held(customer(credit_limit=10_000.0), product(), *history, order())
    release = first(options, "release_hold")
    assert release.confidence == pytest.approx(0.8)
    assert "0 of 4 invoices paid on time" in release.summary


# --- master_data.invalid ------------------------------------------------------------------


def invalid(check, *events):
    fail = ev("order.validation_failed", {"order_id": "SO-1", "check": check}, when=at(hours=1))
    return options_for("master_data", [*master(), *events, fail], "master_data.invalid")[0]


def test_a_missing_postal_code_is_asked_of_the_customer():
    partial = {"name": "Acme", "line1": "1 Main St", "city": "Springfield", "country": "US"}
    options = invalid("address", order(ship_to=partial))
    ask = options[0]
    assert ask.action == "request_info"
    assert ask.params["party"] == "customer"
    assert "ship_to.postal_code" in ask.params["question"]
    assert ask.confidence == 0.75
    assert first(options, "fix_master_data").params["fields"] == ["ship_to.postal_code"]


def test_a_tax_set_up_problem_with_a_complete_address_is_fixed_internally():
    options = invalid("tax", order())
    assert options[0].action == "fix_master_data"
    assert options[0].confidence == 0.6


# --- order.duplicate ----------------------------------------------------------------------


def duplicate(*events):
    return options_for("duplicate", [*master(), *events], "order.duplicate")[0]


def test_the_same_po_and_lines_cancel_the_later_order_with_high_confidence():
    options = duplicate(order(po_number="PO-9"), order("SO-2", po_number="PO-9", when=at(1)))
    cancel = options[0]
    assert cancel.action == "cancel_order"
    assert cancel.params["order_id"] == "SO-2"
    assert cancel.confidence == 0.95
    assert cancel.amount == 100.0
    assert "same PO PO-9" in cancel.facts
    assert "orders of C1 under PO PO-9: SO-1, SO-2" in cancel.facts


def test_a_double_entry_without_po_is_less_certain():
    options = duplicate(
        order(po_number="", channel="portal"),
        order("SO-2", po_number="", channel="portal", when=at(minutes=10)),
    )
    assert first(options, "cancel_order").confidence == 0.8


def test_lines_changed_since_lower_the_confidence_and_ask_the_customer_first():
    change = ev(
        "order.updated",
        {
            "order_id": "SO-2",
            "lines": [{"line_id": "1", "sku": "BRG-6204", "qty": 12, "unit_price": 10.0}],
        },
        when=at(2),
    )
    options = duplicate(
        order(po_number="PO-9"), order("SO-2", po_number="PO-9", when=at(1)), change
    )
    assert options[0].action == "request_info"
    assert first(options, "cancel_order").confidence == 0.35
    assert any(fact.startswith("lines differ now") for fact in options[0].facts)


def test_a_different_price_or_ship_to_lowers_the_confidence():
    other_ship_to = {
        "name": "Acme",
        "line1": "9 Elm St",
        "city": "Springfield",
        "postal_code": "62702",
        "country": "US",
    }
    options = duplicate(
        order(po_number="PO-9"),
        order(
            "SO-2",
            po_number="PO-9",
            when=at(1),
            ship_to=other_ship_to,
            lines=[("1", "BRG-6204", 10, 9.5)],
        ),
    )
    assert first(options, "cancel_order").confidence == pytest.approx(0.75)


def test_a_duplicate_already_shipped_is_not_simply_cancelled():
    options = duplicate(
        order(po_number="PO-9"),
        order("SO-2", po_number="PO-9", when=at(1)),
        shipment("SH-2", "SO-2", when=at(2)),
    )
    assert first(options, "cancel_order").confidence == 0.2
    assert options[0].action == "request_info"
