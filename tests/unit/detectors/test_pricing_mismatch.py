from builders import at, cases_of, customer, ev, master, order, policy_with, product, run


def contract(price, valid_from=None, valid_to=None, sku="BRG-6204"):
    data = {"customer_id": "C1", "sku": sku, "unit_price": price}
    if valid_from:
        data["valid_from"] = valid_from
    if valid_to:
        data["valid_to"] = valid_to
    return ev("price.agreed", data, when=at(-24))


def priced(price, oid="SO-1", **kwargs):
    return order(oid, lines=[("1", "BRG-6204", 10, price)], **kwargs)


def update(*lines, hours=2.0, oid="SO-1"):
    data = {
        "order_id": oid,
        "lines": [
            {"line_id": lid, "sku": sku, "qty": qty, "unit_price": price}
            for lid, sku, qty, price in lines
        ],
    }
    return ev("order.updated", data, when=at(hours=hours))


def test_a_price_off_contract_opens_a_case_on_the_order():
    engine = run([*master(), contract(9.50), priced(8.00)])
    [case] = cases_of(engine, "pricing.mismatch")
    assert case["subject"] == "SO-1"
    assert case["key"] == "SO-1"
    assert case["refs"] == {"customer_id": "C1", "order_id": "SO-1"}
    assert case["root_cause"] == "contract_price"
    assert case["owner_team"] == "pricing"
    assert case["summary"] == "line 1 BRG-6204 at 8.00 vs contract 9.50"
    assert case["revenue_at_risk"] == 80.0


def test_a_price_above_contract_beyond_tolerance_is_a_mismatch():
    engine = run([*master(), contract(9.50), priced(9.80)])
    [case] = cases_of(engine, "pricing.mismatch")
    assert case["root_cause"] == "contract_price"


def test_rounding_within_the_contract_tolerance_is_not_a_mismatch():
    engine = run([*master(), contract(9.99), priced(10.00), priced(9.95, "SO-2")])
    assert cases_of(engine, "pricing.mismatch") == []


def test_a_price_above_contract_within_tolerance_is_not_a_mismatch():
    engine = run([*master(), contract(9.50), priced(9.54)])  # 0.5 % of 9.50 is 0.0475
    assert cases_of(engine, "pricing.mismatch") == []


def test_an_expired_contract_falls_back_to_the_list_price():
    expired = contract(5.00, valid_to="2026-05-01T00:00:00Z")
    engine = run([*master(), expired, priced(9.00), priced(5.00, "SO-2")])
    [case] = cases_of(engine, "pricing.mismatch")
    assert case["subject"] == "SO-2"
    assert case["root_cause"] == "below_list"


def test_a_contract_not_yet_valid_at_order_time_does_not_apply():
    future = contract(5.00, valid_from="2026-06-01T00:00:00Z")
    engine = run([*master(), future, priced(9.00)])
    assert cases_of(engine, "pricing.mismatch") == []


def test_a_price_far_under_list_without_a_contract_is_a_mismatch():
    engine = run([*master(), priced(6.20)])  # 38 % off list 10.00, floor is 35 %
    [case] = cases_of(engine, "pricing.mismatch")
    assert case["root_cause"] == "below_list"
    assert case["summary"] == "line 1 BRG-6204 at 6.20 is 38 % under list 10.00 (max 35 %)"


def test_a_discount_within_the_allowed_one_is_not_a_mismatch():
    engine = run([*master(), priced(6.50)])  # exactly 35 % off
    assert cases_of(engine, "pricing.mismatch") == []


def test_a_margin_under_the_floor_is_a_mismatch_even_on_contract():
    engine = run([*master(), contract(6.10), priced(6.10)])  # margin 1.6 %
    [case] = cases_of(engine, "pricing.mismatch")
    assert case["root_cause"] == "margin_floor"
    assert "margin 1.6 % under floor 3 %" in case["summary"]


def test_a_free_line_of_a_costed_product_is_under_the_floor():
    engine = run([*master(), contract(0.0), priced(0.0)])
    [case] = cases_of(engine, "pricing.mismatch")
    assert case["root_cause"] == "margin_floor"


