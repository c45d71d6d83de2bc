from builders import at, cases_of, ev, iso, master, order, run


def created(sid="SH-1", when=None, carrier="ups"):
    data = {
        "shipment_id": sid,
        "order_id": "SO-1",
        "node_id": "dc-east",
        "carrier": carrier,
        "lines": [{"line_id": "1", "qty": 10}],
    }
    return ev("shipment.created", data, when=when or at(hours=10))


def dispatched(sid="SH-1", when=None):
    return ev("shipment.dispatched", {"shipment_id": sid}, when=when or at(hours=12))


def failed(reason="refused", sid="SH-1", when=None):
    return ev("shipment.failed", {"shipment_id": sid, "reason": reason}, when=when or at(hours=30))


def rejected(reason="routing", when=None, **keys):
    data = {"carrier": "fedex", "reason": reason, **keys}
    return ev("carrier.rejected", data, when=when or at(hours=11))


def delivered(sid, when):
    return ev("shipment.delivered", {"shipment_id": sid, "delivered_at": iso(when)}, when=when)


def test_a_failed_delivery_opens_a_case_on_the_order():
    engine = run([*master(), order(), created(), dispatched(), failed("refused")])
    [case] = cases_of(engine, "shipment.failed")
    assert case["subject"] == "SO-1"
    assert case["key"] == "SO-1"
    assert case["root_cause"] == "refused"
    assert case["refs"] == {
        "carrier": "ups",
        "node_id": "dc-east",
        "order_id": "SO-1",
        "shipment_id": "SH-1",
    }
    assert case["owner_team"] == "logistics"
    assert case["revenue_at_risk"] == 100.0
    assert case["summary"] == "delivery of SH-1 failed: refused (ups)"


def test_a_carrier_rejection_naming_only_the_shipment_is_mapped_to_its_order():
    engine = run([*master(), order(), created(), rejected("routing", shipment_id="SH-1")])
    [case] = cases_of(engine, "shipment.failed")
    assert case["subject"] == "SO-1"
    assert case["root_cause"] == "carrier_rejected:routing"
    assert case["summary"] == "fedex rejected SH-1: routing"


def test_a_carrier_rejection_of_the_order_opens_a_case_with_a_tidy_root_cause():
    engine = run([*master(), order(), rejected("Service unavailable", order_id="SO-1")])
    [case] = cases_of(engine, "shipment.failed")
    assert case["root_cause"] == "carrier_rejected:service_unavailable"
    assert case["refs"] == {"carrier": "fedex", "order_id": "SO-1"}


def test_a_rejection_of_an_unknown_shipment_is_ignored():
    engine = run([*master(), order(), rejected(shipment_id="SH-404")])
    assert cases_of(engine, "shipment.failed") == []


def test_a_rejection_then_a_failed_delivery_of_the_replanned_shipment_update_one_case():
    events = [
        *master(),
        order(),
        created(),
        rejected(shipment_id="SH-1"),
        created("SH-2", when=at(hours=14), carrier="dhl"),
        failed("address", sid="SH-2", when=at(hours=30)),
    ]
    [case] = cases_of(run(events), "shipment.failed")
    assert case["signals"] == 2
    assert case["root_cause"] == "carrier_rejected:routing"
    assert case["refs"]["shipment_id"] == ["SH-1", "SH-2"]
    assert case["refs"]["carrier"] == ["dhl", "fedex"]
    assert case["status"] == "open"


def test_a_new_shipment_created_alone_does_not_resolve_the_case():
    events = [
        *master(),
        order(),
        created(),
        dispatched(),
        failed(),
        created("SH-2", when=at(hours=31)),
    ]
    [case] = cases_of(run(events), "shipment.failed")
    assert case["status"] == "open"


def test_dispatching_the_replacement_shipment_resolves_the_case():
    events = [
        *master(),
        order(),
        created(),
        dispatched(),
        failed(),
        created("SH-2", when=at(hours=31)),
        dispatched("SH-2", when=at(hours=33)),
    ]
    [case] = cases_of(run(events), "shipment.failed")
    assert case["status"] == "resolved"
    assert case["closed_at"] == iso(at(hours=33))
    assert case["resolution"] == "SH-2 dispatched by ups"


def test_a_rejected_shipment_tendered_again_and_dispatched_resolves_the_case():
    events = [
        *master(),
        order(),
        created(),
        rejected(shipment_id="SH-1"),
        dispatched("SH-1", when=at(hours=13)),
    ]
    [case] = cases_of(run(events), "shipment.failed")
    assert case["status"] == "resolved"


def test_delivering_a_replacement_shipment_resolves_the_case():
    events = [
        *master(),
        order(),
        created(),
        dispatched(),
        failed(),
        created("SH-2", when=at(hours=31)),
        delivered("SH-2", at(hours=40)),
    ]
    [case] = cases_of(run(events), "shipment.failed")
    assert case["status"] == "resolved"
    assert case["closed_at"] == iso(at(hours=40))


def test_the_failed_shipment_delivered_on_a_later_attempt_resolves_the_case():
    events = [
        *master(),
        order(),
        created(),
        dispatched(),
        failed("no_access"),
        delivered("SH-1", at(hours=50)),
    ]
    [case] = cases_of(run(events), "shipment.failed")
    assert case["status"] == "resolved"
    assert case["resolution"] == "SH-1 delivered"


def test_a_shipment_under_way_before_the_failure_and_delivered_after_does_not_resolve_it():
    events = [
        *master(),
        order(),
        created(),
        created("SH-2", when=at(hours=10)),
        dispatched(),
        dispatched("SH-2"),
        failed(),
        delivered("SH-2", at(hours=40)),
    ]
    [case] = cases_of(run(events), "shipment.failed")
    assert case["status"] == "open"


def test_a_failure_after_resolution_opens_a_new_case():
    events = [
        *master(),
        order(),
        created(),
        dispatched(),
        failed(),
        created("SH-2", when=at(hours=31)),
        dispatched("SH-2", when=at(hours=33)),
        failed("lost", sid="SH-2", when=at(hours=60)),
    ]
    first, second = cases_of(run(events), "shipment.failed")
    assert first["status"] == "resolved"
    assert second["status"] == "open"
    assert second["root_cause"] == "lost"
    assert first["id"] != second["id"]


def test_cancelling_the_order_cancels_the_case():
    cancel = ev("order.cancelled", {"order_id": "SO-1", "reason": "customer"}, when=at(hours=35))
    events = [*master(), order(), created(), dispatched(), failed(), cancel]
    [case] = cases_of(run(events), "shipment.failed")
    assert case["status"] == "cancelled"
