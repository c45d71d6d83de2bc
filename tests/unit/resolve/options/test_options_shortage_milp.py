"""allocation.shortage: the optimizer chooses among the sources the evidence supports."""

from options_support import both, node, options_for

from builders import at, ev, master, order, product


def failed(requested=10, available=3):
    data = {"order_id": "SO-1", "line_id": "1", "node_id": "dc-east", "sku": "BRG-6204",
            "qty_requested": requested, "qty_available": available}  # fmt: skip
    return ev("allocation.failed", data, when=at(hours=1))


def shortage(computer, *extra):
    events = [*master(), *extra, order(), failed()]
    return options_for(computer, events, "allocation.shortage")[0]


def test_the_optimizer_picks_the_cheaper_of_two_dcs_and_says_why():
    # both DCs hold the line in both systems (same evidence); dc-far is in another region
    extra = [node("dc-east", "east"), node("dc-near", "east"), node("dc-far", "west"),
             *both("dc-far", 40), *both("dc-near", 40)]  # fmt: skip
    options = shortage("shortage", *extra)
    best = options[0]
    assert best.action == "reallocate" and best.params["to_node"] == "dc-near"
    assert "plan: allocation optimizer (HiGHS) chose this source" in best.facts


def test_without_sources_the_evidence_ranking_stands():
    plain = shortage("shortage_evidence")
    planned = shortage("shortage")
    assert [o.action for o in planned] == [o.action for o in plain]


def test_a_listed_substitute_alone_at_the_node_is_chosen_without_the_solver():
    extra = [product("BRG-6204", substitutes=["BRG-6204Z"]), product("BRG-6204Z"),
             *both("dc-east", 3), *both("dc-east", 40, sku="BRG-6204Z")]  # fmt: skip
    options = shortage("shortage", *extra)
    assert options[0].action == "substitute"  # the one source good enough to act on
