from builders import at, cases_of, ev, master, order, run


def pick_short(qty_short: float, qty_picked: float = 3, when=None):
    data = {
        "order_id": "SO-1",
        "line_id": "1",
        "node_id": "dc-east",
        "sku": "BRG-6204",
        "qty_picked": qty_picked,
        "qty_short": qty_short,
    }
    return ev("pick.short", data, when=when or at(hours=2))


def test_a_short_pick_opens_a_case_on_the_order_line():
    engine = run([*master(), order(), pick_short(7)])
    [case] = cases_of(engine, "pick.short")
    assert case["subject"] == "SO-1"
    assert case["refs"] == {
        "line_id": "1",
        "node_id": "dc-east",
        "order_id": "SO-1",
        "sku": "BRG-6204",
    }
    assert case["owner_team"] == "warehouse"
    assert case["status"] == "open"
    assert case["revenue_at_risk"] == 70.0
    assert case["rule"] == "pick-short"


def test_a_zero_short_is_a_plain_pick():
    engine = run([*master(), order(), pick_short(0, qty_picked=10)])
    assert cases_of(engine, "pick.short") == []


def test_a_second_short_on_the_same_line_updates_the_case():
    engine = run([*master(), order(), pick_short(7), pick_short(2, when=at(hours=3))])
    [case] = cases_of(engine, "pick.short")
    assert case["signals"] == 2


def test_picking_the_rest_resolves_the_case():
    rest = ev(
        "pick.confirmed",
        {"order_id": "SO-1", "line_id": "1", "node_id": "dc-east", "qty_picked": 7},
        when=at(hours=5),
    )
    engine = run([*master(), order(), pick_short(7), rest])
    [case] = cases_of(engine, "pick.short")
    assert case["status"] == "resolved"
    assert case["closed_at"] == "2026-05-04T13:00:00Z"


def test_cancelling_the_order_cancels_the_case():
    cancel = ev("order.cancelled", {"order_id": "SO-1", "reason": "customer"}, when=at(hours=4))
    engine = run([*master(), order(), pick_short(7), cancel])
    [case] = cases_of(engine, "pick.short")
    assert case["status"] == "cancelled"
