"""Shipment failures and delays, delivery discrepancies and ASN discrepancies."""

import pytest
from options_support import (
    actions,
    both,
    delivered,
    first,
    invoice,
    lane_history,
    options_for,
    purchase_order,
    shipment,
)

from builders import at, ev, master, order, product

# --- shipment.failed ----------------------------------------------------------------------


def rejected(reason="capacity", carrier="ups"):
    data = {"shipment_id": "SH-1", "carrier": carrier, "reason": reason}
    return ev("carrier.rejected", data, when=at(hours=3))


def failed(reason):
    return ev("shipment.failed", {"shipment_id": "SH-1", "reason": reason}, when=at(days=2))


def failure(*events):
    base = [*master(), order(), *events]
    return options_for("shipment_failed", base, "shipment.failed")[0]


def test_a_carrier_rejection_is_rate_shopped_to_the_most_used_other_carrier_on_the_lane():
    options = failure(
        *lane_history("dc-east", "fedex", 25, "2day"),
        *lane_history("dc-east", "xpo", 3, "ltl"),
        *lane_history("dc-west", "odfl", 40, "ltl"),  # another lane
        shipment("SH-1", "SO-1", carrier="ups"),
        rejected(),
    )
    best = options[0]
    assert best.action == "reroute"
    assert best.params == {"order_id": "SO-1", "carrier": "fedex", "shipment_id": "SH-1"}
    assert best.confidence == 0.9  # 25 shipments: evidence enough
    assert best.effect.revenue_protected == 100.0
    assert best.effect.days_gained == 1.0  # 2day against ground
    second = first(options, "reroute", carrier="xpo")
    assert second.confidence == pytest.approx(0.6025)
    assert "odfl" not in [o.params.get("carrier") for o in options]
    assert "ups" not in [o.params.get("carrier") for o in options]


def test_without_another_carrier_on_the_lane_logistics_is_told():
    options = failure(shipment("SH-1", "SO-1", carrier="ups"), rejected())
    assert actions(options) == ["notify"]
    assert any("carriers shipping from dc-east: ups 1" in fact for fact in options[0].facts)


def test_a_failed_delivery_for_a_bad_address_asks_the_customer_not_another_carrier():
    options = failure(
        *lane_history("dc-east", "fedex", 25, "2day"),
        shipment("SH-1", "SO-1"),
        failed("address"),
    )
    assert options[0].action == "request_info"
    assert options[0].params["party"] == "customer"
    assert "1 Main St" in options[0].params["question"]
    assert options[0].confidence == 0.8
    assert "reroute" not in actions(options)


def test_a_rejection_for_the_address_is_an_address_problem_too():
    options = failure(
        *lane_history("dc-east", "fedex", 25, "2day"),
        shipment("SH-1", "SO-1"),
        rejected("address invalid"),
    )
    assert options[0].action == "request_info"
    assert "reroute" not in actions(options)


def test_a_refused_delivery_asks_the_customer_whether_to_redeliver():
    options = failure(shipment("SH-1", "SO-1"), failed("refused"))
    assert options[0].action == "request_info"
    assert options[0].confidence == 0.7


def test_a_lost_shipment_is_reshipped_with_another_carrier_and_claimed():
    options = failure(
        *lane_history("dc-east", "fedex", 25, "2day"), shipment("SH-1", "SO-1"), failed("lost")
    )
    assert options[0].action == "reroute"
    claim = [o for o in options if o.action == "notify" and "claim" in o.params["subject"]]
    assert claim and claim[0].confidence == 0.4


# --- shipment.delay -----------------------------------------------------------------------


def delay(*events):
    return options_for("shipment_delay", [*master(), order(), *events], "shipment.delay")[0]


def delayed(eta="2026-05-08T12:00:00Z"):
    return ev("shipment.delayed", {"shipment_id": "SH-1", "eta": eta}, when=at(hours=5))


PROMISED = {"promised_delivery_date": "2026-05-06T12:00:00Z"}


def test_a_faster_carrier_on_the_lane_is_proposed_before_dispatch():
    options = delay(
        *lane_history("dc-east", "fedex", 25, "2day"),
        shipment("SH-1", "SO-1", carrier="ups", service="ground", **PROMISED),
        delayed(),
    )
    reroute = first(options, "reroute", carrier="fedex")
    assert reroute.confidence == 0.9
    assert reroute.effect.days_gained == 1.0
    assert reroute.effect.cost == pytest.approx(3.0)  # 3 % premium on 100.00
    assert options[0] == reroute


