"""Allocation shortage, allocation conflict and pick short: other DCs, substitutes, POs."""

import pytest
from options_support import (
    actions,
    both,
    first,
    node,
    options_for,
    purchase_order,
    snapshot,
)

from builders import at, customer, default_policy, ev, master, order, product
from unsnag.resolve.options import conflict


def failed(oid="SO-1", requested=10, available=3, node_id="dc-east"):
    data = {
        "order_id": oid,
        "line_id": "1",
        "node_id": node_id,
        "sku": "BRG-6204",
        "qty_requested": requested,
        "qty_available": available,
    }
    return ev("allocation.failed", data, when=at(hours=1))


def shortage(*extra):
    return options_for("shortage", [*master(), *extra, order(), failed()], "allocation.shortage")[0]


# --- allocation.shortage ------------------------------------------------------------------


def test_another_dc_holding_the_line_in_both_systems_is_the_best_option():
    options = shortage(*both("dc-west", 40))
    best = options[0]
    assert best.action == "reallocate"
    assert best.params == {"order_id": "SO-1", "line_id": "1", "to_node": "dc-west", "qty": 10}
    assert best.confidence == 0.9
    assert best.effect.revenue_protected == 70.0  # the 7 short at 10.00
    assert best.amount == 70.0
    assert "BRG-6204 at dc-west: ERP 40 free, WMS 40 free" in best.facts


def test_no_other_dc_with_enough_stock_means_no_reallocation():
    options = shortage(*both("dc-west", 5))  # the whole line (10) must move
    assert "reallocate" not in actions(options)


def test_a_wms_that_disagrees_with_the_erp_lowers_the_confidence():
    options = shortage(*both("dc-west", 40, wms=2))
    move = first(options, "reallocate", to_node="dc-west")
    assert move.confidence == 0.35
    assert any("disagree" in fact for fact in move.facts)
    assert options[0].action != "reallocate"  # shipping what is there now ranks higher


def test_one_system_alone_gives_a_middling_confidence():
    options = shortage(snapshot("erp", "dc-west", 40, 40))
    assert first(options, "reallocate").confidence == 0.65


def test_a_stale_snapshot_is_no_evidence():
    old = snapshot("erp", "dc-west", 40, 40, when=at(days=-10))
    assert "reallocate" not in actions(shortage(old))


def test_days_gained_are_the_wait_for_the_po_less_a_day_to_another_region():
    options = shortage(
        customer(region="east"),
        node("dc-east", "east"),
        node("dc-west", "west"),
        node("dc-north", "east"),
        *both("dc-west", 40),
        *both("dc-north", 40),
        purchase_order("PO-7", "dc-east", 50, at(days=6, hours=1)),
    )
    west = first(options, "reallocate", to_node="dc-west")
    north = first(options, "reallocate", to_node="dc-north")
    assert north.effect.days_gained == pytest.approx(6.0)
    assert north.effect.cost == pytest.approx(2.0)  # 2 % handling of 100.00 moved
    assert west.effect.days_gained == pytest.approx(5.0)  # one more day in transit
    assert west.effect.cost == pytest.approx(5.0)  # + 3 % cross-region freight
    assert options.index(north) < options.index(west)


def test_without_an_open_po_the_standard_lead_time_is_assumed():
    move = first(shortage(*both("dc-west", 40)), "reallocate")
    assert move.effect.days_gained == 14.0
    assert any("assume 14 d replenishment lead time" in fact for fact in move.facts)


def test_a_substitute_on_the_shelf_of_the_node_is_proposed():
    listed = ev(
        "product.upserted",
        {"sku": "BRG-6204", "unit_cost": 6.0, "list_price": 10.0, "substitutes": ["BRG-6205"]},
        when=at(-47),
    )
    options = shortage(listed, product("BRG-6205", cost=6.5), *both("dc-east", 20, "BRG-6205"))
    sub = first(options, "substitute", sku="BRG-6205")
    assert sub.confidence == 0.7
    assert sub.effect.cost == pytest.approx(5.0)  # 0.50 more cost on 10 units
    assert sub.params == {"order_id": "SO-1", "line_id": "1", "sku": "BRG-6205"}


def test_a_substitute_without_stock_is_not_proposed():
    listed = ev("product.upserted", {"sku": "BRG-6204", "substitutes": ["BRG-6205"]}, when=at(-47))
    options = shortage(listed, *both("dc-east", 3, "BRG-6205"))
    assert "substitute" not in actions(options)


def test_what_was_available_can_ship_now():
    ship = first(shortage(), "partial_ship")
    assert ship.params == {"order_id": "SO-1", "line_id": "1", "qty": 3}
    assert ship.confidence == pytest.approx(0.52)  # 0.4 + 0.4 x 30 %
    assert ship.effect.revenue_protected == 30.0


