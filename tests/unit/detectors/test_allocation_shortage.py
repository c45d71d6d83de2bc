from builders import at, cases_of, ev, master, order, run


def failed(requested=10, available=3, when=None, line="1", oid="SO-1", **extra):
    data = {"order_id": oid, "line_id": line, "node_id": "dc-east", "sku": "BRG-6204", **extra}
    if requested is not None:
        data["qty_requested"] = requested
    if available is not None:
        data["qty_available"] = available
    return ev("allocation.failed", data, when=when or at(hours=1))


def reserved(qty, when=None, line="1"):
    data = {"order_id": "SO-1", "line_id": line, "node_id": "dc-east", "qty": qty}
    return ev("allocation.reserved", data, when=when or at(hours=3))


def test_a_failed_allocation_with_too_little_stock_opens_a_case_on_the_line():
    engine = run([*master(), order(), failed(10, 3, reason="no_stock")])
    [case] = cases_of(engine, "allocation.shortage")
    assert case["subject"] == "SO-1"
    assert case["key"] == "SO-1/1"
    assert case["refs"] == {
        "line_id": "1",
        "node_id": "dc-east",
        "order_id": "SO-1",
        "sku": "BRG-6204",
    }
    assert case["owner_team"] == "planning"
    assert case["revenue_at_risk"] == 70.0  # 7 missing at 10.00
    assert case["root_cause"] == "no_stock"
    assert case["summary"] == "requested 10, available 3 of BRG-6204 at dc-east: short 7"


def test_a_failure_without_quantities_is_still_a_shortage_of_the_whole_line():
    engine = run([*master(), order(), failed(None, None)])
    [case] = cases_of(engine, "allocation.shortage")
    assert case["revenue_at_risk"] == 100.0


def test_a_failure_without_requested_quantity_uses_what_is_left_of_the_line():
    engine = run([*master(), order(), reserved(4, when=at(hours=0.5)), failed(None, 2)])
    [case] = cases_of(engine, "allocation.shortage")
    assert case["revenue_at_risk"] == 40.0  # 6 left to reserve, 2 available


def test_a_failure_reporting_enough_stock_is_a_retry_artefact():
    engine = run([*master(), order(), failed(10, 10), failed(10, 12)])
    assert cases_of(engine, "allocation.shortage") == []


def test_a_failure_on_a_line_already_reserved_in_full_is_stale():
    engine = run([*master(), order(), reserved(10, when=at(hours=0.5)), failed(10, 3)])
    assert cases_of(engine, "allocation.shortage") == []


def test_a_repeat_failure_on_the_same_line_updates_the_case():
    engine = run([*master(), order(), failed(10, 3), failed(10, 0, when=at(hours=2))])
    [case] = cases_of(engine, "allocation.shortage")
    assert case["signals"] == 2
    assert case["revenue_at_risk"] == 100.0


def test_failures_on_two_lines_are_two_cases():
    two = order(lines=[("1", "BRG-6204", 10, 10.0), ("2", "BRG-6204", 5, 10.0)])
    engine = run([*master(), two, failed(10, 3), failed(5, 0, line="2")])
    assert sorted(c["key"] for c in cases_of(engine, "allocation.shortage")) == ["SO-1/1", "SO-1/2"]


def test_a_partial_reservation_keeps_the_case_open():
    engine = run([*master(), order(), failed(10, 3), reserved(3)])
    [case] = cases_of(engine, "allocation.shortage")
    assert case["status"] == "open"


def test_reserving_the_line_in_full_resolves_the_case():
    engine = run([*master(), order(), failed(10, 3), reserved(3), reserved(7, when=at(hours=5))])
    [case] = cases_of(engine, "allocation.shortage")
    assert case["status"] == "resolved"
    assert case["closed_at"] == "2026-05-04T13:00:00Z"
    assert case["resolution"] == "line reserved in full"


def test_shipping_the_line_in_full_resolves_the_case():
    created = ev(
        "shipment.created",
        {"shipment_id": "SH-1", "order_id": "SO-1", "lines": [{"line_id": "1", "qty": 10}]},
        when=at(hours=4),
    )
    dispatched = ev("shipment.dispatched", {"shipment_id": "SH-1"}, when=at(hours=6))
    engine = run([*master(), order(), failed(10, 3), created, dispatched])
    [case] = cases_of(engine, "allocation.shortage")
    assert case["status"] == "resolved"
    assert case["resolution"] == "line shipped in full"


def test_cancelling_the_order_cancels_the_case():
    cancel = ev("order.cancelled", {"order_id": "SO-1", "reason": "customer"}, when=at(hours=4))
    engine = run([*master(), order(), failed(10, 3), cancel])
    [case] = cases_of(engine, "allocation.shortage")
    assert case["status"] == "cancelled"


def test_a_failure_after_cancellation_opens_nothing():
    cancel = ev("order.cancelled", {"order_id": "SO-1"}, when=at(hours=0.5))
    engine = run([*master(), order(), cancel, failed(10, 3)])
    assert cases_of(engine, "allocation.shortage") == []
