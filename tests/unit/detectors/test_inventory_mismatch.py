from builders import at, cases_of, ev, policy_with, product, run


def snapshot(system: str, on_hand: float, when=None, node: str = "dc-east", sku: str = "BRG-6204"):
    source = "erp" if system == "erp" else f"wms/{node}"
    data = {"node_id": node, "sku": sku, "on_hand": on_hand}
    return ev("inventory.snapshot", data, when=when or at(hours=1), source=source)


def test_erp_and_wms_disagreeing_beyond_tolerance_opens_a_case_on_the_stock():
    engine = run([product(), snapshot("erp", 120), snapshot("wms", 96, when=at(hours=1.5))])
    [case] = cases_of(engine, "inventory.mismatch")
    assert case["subject"] == "dc-east/BRG-6204"
    assert case["key"] == "dc-east/BRG-6204"
    assert case["refs"] == {"node_id": "dc-east", "sku": "BRG-6204"}
    assert case["owner_team"] == "inventory_control"
    assert case["status"] == "open"
    assert case["summary"] == "ERP says 120, WMS says 96 of BRG-6204 at dc-east (gap 24, 20 %)"
    assert case["revenue_at_risk"] == 240.0  # 24 units at list price 10
    assert case["opened_at"] == "2026-05-04T09:30:00Z"


def test_the_gap_is_valued_at_unit_cost_when_there_is_no_list_price():
    cheap = ev("product.upserted", {"sku": "BRG-6204", "unit_cost": 6.0}, when=at(-48))
    engine = run([cheap, snapshot("erp", 120), snapshot("wms", 96)])
    [case] = cases_of(engine, "inventory.mismatch")
    assert case["revenue_at_risk"] == 144.0


def test_a_gap_of_one_unit_is_noise():
    engine = run([product(), snapshot("erp", 10), snapshot("wms", 9)])
    assert cases_of(engine, "inventory.mismatch") == []


def test_a_gap_within_the_percentage_tolerance_is_noise():
    engine = run([product(), snapshot("erp", 1000), snapshot("wms", 985)])  # 1.5 %
    assert cases_of(engine, "inventory.mismatch") == []


def test_a_gap_must_exceed_both_tolerances():
    policy = policy_with(inventory_mismatch={"abs_units": 5, "pct": 0.0})
    engine = run([product(), snapshot("erp", 100), snapshot("wms", 96)], policy)
    assert cases_of(engine, "inventory.mismatch") == []


def test_a_stale_snapshot_is_not_evidence():
    engine = run(
        [product(), snapshot("erp", 120, when=at(hours=1)), snapshot("wms", 96, when=at(hours=4))]
    )
    assert cases_of(engine, "inventory.mismatch") == []


def test_one_system_alone_has_nothing_to_compare():
    engine = run([product(), snapshot("erp", 120), snapshot("erp", 96, when=at(hours=2))])
    assert cases_of(engine, "inventory.mismatch") == []


def test_other_nodes_and_skus_are_compared_separately():
    engine = run(
        [
            product(),
            snapshot("erp", 120),
            snapshot("wms", 96, node="dc-west"),
            snapshot("wms", 96, sku="NUT-M8"),
        ]
    )
    assert cases_of(engine, "inventory.mismatch") == []


def test_a_repeat_disagreement_updates_the_open_case():
    engine = run(
        [
            product(),
            snapshot("erp", 120),
            snapshot("wms", 96),
            snapshot("wms", 90, when=at(hours=2)),
        ]
    )
    [case] = cases_of(engine, "inventory.mismatch")
    assert case["signals"] == 2
    assert case["revenue_at_risk"] == 300.0


def test_an_adjustment_is_compared_like_a_snapshot():
    adjusted = ev(
        "inventory.adjusted",
        {"node_id": "dc-east", "sku": "BRG-6204", "delta": -24, "reason": "damage"},
        when=at(hours=2),
        source="wms/dc-east",
    )
    engine = run([product(), snapshot("erp", 120), snapshot("wms", 120), adjusted])
    [case] = cases_of(engine, "inventory.mismatch")
    assert case["opened_at"] == "2026-05-04T10:00:00Z"


def test_a_later_comparison_within_tolerance_resolves_the_case():
    engine = run(
        [
            product(),
            snapshot("erp", 120),
            snapshot("wms", 96),
            snapshot("erp", 97, when=at(hours=3)),
        ]
    )
    [case] = cases_of(engine, "inventory.mismatch")
    assert case["status"] == "resolved"
    assert case["closed_at"] == "2026-05-04T11:00:00Z"
    assert case["resolution"] == "ERP and WMS agree again"


def test_agreement_against_a_stale_view_does_not_resolve():
    engine = run(
        [
            product(),
            snapshot("erp", 120),
            snapshot("wms", 96),
            snapshot("erp", 96, when=at(hours=6)),
        ]
    )
    [case] = cases_of(engine, "inventory.mismatch")
    assert case["status"] == "open"
