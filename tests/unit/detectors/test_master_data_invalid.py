from builders import at, cases_of, ev, master, order, run
from unsnag.policy import load_policy, policy_from_mapping

GOOD_SHIP_TO = {
    "name": "Acme",
    "line1": "1 Main St",
    "city": "Springfield",
    "region": "IL",
    "postal_code": "62701",
    "country": "US",
}


def without_rules():
    """The default policy without its CEL rules: their own resolve_when (a complete ship-to,
    a PO number on any order.updated) closes every master_data.invalid case of the order."""
    data = load_policy().model_dump(mode="json")
    data["rules"] = []
    return policy_from_mapping(data)


def validation_failed(check, hours=1.0, oid="SO-1", reason="no such street"):
    data = {"order_id": oid, "check": check, "reason": reason}
    return ev("order.validation_failed", data, when=at(hours=hours))


def ship_to_fixed(hours=3.0, **changes):
    ship_to = {**GOOD_SHIP_TO, **changes}
    return ev("order.updated", {"order_id": "SO-1", "ship_to": ship_to}, when=at(hours=hours))


def test_a_failed_address_check_opens_a_case_on_the_order():
    engine = run([*master(), order(), validation_failed("address")])
    [case] = cases_of(engine, "master_data.invalid")
    assert case["subject"] == "SO-1"
    assert case["key"] == "SO-1"
    assert case["refs"] == {"customer_id": "C1", "order_id": "SO-1"}
    assert case["root_cause"] == "address"
    assert case["owner_team"] == "customer_service"
    assert case["rule"] == "master-data-invalid"
    assert case["summary"] == "address check failed: no such street"
    assert case["revenue_at_risk"] == 100.0


def test_tax_and_master_data_checks_name_their_root_cause():
    engine = run(
        [
            *master(),
            order(),
            order("SO-2"),
            validation_failed("tax"),
            validation_failed("master_data", oid="SO-2"),
        ]
    )
    causes = {c["subject"]: c["root_cause"] for c in cases_of(engine, "master_data.invalid")}
    assert causes == {"SO-1": "tax", "SO-2": "master_data"}


def test_a_failed_pricing_check_belongs_to_pricing():
    engine = run([*master(), order(), validation_failed("pricing")])
    assert cases_of(engine, "master_data.invalid") == []


def test_a_carrier_rejecting_an_address_is_not_a_master_data_case():
    rejected = ev(
        "carrier.rejected",
        {"order_id": "SO-1", "carrier": "ups", "reason": "address not found"},
        when=at(hours=1),
    )
    engine = run([*master(), order(), rejected])
    assert cases_of(engine, "master_data.invalid") == []


def test_a_repeat_failure_updates_the_open_case():
    engine = run(
        [*master(), order(), validation_failed("address"), validation_failed("tax", hours=2)]
    )
    [case] = cases_of(engine, "master_data.invalid")
    assert case["signals"] == 2
    assert case["root_cause"] == "address"


def test_an_incomplete_ship_to_and_a_failed_address_check_are_one_case():
    no_postal = order(
        ship_to={"name": "Acme", "line1": "1 Main St", "city": "Springfield", "country": "US"}
    )
    engine = run([*master(), no_postal, validation_failed("address")])
    [case] = cases_of(engine, "master_data.invalid")
    assert case["signals"] == 2
    assert case["rule"] == "ship-to-incomplete"
    assert case["root_cause"] == "ship_to_incomplete"
    assert case["key"] == "SO-1"


def test_fixing_the_ship_to_resolves_the_rule_and_the_detector_case_together():
    no_postal = order(ship_to={"name": "Acme", "line1": "1 Main St", "country": "US"})
    engine = run([*master(), no_postal, validation_failed("address"), ship_to_fixed()])
    [case] = cases_of(engine, "master_data.invalid")
    assert case["status"] == "resolved"
    assert case["closed_at"] == "2026-05-04T11:00:00Z"


def test_an_updated_ship_to_resolves_an_address_failure():
    engine = run([*master(), order(), validation_failed("address"), ship_to_fixed()])
    [case] = cases_of(engine, "master_data.invalid")
    assert case["status"] == "resolved"
    assert case["resolution"] == "ship-to corrected"


def test_an_updated_ship_to_still_incomplete_resolves_nothing():
    engine = run([*master(), order(), validation_failed("address"), ship_to_fixed(postal_code="")])
    [case] = cases_of(engine, "master_data.invalid")
    assert case["status"] == "open"


def test_an_update_without_ship_to_resolves_nothing():
    update = ev("order.updated", {"order_id": "SO-1", "po_number": "PO-9"}, when=at(hours=3))
    engine = run([*master(), order(), validation_failed("tax"), update], without_rules())
    [case] = cases_of(engine, "master_data.invalid")
    assert case["status"] == "open"


def test_a_new_ship_to_does_not_fix_other_master_data():
    engine = run(
        [*master(), order(), validation_failed("master_data"), ship_to_fixed()], without_rules()
    )
    [case] = cases_of(engine, "master_data.invalid")
    assert case["status"] == "open"


def test_releasing_the_master_data_hold_resolves_the_case():
    release = ev(
        "order.released", {"order_id": "SO-1", "hold_code": "master_data"}, when=at(hours=2)
    )
    engine = run([*master(), order(), validation_failed("master_data"), release])
    [case] = cases_of(engine, "master_data.invalid")
    assert case["status"] == "resolved"
    assert case["resolution"] == "master-data hold released"


def test_releasing_another_hold_resolves_nothing():
    release = ev("order.released", {"order_id": "SO-1", "hold_code": "credit"}, when=at(hours=2))
    engine = run([*master(), order(), validation_failed("master_data"), release])
    [case] = cases_of(engine, "master_data.invalid")
    assert case["status"] == "open"


def test_the_order_moving_on_resolves_the_case():
    reserved = ev(
        "allocation.reserved",
        {"order_id": "SO-1", "line_id": "1", "node_id": "dc-east", "qty": 10},
        when=at(hours=2),
    )
    engine = run([*master(), order(), validation_failed("tax"), reserved])
    [case] = cases_of(engine, "master_data.invalid")
    assert case["status"] == "resolved"
    assert case["resolution"] == "order moved on (allocation.reserved)"


def test_a_shipment_created_for_the_order_resolves_the_case():
    created = ev("shipment.created", {"shipment_id": "SH-1", "order_id": "SO-1"}, when=at(hours=2))
    engine = run([*master(), order(), validation_failed("address"), created])
    [case] = cases_of(engine, "master_data.invalid")
    assert case["status"] == "resolved"


def test_another_order_moving_on_resolves_nothing():
    reserved = ev(
        "allocation.reserved",
        {"order_id": "SO-2", "line_id": "1", "node_id": "dc-east", "qty": 10},
        when=at(hours=2),
    )
    engine = run([*master(), order(), order("SO-2"), validation_failed("tax"), reserved])
    [case] = cases_of(engine, "master_data.invalid")
    assert case["status"] == "open"


def test_cancelling_the_order_cancels_the_case():
    cancel = ev("order.cancelled", {"order_id": "SO-1"}, when=at(hours=2))
    engine = run([*master(), order(), validation_failed("address"), cancel])
    [case] = cases_of(engine, "master_data.invalid")
    assert case["status"] == "cancelled"