def test_a_po_landing_after_the_promise_can_be_expedited():
    options = shortage(purchase_order("PO-7", "dc-east", 50, at(days=6)))
    expedite = first(options, "expedite_po", po_id="PO-7")
    assert expedite.confidence == 0.5
    assert expedite.effect.days_gained == 2.0


def test_a_po_landing_before_the_promise_needs_no_expediting():
    options = shortage(purchase_order("PO-7", "dc-east", 50, at(days=1)))
    assert "expedite_po" not in actions(options)


def test_a_po_at_another_node_does_not_count_as_supply_for_the_line():
    options = shortage(purchase_order("PO-7", "dc-west", 50, at(days=6)))
    assert "expedite_po" not in actions(options)


def test_with_nothing_anywhere_customer_service_is_told_with_the_reason():
    options = options_for(
        "shortage", [*master(), order(), failed(available=0)], "allocation.shortage"
    )[0]
    assert actions(options) == ["notify"]
    assert options[0].params["to"] == "customer_service"
    assert any("no other DC, substitute or open PO" in fact for fact in options[0].facts)


# --- allocation.conflict ------------------------------------------------------------------


def contested(*extra):
    events = [
        customer("C1", "standard"),
        customer("C2", "strategic"),
        product(),
        *extra,
        order("SO-1", "C1"),
        order("SO-2", "C2"),
        failed("SO-1", 10, 6),
        failed("SO-2", 10, 6),
    ]
    return options_for("conflict", events, "allocation.conflict")


def test_the_higher_tier_contender_keeps_the_stock_and_the_lower_one_moves():
    options, _, _ = contested(*both("dc-east", 10), *both("dc-west", 40))
    assert [o.params.get("order_id") for o in options if o.action == "reallocate"] == ["SO-1"]
    move = first(options, "reallocate", order_id="SO-1")
    assert move.params["to_node"] == "dc-west"
    assert move.confidence == 0.9
    assert move.effect.revenue_protected == 100.0
    assert any(fact.startswith("SO-2 (strategic") for fact in move.facts)


def test_a_contender_served_in_part_ships_what_the_node_has():
    options, _, _ = contested(*both("dc-east", 6))
    ship = first(options, "partial_ship", order_id="SO-2")
    assert ship.params["qty"] == 6
    assert first(options, "notify").params["subject"].endswith("SO-1; replan supply")


def test_the_plan_is_a_seam_another_planner_can_fill():
    calls = []

    def keep_everyone_waiting(contenders, here, elsewhere):
        calls.append(([c.order.order_id for c in contenders], here, len(elsewhere)))
        return [conflict.Assignment(c, 0.0) for c in contenders]

    _, case, engine = contested(*both("dc-east", 10), *both("dc-west", 40))
    computer = conflict.make_options(keep_everyone_waiting)
    options = computer(case, engine.state, default_policy())
    assert calls == [(["SO-2", "SO-1"], 10.0, 1)]  # strategic first
    assert actions(options) == ["notify"]


# --- pick.short ---------------------------------------------------------------------------


def pick_short(*extra):
    short = ev(
        "pick.short",
        {
            "order_id": "SO-1",
            "line_id": "1",
            "node_id": "dc-east",
            "sku": "BRG-6204",
            "qty_picked": 6,
            "qty_short": 4,
        },
        when=at(hours=1),
    )
    return options_for("pick_short", [*master(), *extra, order(), short], "pick.short")[0]


def test_the_short_quantity_is_sourced_from_another_dc():
    move = pick_short(*both("dc-west", 5))[0]
    assert move.action == "reallocate"
    assert move.params == {"order_id": "SO-1", "line_id": "1", "to_node": "dc-west", "qty": 4}
    assert move.effect.revenue_protected == 40.0


def test_what_was_picked_can_ship_now():
    ship = first(pick_short(), "partial_ship")
    assert ship.params["qty"] == 6
    assert ship.confidence == pytest.approx(0.64)


def test_systems_still_showing_the_short_units_free_ask_for_a_count():
    count = first(pick_short(*both("dc-east", 20)), "adjust_inventory")
    assert count.params == {"node_id": "dc-east", "sku": "BRG-6204"}
    assert count.confidence == 0.6
    assert count.amount == pytest.approx(24.0)  # 4 phantom units at cost 6.00


def test_no_count_is_asked_when_the_systems_agree_the_stock_is_gone():
    assert "adjust_inventory" not in actions(pick_short(*both("dc-east", 0)))
