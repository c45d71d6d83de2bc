from builders import at, cases_of, ev, master, order, policy_with, raw, run
from unsnag.events import parse_event

LINES = [("1", "BRG-6204", 10, 10.0), ("2", "NUT-M8", 50, 0.2)]


def po_order(oid, po="4500012345", hours=0.0, lines=None, channel="edi", cid="C1"):
    return order(
        oid, cid, lines=lines or LINES, when=at(hours=hours), po_number=po, channel=channel
    )


def no_po(oid, minutes=0.0, channel="inside_sales", lines=None):
    return order(
        oid, lines=lines or LINES, when=at(minutes=minutes), po_number=None, channel=channel
    )


def cancel(oid, hours=5.0):
    return ev("order.cancelled", {"order_id": oid, "reason": "duplicate"}, when=at(hours=hours))


def test_the_same_po_and_lines_again_is_a_duplicate_keyed_on_the_newer_order():
    engine = run([*master(), po_order("SO-1"), po_order("SO-2", hours=2)])
    [case] = cases_of(engine, "order.duplicate")
    assert case["subject"] == "SO-2"
    assert case["key"] == "SO-2"
    assert case["refs"] == {
        "customer_id": "C1",
        "order_id": "SO-2",
        "original_order_id": "SO-1",
        "po_number": "4500012345",
    }
    assert case["root_cause"] == "edi_retry"
    assert case["owner_team"] == "customer_service"
    assert case["opened_at"] == "2026-05-04T10:00:00Z"
    assert case["summary"] == "SO-2 repeats SO-1 (PO 4500012345, 2 identical lines, 2 h apart)"
    assert case["revenue_at_risk"] == 110.0


def test_a_resubmission_outside_edi_is_named_so():
    engine = run(
        [*master(), po_order("SO-1", channel="portal"), po_order("SO-2", hours=2, channel="portal")]
    )
    [case] = cases_of(engine, "order.duplicate")
    assert case["root_cause"] == "resubmitted"


def test_line_order_and_line_ids_do_not_matter():
    shuffled = [("10", "NUT-M8", 50, 0.2), ("20", "BRG-6204", 10, 10.0)]
    engine = run([*master(), po_order("SO-1"), po_order("SO-2", hours=1, lines=shuffled)])
    assert [c["key"] for c in cases_of(engine, "order.duplicate")] == ["SO-2"]


def test_the_same_event_delivered_twice_is_one_order():
    first = raw(
        "order.created",
        {
            "order_id": "SO-1",
            "customer_id": "C1",
            "po_number": "P1",
            "lines": [{"line_id": "1", "sku": "BRG-6204", "qty": 10, "unit_price": 10.0}],
        },
        id_="edi-77",
    )
    engine = run([*master(), parse_event(first), parse_event(dict(first))])
    assert engine.stats.duplicates == 1
    assert cases_of(engine, "order.duplicate") == []


def test_the_same_order_id_resent_under_a_new_event_id_is_an_update():
    engine = run([*master(), po_order("SO-1"), po_order("SO-1", hours=1)])
    assert cases_of(engine, "order.duplicate") == []


def test_the_same_po_with_different_lines_is_a_change_or_a_split():
    other = [("1", "BRG-6204", 4, 10.0)]
    engine = run([*master(), po_order("SO-1"), po_order("SO-2", hours=1, lines=other)])
    assert cases_of(engine, "order.duplicate") == []


def test_the_same_lines_under_another_po_are_a_new_order():
    engine = run([*master(), po_order("SO-1"), po_order("SO-2", po="4500099999", hours=1)])
    assert cases_of(engine, "order.duplicate") == []


def test_an_order_repeating_a_cancelled_one_is_a_replacement():
    engine = run([*master(), po_order("SO-1"), cancel("SO-1", hours=1), po_order("SO-2", hours=2)])
    assert cases_of(engine, "order.duplicate") == []


def test_another_customers_order_is_not_a_duplicate():
    engine = run([*master(), po_order("SO-1"), po_order("SO-2", hours=1, cid="C2")])
    assert cases_of(engine, "order.duplicate") == []


def test_the_same_po_beyond_the_window_is_not_a_duplicate():
    engine = run([*master(), po_order("SO-1"), po_order("SO-2", hours=24 * 8)])
    assert cases_of(engine, "order.duplicate") == []


def test_the_window_comes_from_the_policy():
    policy = policy_with(order_duplicate={"window_hours": 1})
    engine = run([*master(), po_order("SO-1"), po_order("SO-2", hours=2)], policy)
    assert cases_of(engine, "order.duplicate") == []


def test_identical_orders_without_po_entered_close_together_are_a_double_entry():
    engine = run([*master(), no_po("SO-1"), no_po("SO-2", minutes=12)])
    [case] = cases_of(engine, "order.duplicate")
    assert case["root_cause"] == "double_entry"
    assert case["refs"]["original_order_id"] == "SO-1"
    assert "po_number" not in case["refs"]


def test_identical_orders_without_po_far_apart_are_repeat_business():
    engine = run([*master(), no_po("SO-1"), no_po("SO-2", minutes=45)])
    assert cases_of(engine, "order.duplicate") == []


def test_identical_orders_without_po_from_different_channels_are_not_a_double_entry():
    engine = run([*master(), no_po("SO-1"), no_po("SO-2", minutes=5, channel="ecommerce")])
    assert cases_of(engine, "order.duplicate") == []


def test_a_third_copy_points_at_the_original():
    engine = run(
        [*master(), po_order("SO-1"), po_order("SO-2", hours=1), po_order("SO-3", hours=2)]
    )
    cases = cases_of(engine, "order.duplicate")
    assert [(c["key"], c["refs"]["original_order_id"]) for c in cases] == [
        ("SO-2", "SO-1"),
        ("SO-3", "SO-1"),
    ]


def test_cancelling_the_duplicate_resolves_the_case():
    engine = run([*master(), po_order("SO-1"), po_order("SO-2", hours=1), cancel("SO-2")])
    [case] = cases_of(engine, "order.duplicate")
    assert case["status"] == "resolved"
    assert case["resolution"] == "duplicate cancelled"
    assert case["closed_at"] == "2026-05-04T13:00:00Z"


def test_cancelling_the_original_resolves_the_case():
    engine = run([*master(), po_order("SO-1"), po_order("SO-2", hours=1), cancel("SO-1")])
    [case] = cases_of(engine, "order.duplicate")
    assert case["status"] == "resolved"
    assert case["resolution"] == "original SO-1 cancelled; SO-2 stands"


def test_cancelling_an_unrelated_order_leaves_the_case_open():
    engine = run(
        [*master(), po_order("SO-1"), po_order("SO-2", hours=1), order("SO-9"), cancel("SO-9")]
    )
    [case] = cases_of(engine, "order.duplicate")
    assert case["status"] == "open"


def test_a_po_number_added_later_is_found_by_the_next_duplicate():
    first = order("SO-1", po_number="")
    fixed = ev("order.updated", {"order_id": "SO-1", "po_number": "PO-77"}, when=at(hours=1))
    again = order("SO-2", po_number="PO-77", when=at(hours=2))
    [case] = cases_of(run([*master(), first, fixed, again]), "order.duplicate")
    assert case["refs"]["original_order_id"] == "SO-1"
