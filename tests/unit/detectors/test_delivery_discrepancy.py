from builders import at, cases_of, ev, iso, master, order, policy_with, product, run

LINES = [("1", "BRG-6204", 10, 10.0), ("2", "BRG-6205", 4, 25.0)]


def setup():
    return [
        *master(),
        product("BRG-6205", cost=15.0, price=25.0),
        order(lines=LINES),
        created("SH-1", at(hours=10), [("1", 10), ("2", 4)]),
    ]


def created(sid, when, lines):
    data = {
        "shipment_id": sid,
        "order_id": "SO-1",
        "node_id": "dc-east",
        "carrier": "ups",
        "lines": [{"line_id": lid, "qty": qty} for lid, qty in lines],
    }
    return ev("shipment.created", data, when=when)


def delivered(discrepancies, sid="SH-1", when=None):
    moment = when or at(hours=30)
    data = {
        "shipment_id": sid,
        "delivered_at": iso(moment),
        "pod": "J. Smith",
        "discrepancies": discrepancies,
    }
    return ev("shipment.delivered", data, when=moment)


def damaged(qty=3, line="1"):
    return {"line_id": line, "kind": "damaged", "qty": qty}


def invoice(oid="SO-1", inv="INV-1"):
    data = {"invoice_id": inv, "order_id": oid, "customer_id": "C1", "amount": 200.0}
    return ev("invoice.issued", data, when=at(hours=20))


def test_damaged_goods_open_a_case_on_the_shipment():
    engine = run([*setup(), delivered([damaged(3)])])
    [case] = cases_of(engine, "delivery.discrepancy")
    assert case["subject"] == "SO-1"
    assert case["key"] == "SH-1"
    assert case["root_cause"] == "damaged"
    assert case["revenue_at_risk"] == 30.0
    assert case["refs"] == {
        "line_id": "1",
        "node_id": "dc-east",
        "order_id": "SO-1",
        "shipment_id": "SH-1",
        "sku": "BRG-6204",
    }
    assert case["owner_team"] == "customer_service"
    assert case["summary"] == "SH-1 delivered with 3 damaged (line 1) (30.00 at risk)"


def test_several_kinds_are_joined_and_their_values_summed():
    found = [damaged(2), {"line_id": "2", "kind": "short", "qty": 1}]
    [case] = cases_of(run([*setup(), delivered(found)]), "delivery.discrepancy")
    assert case["root_cause"] == "damaged+short"
    assert case["revenue_at_risk"] == 45.0


def test_a_discrepancy_without_a_quantity_counts_as_the_whole_line():
    found = [{"line_id": "2", "kind": "wrong_item"}]
    [case] = cases_of(run([*setup(), delivered(found)]), "delivery.discrepancy")
    assert case["root_cause"] == "wrong_item"
    assert case["revenue_at_risk"] == 100.0


def test_a_delivery_with_an_empty_discrepancy_list_is_clean():
    assert cases_of(run([*setup(), delivered([])]), "delivery.discrepancy") == []


def test_discrepancies_of_quantity_zero_are_clean():
    engine = run([*setup(), delivered([damaged(0), {"line_id": "2", "kind": "short", "qty": 0}])])
    assert cases_of(engine, "delivery.discrepancy") == []


def test_discrepancies_under_the_minimum_are_ignored():
    policy = policy_with(delivery_discrepancy={"min_qty": 5})
    assert cases_of(run([*setup(), delivered([damaged(3)])], policy), "delivery.discrepancy") == []


def test_a_second_report_for_the_same_shipment_updates_the_case():
    events = [*setup(), delivered([damaged(3)]), delivered([damaged(5)], when=at(hours=31))]
    [case] = cases_of(run(events), "delivery.discrepancy")
    assert case["signals"] == 2
    assert case["revenue_at_risk"] == 50.0


def test_a_credit_memo_for_the_orders_invoice_resolves_the_case():
    memo = ev(
        "credit_memo.issued",
        {"memo_id": "CM-1", "invoice_id": "INV-1", "amount": 30.0},
        when=at(hours=40),
    )
    [case] = cases_of(
        run([*setup(), invoice(), delivered([damaged(3)]), memo]), "delivery.discrepancy"
    )
    assert case["status"] == "resolved"
    assert case["closed_at"] == iso(at(hours=40))
    assert case["resolution"] == "credit memo CM-1 issued on invoice INV-1"


def test_a_credit_memo_for_another_orders_invoice_does_not_resolve_it():
    memo = ev(
        "credit_memo.issued",
        {"memo_id": "CM-9", "invoice_id": "INV-9", "amount": 30.0},
        when=at(hours=40),
    )
    events = [
        *setup(),
        order("SO-9", when=at(hours=1)),
        invoice("SO-9", "INV-9"),
        delivered([damaged(3)]),
        memo,
    ]
    [case] = cases_of(run(events), "delivery.discrepancy")
    assert case["status"] == "open"


def test_receiving_the_return_resolves_the_case():
    request = ev(
        "return.requested",
        {
            "rma_id": "RMA-1",
            "order_id": "SO-1",
            "lines": [{"line_id": "1", "sku": "BRG-6204", "qty": 3, "reason": "damaged"}],
        },
        when=at(hours=32),
    )
    received = ev(
        "return.received",
        {
            "rma_id": "RMA-1",
            "node_id": "dc-east",
            "lines": [{"sku": "BRG-6204", "qty": 3, "condition": "damaged"}],
        },
        when=at(hours=50),
    )
    [case] = cases_of(
        run([*setup(), delivered([damaged(3)]), request, received]), "delivery.discrepancy"
    )
    assert case["status"] == "resolved"
    assert case["resolution"] == "return RMA-1 received"


def test_a_replacement_delivered_without_discrepancies_resolves_the_case():
    events = [
        *setup(),
        delivered([damaged(3)]),
        created("SH-2", at(hours=33), [("1", 3)]),
        delivered([], sid="SH-2", when=at(hours=48)),
    ]
    [case] = cases_of(run(events), "delivery.discrepancy")
    assert case["status"] == "resolved"
    assert case["closed_at"] == iso(at(hours=48))
    assert case["resolution"] == "replacement SH-2 delivered without discrepancies"


def test_a_clean_delivery_of_a_shipment_planned_before_the_discrepancy_is_no_replacement():
    events = [
        *setup(),
        created("SH-2", at(hours=11), [("1", 5)]),
        delivered([damaged(3)]),
        delivered([], sid="SH-2", when=at(hours=48)),
    ]
    [case] = cases_of(run(events), "delivery.discrepancy")
    assert case["status"] == "open"


def test_a_later_shipment_of_other_lines_is_no_replacement():
    events = [
        *setup(),
        delivered([damaged(3)]),
        created("SH-2", at(hours=33), [("2", 1)]),
        delivered([], sid="SH-2", when=at(hours=48)),
    ]
    [case] = cases_of(run(events), "delivery.discrepancy")
    assert case["status"] == "open"


def test_cancelling_the_order_cancels_the_case():
    cancel = ev("order.cancelled", {"order_id": "SO-1", "reason": "customer"}, when=at(hours=40))
    [case] = cases_of(run([*setup(), delivered([damaged(3)]), cancel]), "delivery.discrepancy")
    assert case["status"] == "cancelled"
