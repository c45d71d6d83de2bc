"""allocation.conflict planned by the optimizer: value protected decides, not the queue."""

from options_support import actions, both, first, options_for

from builders import at, customer, ev, order, product


def failed(oid: str, requested: float, available: float) -> object:
    data = {"order_id": oid, "line_id": "1", "node_id": "dc-east", "sku": "BRG-6204",
            "qty_requested": requested, "qty_available": available}  # fmt: skip
    return ev("allocation.failed", data, when=at(hours=1))


def contest(small_strategic: float, big_standard: float, *extra: object) -> list:
    return [
        customer("C1", "standard"), customer("C2", "strategic"), product(), *extra,
        order("SO-1", "C1", lines=[("1", "BRG-6204", big_standard, 100.0)]),
        order("SO-2", "C2", lines=[("1", "BRG-6204", small_strategic, 1.0)]),
        failed("SO-1", big_standard, 5), failed("SO-2", small_strategic, 5),
    ]  # fmt: skip


def test_the_optimizer_keeps_the_local_stock_for_the_line_worth_most():
    # tier order would keep dc-east's 10 for the strategic 10 x 1.00 line; the optimizer
    # weighs tier x value and keeps them for the standard 10 x 100.00 line instead
    events = contest(10, 10, *both("dc-east", 10))
    options, _, _ = options_for("conflict", events, "allocation.conflict")
    greedy, _, _ = options_for("conflict_greedy", events, "allocation.conflict")
    assert first(greedy, "notify").params["subject"].endswith("SO-1; replan supply")
    assert first(options, "notify").params["subject"].endswith("SO-2; replan supply")


def test_with_room_elsewhere_the_line_whose_day_of_delay_costs_least_moves():
    # a day's delay costs 5 % of tier weight x value: 0.05 x 1.00 x 1.00 per unit for the
    # strategic line, 0.05 x 0.25 x 100.00 for the standard one: the cheap line moves
    events = contest(10, 10, *both("dc-east", 10), *both("dc-west", 40))
    options, _, _ = options_for("conflict", events, "allocation.conflict")
    assert [o.params["order_id"] for o in options if o.action == "reallocate"] == ["SO-2"]
    move = first(options, "reallocate", order_id="SO-2")
    assert "plan: allocation optimizer (HiGHS)" in move.facts
    assert any(fact.startswith("alternative: BRG-6204 at dc-east") for fact in move.facts)
    assert "notify" not in actions(options)
