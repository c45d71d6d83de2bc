from builders import at, cases_of, ev, policy_with, product, run


def po(lines=(("BRG-6204", 100),), po_id="PO-1"):
    data = {
        "po_id": po_id,
        "supplier_id": "SUP-1",
        "node_id": "dc-east",
        "lines": [{"sku": sku, "qty": qty} for sku, qty in lines],
    }
    return [
        product(),
        product("BRG-6205", cost=15.0),
        ev("purchase_order.created", data, when=at()),
    ]


def asn(lines, asn_id="ASN-1", hours=10, po_number="PO-1", **extra):
    data = {
        "asn_id": asn_id,
        "po_number": po_number,
        "shipment_id": f"IN-{asn_id}",
        "lines": [{"sku": sku, "qty": qty} for sku, qty in lines],
        **extra,
    }
    return ev("asn.received", data, when=at(hours=hours))


def receipt(lines, hours=30, po_id="PO-1"):
    data = {
        "po_id": po_id,
        "node_id": "dc-east",
        "lines": [{"sku": sku, "qty": qty} for sku, qty in lines],
    }
    return ev("receipt.posted", data, when=at(hours=hours))


def test_an_asn_over_the_po_opens_a_case_at_once():
    [case] = cases_of(run([*po(), asn([("BRG-6204", 110)])]), "asn.discrepancy")
    assert case["subject"] == "PO-1"
    assert case["key"] == "PO-1"
    assert case["root_cause"] == "asn_over"
    assert case["revenue_at_risk"] == 60.0  # 10 units at cost 6
    assert case["customer_id"] is None
    assert case["owner_team"] == "receiving"
    assert case["refs"] == {
        "asn_id": "ASN-1",
        "node_id": "dc-east",
        "po_id": "PO-1",
        "shipment_id": "IN-ASN-1",
        "sku": "BRG-6204",
        "supplier_id": "SUP-1",
    }
    assert case["summary"] == "ASN 110 of BRG-6204 vs PO 100 (+10)"


def test_a_sku_not_on_the_po_opens_a_case():
    [case] = cases_of(run([*po(), asn([("BRG-6204", 100), ("BRG-6205", 4)])]), "asn.discrepancy")
    assert case["root_cause"] == "asn_unknown_sku"
    assert case["revenue_at_risk"] == 60.0  # 4 units at cost 15


def test_quantities_within_tolerance_are_no_discrepancy():
    assert cases_of(run([*po(), asn([("BRG-6204", 102)])]), "asn.discrepancy") == []
    events = [*po(), asn([("BRG-6204", 102)]), receipt([("BRG-6204", 101)])]
    assert cases_of(run(events), "asn.discrepancy") == []


def test_the_unit_tolerance_applies_when_larger_than_the_percentage():
    policy = policy_with(asn_discrepancy={"qty_tolerance_units": 5})
    assert cases_of(run([*po(), asn([("BRG-6204", 105)])], policy), "asn.discrepancy") == []
    assert cases_of(run([*po(), asn([("BRG-6204", 106)])], policy), "asn.discrepancy") != []


def test_an_asn_short_of_the_po_is_no_discrepancy_before_the_receipt():
    assert cases_of(run([*po(), asn([("BRG-6204", 60)])]), "asn.discrepancy") == []


def test_two_partial_asns_summing_to_the_po_are_no_discrepancy():
    events = [
        *po(),
        asn([("BRG-6204", 60)]),
        asn([("BRG-6204", 40)], "ASN-2", hours=20),
        receipt([("BRG-6204", 100)]),
    ]
    assert cases_of(run(events), "asn.discrepancy") == []


def test_partial_asns_that_together_exceed_the_po_open_a_case():
    events = [*po(), asn([("BRG-6204", 60)]), asn([("BRG-6204", 60)], "ASN-2", hours=20)]
    [case] = cases_of(run(events), "asn.discrepancy")
    assert case["root_cause"] == "asn_over"
    assert case["refs"]["asn_id"] == "ASN-2"


def test_the_same_asn_sent_twice_is_counted_once():
    events = [*po(), asn([("BRG-6204", 60)]), asn([("BRG-6204", 60)], hours=11)]
    assert cases_of(run(events), "asn.discrepancy") == []


def test_a_receipt_short_of_the_asn_opens_a_case():
    events = [*po(), asn([("BRG-6204", 100)]), receipt([("BRG-6204", 90)])]
    [case] = cases_of(run(events), "asn.discrepancy")
    assert case["root_cause"] == "receipt_vs_asn"
    assert case["revenue_at_risk"] == 60.0
    assert case["summary"] == "received 90 of BRG-6204 vs ASN 100 (-10)"


def test_a_receipt_matching_a_short_asn_is_short_of_the_po():
    events = [*po(), asn([("BRG-6204", 60)]), receipt([("BRG-6204", 60)])]
    [case] = cases_of(run(events), "asn.discrepancy")
    assert case["root_cause"] == "receipt_vs_po"
    assert case["revenue_at_risk"] == 240.0


def test_a_second_discrepancy_updates_the_open_case():
    events = [*po(), asn([("BRG-6204", 110)]), receipt([("BRG-6204", 90)])]
    [case] = cases_of(run(events), "asn.discrepancy")
    assert case["signals"] == 2


def test_the_rest_of_the_receipt_resolves_the_case():
    events = [
        *po(),
        asn([("BRG-6204", 100)]),
        receipt([("BRG-6204", 90)]),
        receipt([("BRG-6204", 10)], hours=40),
    ]
    [case] = cases_of(run(events), "asn.discrepancy")
    assert case["status"] == "resolved"
    assert case["closed_at"] == "2026-05-06T00:00:00Z"
    assert case["resolution"] == "receipt brings the PO within tolerance"


def test_a_later_asn_and_receipt_for_the_missing_quantity_resolve_the_case():
    events = [
        *po(),
        asn([("BRG-6204", 60)]),
        receipt([("BRG-6204", 60)]),
        asn([("BRG-6204", 40)], "ASN-2", hours=35),
        receipt([("BRG-6204", 40)], hours=40),
    ]
    [case] = cases_of(run(events), "asn.discrepancy")
    assert case["status"] == "resolved"


def test_a_receipt_against_a_po_without_asns_is_not_an_asn_discrepancy():
    assert cases_of(run([*po(), receipt([("BRG-6204", 50)])]), "asn.discrepancy") == []


def test_an_asn_for_an_unknown_po_is_ignored():
    assert (
        cases_of(run([*po(), asn([("BRG-6204", 500)], po_number="PO-X")]), "asn.discrepancy") == []
    )
