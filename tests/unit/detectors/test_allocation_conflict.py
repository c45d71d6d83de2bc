from builders import at, cases_of, customer, ev, master, order, policy_with, run


def failed(oid, line="1", requested=10, available=3, hours=1.0, node="dc-east", sku="BRG-6204"):
    data = {
        "order_id": oid,
        "line_id": line,
        "node_id": node,
        "sku": sku,
        "qty_requested": requested,
        "qty_available": available,
    }
    return ev("allocation.failed", data, when=at(hours=hours))


def reserved(oid, qty, line="1", hours=5.0):
    data = {"order_id": oid, "line_id": line, "node_id": "dc-east", "qty": qty}
    return ev("allocation.reserved", data, when=at(hours=hours))


def orders():
    return [
        *master(),
        customer("C2", tier="strategic"),
        order("SO-1"),
        order("SO-2", "C2", lines=[("1", "BRG-6204", 5, 12.0)], promised=at(hours=20)),
    ]


def test_two_orders_short_on_one_stock_open_a_conflict_naming_both():
    engine = run([*orders(), failed("SO-1"), failed("SO-2", requested=5, available=3, hours=2)])
    [case] = cases_of(engine, "allocation.conflict")
    assert case["subject"] == "dc-east/BRG-6204"
    assert case["key"] == "dc-east/BRG-6204"
    assert case["refs"] == {"node_id": "dc-east", "order_id": ["SO-1", "SO-2"], "sku": "BRG-6204"}
    assert case["owner_team"] == "planning"
    assert case["revenue_at_risk"] == 94.0  # 7 x 10.00 + 2 x 12.00
    assert case["customer_id"] == "C2"  # the strategic customer ranks the conflict
    assert case["tier"] == "strategic"
    assert case["opened_at"] == "2026-05-04T10:00:00Z"
    assert case["summary"] == "2 orders short on BRG-6204 at dc-east: SO-1 (7), SO-2 (2)"


def test_one_order_short_alone_is_no_conflict():
    engine = run([*orders(), failed("SO-1")])
    assert cases_of(engine, "allocation.conflict") == []


def test_one_order_short_on_two_lines_of_the_same_sku_is_no_conflict():
    two = order("SO-3", lines=[("1", "BRG-6204", 10, 10.0), ("2", "BRG-6204", 4, 10.0)])
    engine = run(
        [*master(), two, failed("SO-3", "1"), failed("SO-3", "2", requested=4, available=0)]
    )
    assert cases_of(engine, "allocation.conflict") == []


def test_shortfalls_at_other_nodes_or_of_other_skus_do_not_add_up():
    engine = run(
        [
            *orders(),
            failed("SO-1"),
            failed("SO-2", node="dc-west", hours=2),
            failed("SO-2", sku="NUT-M8", hours=3),
        ]
    )
    assert cases_of(engine, "allocation.conflict") == []


def test_a_retry_artefact_is_no_shortfall():
    engine = run([*orders(), failed("SO-1"), failed("SO-2", requested=5, available=5)])
    assert cases_of(engine, "allocation.conflict") == []


def test_shortfalls_further_apart_than_the_window_are_not_contending():
    engine = run([*orders(), failed("SO-1", hours=1), failed("SO-2", hours=30)])
    assert cases_of(engine, "allocation.conflict") == []


def test_the_minimum_number_of_orders_comes_from_the_policy():
    policy = policy_with(allocation_conflict={"min_orders": 3})
    engine = run([*orders(), failed("SO-1"), failed("SO-2", hours=2)], policy)
    assert cases_of(engine, "allocation.conflict") == []


def test_a_third_order_updates_the_open_conflict():
    engine = run(
        [*orders(), order("SO-3"), failed("SO-1"), failed("SO-2", hours=2), failed("SO-3", hours=3)]
    )
    [case] = cases_of(engine, "allocation.conflict")
    assert case["signals"] == 2
    assert case["refs"]["order_id"] == ["SO-1", "SO-2", "SO-3"]


def test_reserving_one_of_two_lines_resolves_the_conflict():
    engine = run([*orders(), failed("SO-1"), failed("SO-2", hours=2), reserved("SO-2", 5)])
    [case] = cases_of(engine, "allocation.conflict")
    assert case["status"] == "resolved"
    assert case["closed_at"] == "2026-05-04T13:00:00Z"
    assert case["resolution"] == "lines reserved: only SO-1 still short"


def test_a_partial_reservation_keeps_the_conflict_open():
    engine = run([*orders(), failed("SO-1"), failed("SO-2", hours=2), reserved("SO-2", 2)])
    [case] = cases_of(engine, "allocation.conflict")
    assert case["status"] == "open"


def test_cancelling_one_contending_order_resolves_the_conflict():
    cancel = ev("order.cancelled", {"order_id": "SO-1"}, when=at(hours=4))
    engine = run([*orders(), failed("SO-1"), failed("SO-2", hours=2), cancel])
    [case] = cases_of(engine, "allocation.conflict")
    assert case["status"] == "resolved"
    assert case["resolution"] == "lines cancelled: only SO-2 still short"


def test_shipping_a_contending_line_in_full_resolves_the_conflict():
    created = ev(
        "shipment.created",
        {"shipment_id": "SH-1", "order_id": "SO-1", "lines": [{"line_id": "1", "qty": 10}]},
        when=at(hours=4),
    )
    dispatched = ev("shipment.dispatched", {"shipment_id": "SH-1"}, when=at(hours=6))
    engine = run([*orders(), failed("SO-1"), failed("SO-2", hours=2), created, dispatched])
    [case] = cases_of(engine, "allocation.conflict")
    assert case["status"] == "resolved"


def test_a_conflict_whose_other_shortfalls_lapse_is_resolved():
    engine = run([*orders(), failed("SO-1"), failed("SO-2", hours=2), failed("SO-2", hours=27)])
    [case] = cases_of(engine, "allocation.conflict")
    assert case["status"] == "resolved"
    assert case["closed_at"] == "2026-05-05T11:00:00Z"


def test_contention_coming_back_opens_a_new_case():
    engine = run(
        [
            *orders(),
            failed("SO-1"),
            failed("SO-2", hours=2),
            reserved("SO-2", 5),
            order("SO-3"),
            failed("SO-3", hours=6),
        ]
    )
    first, second = cases_of(engine, "allocation.conflict")
    assert first["status"] == "resolved"
    assert second["status"] == "open"
    assert second["refs"]["order_id"] == ["SO-1", "SO-3"]
    assert first["id"] != second["id"]