def test_an_unknown_product_is_not_a_mismatch():
    engine = run([customer(), order(lines=[("1", "NEW-1", 10, 0.50)])])
    assert cases_of(engine, "pricing.mismatch") == []


def test_a_contract_applies_to_an_unknown_product():
    engine = run([customer(), contract(4.00, sku="NEW-1"), order(lines=[("1", "NEW-1", 1, 3.0)])])
    [case] = cases_of(engine, "pricing.mismatch")
    assert case["root_cause"] == "contract_price"


def test_one_case_per_order_names_every_offending_line():
    lines = [("1", "BRG-6204", 10, 8.00), ("2", "BRG-6204", 5, 10.0), ("3", "NUT-M8", 4, 1.0)]
    engine = run(
        [*master(), product("NUT-M8", cost=0.99, price=1.2), contract(9.50), order(lines=lines)]
    )
    [case] = cases_of(engine, "pricing.mismatch")
    assert case["root_cause"] == "contract_price"
    assert case["summary"].startswith("line 1 BRG-6204 at 8.00 vs contract 9.50; ")
    assert "line 2 BRG-6204 at 10.00 vs contract 9.50" in case["summary"]
    assert "line 3 NUT-M8 margin 1.0 % under floor" in case["summary"]
    assert case["revenue_at_risk"] == 134.0  # all three lines


def test_tolerances_come_from_the_policy():
    policy = policy_with(pricing_mismatch={"list_discount_max_pct": 0.5})
    engine = run([*master(), priced(6.20)], policy)
    assert cases_of(engine, "pricing.mismatch") == []


def test_an_update_still_off_updates_the_open_case():
    engine = run([*master(), contract(9.50), priced(8.00), update(("1", "BRG-6204", 10, 8.5))])
    [case] = cases_of(engine, "pricing.mismatch")
    assert case["status"] == "open"
    assert case["signals"] == 2


def test_an_update_bringing_every_line_within_tolerance_resolves_the_case():
    engine = run([*master(), contract(9.50), priced(8.00), update(("1", "BRG-6204", 10, 9.50))])
    [case] = cases_of(engine, "pricing.mismatch")
    assert case["status"] == "resolved"
    assert case["closed_at"] == "2026-05-04T10:00:00Z"
    assert case["resolution"] == "every line priced within tolerance"


def test_an_update_without_lines_changes_nothing():
    ship = ev("order.updated", {"order_id": "SO-1", "currency": "USD"}, when=at(hours=2))
    engine = run([*master(), contract(9.50), priced(8.00), ship])
    [case] = cases_of(engine, "pricing.mismatch")
    assert case["status"] == "open"
    assert case["signals"] == 1


def test_an_update_introducing_a_bad_price_opens_a_case():
    engine = run([*master(), priced(10.0), update(("2", "BRG-6204", 1, 2.0))])
    [case] = cases_of(engine, "pricing.mismatch")
    assert case["opened_at"] == "2026-05-04T10:00:00Z"
    assert case["summary"].startswith("line 2 BRG-6204 at 2.00")


def test_an_erp_pricing_check_failure_opens_the_case():
    failed = ev(
        "order.validation_failed",
        {"order_id": "SO-1", "check": "pricing", "reason": "below floor"},
        when=at(hours=1),
    )
    engine = run([*master(), priced(10.0), failed])
    [case] = cases_of(engine, "pricing.mismatch")
    assert case["root_cause"] == "erp_pricing_check"
    assert case["summary"] == "ERP pricing check failed: below floor"


def test_other_validation_failures_are_not_pricing():
    failed = ev(
        "order.validation_failed", {"order_id": "SO-1", "check": "address"}, when=at(hours=1)
    )
    engine = run([*master(), priced(10.0), failed])
    assert cases_of(engine, "pricing.mismatch") == []


def test_releasing_the_pricing_hold_resolves_the_case():
    release = ev("order.released", {"order_id": "SO-1", "hold_code": "pricing"}, when=at(hours=3))
    engine = run([*master(), priced(5.0), release])
    [case] = cases_of(engine, "pricing.mismatch")
    assert case["status"] == "resolved"
    assert case["resolution"] == "pricing hold released"