def test_a_slower_carrier_is_no_remedy_for_a_delay():
    options = delay(
        *lane_history("dc-east", "xpo", 25, "ltl"),
        shipment("SH-1", "SO-1", carrier="ups", service="ground", **PROMISED),
        delayed(),
    )
    assert "reroute" not in actions(options)
    assert options[0].params == {
        "to": "customer",
        "subject": "SO-1: new delivery ETA 2026-05-08 12:00Z (promised 2026-05-06 12:00Z)",
        "order_id": "SO-1",
    }
    assert options[0].confidence == 0.8


def test_a_dispatched_shipment_is_hard_to_reroute():
    dispatched = ev("shipment.dispatched", {"shipment_id": "SH-1"}, when=at(hours=4))
    options = delay(
        *lane_history("dc-east", "fedex", 25, "2day"),
        shipment("SH-1", "SO-1", **PROMISED),
        dispatched,
        delayed(),
    )
    assert first(options, "reroute").confidence == 0.3
    assert options[0].params["to"] == "customer"


def test_a_missed_promise_without_an_eta_asks_the_carrier_where_it_is():
    engine_events = [shipment("SH-1", "SO-1", **PROMISED)]
    options = options_for(
        "shipment_delay",
        [*master(), order(), *engine_events],
        "shipment.delay",
        until=at(days=3),
    )[0]
    assert options[0].action == "request_info"
    assert options[0].params["party"] == "carrier"
    assert options[0].params["shipment_id"] == "SH-1"


# --- delivery.discrepancy -----------------------------------------------------------------


def discrepancy(kind, *events, qty=2):
    events = [
        *master(),
        order(),
        shipment("SH-1", "SO-1"),
        *events,
        delivered("SH-1", [{"line_id": "1", "kind": kind, "qty": qty}]),
    ]
    return options_for("delivery_discrepancy", events, "delivery.discrepancy")[0]


def test_goods_delivered_short_are_credited_on_the_invoice():
    options = discrepancy("short", invoice(when=at(days=1)), *both("dc-east", 40))
    credit = options[0]
    assert credit.action == "issue_credit_memo"
    assert credit.params == {"invoice_id": "INV-1", "amount": 20.0, "reason": "short"}
    assert credit.confidence == 0.85
    reship = first(options, "partial_ship")
    assert reship.params == {"order_id": "SO-1", "line_id": "1", "qty": 2}
    assert reship.confidence == 0.75
    assert reship.effect.cost == pytest.approx(1.0)


def test_a_wrong_item_is_better_reshipped_than_credited():
    options = discrepancy("wrong_item", invoice(when=at(days=1)), *both("dc-east", 40))
    assert options[0].action == "partial_ship"
    assert first(options, "issue_credit_memo").confidence == 0.6


def test_a_reship_the_wms_cannot_confirm_is_doubtful():
    options = discrepancy("damaged", invoice(when=at(days=1)), *both("dc-east", 40, wms=0))
    assert first(options, "partial_ship").confidence == 0.3


def test_an_order_not_invoiced_yet_is_invoiced_for_what_arrived_well():
    options = discrepancy("damaged")
    assert "issue_credit_memo" not in actions(options)
    assert first(options, "notify").params["to"] == "billing"


def test_a_credit_larger_than_the_invoice_leaves_is_capped_and_less_certain():
    options = discrepancy("short", invoice(amount=10.0, when=at(days=1)))
    credit = first(options, "issue_credit_memo")
    assert credit.params["amount"] == 10.0
    assert credit.confidence == pytest.approx(0.65)


# --- asn.discrepancy ----------------------------------------------------------------------


def asn(qty, *events):
    notice = ev(
        "asn.received",
        {"asn_id": "ASN-1", "po_number": "PO-5", "lines": [{"sku": "BRG-6204", "qty": qty}]},
        when=at(days=1),
    )
    base = [product(), purchase_order("PO-5", "dc-east", 50, at(days=5)), notice, *events]
    return options_for("asn", base, "asn.discrepancy")[0]


def test_an_asn_over_the_po_is_queried_with_the_supplier():
    options = asn(60)
    ask = options[0]
    assert ask.action == "request_info"
    assert ask.params["party"] == "supplier"
    assert ask.params["po_id"] == "PO-5"
    assert "ASN 60 of BRG-6204 vs PO 50 (+10)" in ask.params["question"]
    assert ask.confidence == 0.7


def test_a_receipt_off_its_asn_asks_for_a_recount_at_the_dock():
    receipt = ev(
        "receipt.posted",
        {"po_id": "PO-5", "node_id": "dc-east", "lines": [{"sku": "BRG-6204", "qty": 40}]},
        when=at(days=2),
    )
    options = asn(50, receipt)
    recount = first(options, "adjust_inventory")
    assert recount.params == {"node_id": "dc-east", "sku": "BRG-6204", "po_id": "PO-5"}
    assert recount.confidence == 0.55
    assert first(options, "request_info").confidence == 0.45
