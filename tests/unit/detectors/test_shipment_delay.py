from builders import at, cases_of, default_policy, ev, iso, master, order, policy_with, run
from unsnag.engine import Engine

PROMISE = at(days=3)  # the order's requested delivery: Thursday 08:00


def the_order(**extra):
    return order(requested_delivery_date=iso(PROMISE), **extra)


def created(promised=None, when=None, sid="SH-1"):
    data = {
        "shipment_id": sid,
        "order_id": "SO-1",
        "node_id": "dc-east",
        "carrier": "ups",
        "lines": [{"line_id": "1", "qty": 10}],
    }
    if promised is not None:
        data["promised_delivery_date"] = iso(promised)
    return ev("shipment.created", data, when=when or at(hours=10))


def delayed(eta, when=None, reason=None, sid="SH-1"):
    data = {"shipment_id": sid, "eta": iso(eta)}
    if reason:
        data["reason"] = reason
    return ev("shipment.delayed", data, when=when or at(hours=30))


def dispatched(eta=None, when=None, sid="SH-1"):
    data = {"shipment_id": sid, "tracking_number": "1Z999"}
    if eta is not None:
        data["eta"] = iso(eta)
    return ev("shipment.dispatched", data, when=when or at(hours=20))


def delivered(when, sid="SH-1"):
    return ev("shipment.delivered", {"shipment_id": sid, "delivered_at": iso(when)}, when=when)


def live(events, policy=None):
    """Like ``run``, but time passes between events: due timers fire before each event."""
    engine = Engine(policy or default_policy())
    for event in events:
        engine.advance(event.time)
        engine.step(event)
    engine.advance()
    return engine


def test_an_eta_past_the_promise_opens_a_case_on_the_shipment():
    engine = run([*master(), the_order(), created(), delayed(at(days=4), reason="weather")])
    [case] = cases_of(engine, "shipment.delay")
    assert case["subject"] == "SO-1"
    assert case["key"] == "SH-1"
    assert case["refs"] == {
        "carrier": "ups",
        "node_id": "dc-east",
        "order_id": "SO-1",
        "shipment_id": "SH-1",
    }
    assert case["root_cause"] == "weather"
    assert case["owner_team"] == "logistics"
    assert case["revenue_at_risk"] == 100.0
    assert case["status"] == "open"
    assert "24 h past the promised 2026-05-07 08:00" in case["summary"]


def test_a_delay_without_a_reason_is_put_down_to_the_carrier():
    engine = run([*master(), the_order(), created(), delayed(at(days=4))])
    [case] = cases_of(engine, "shipment.delay")
    assert case["root_cause"] == "carrier_delay"


def test_a_dispatch_whose_eta_is_past_the_promise_opens_a_case():
    engine = run([*master(), the_order(), created(), dispatched(eta=at(days=3, hours=6))])
    [case] = cases_of(engine, "shipment.delay")
    assert case["opened_at"] == "2026-05-05T04:00:00Z"


def test_an_eta_that_moves_but_stays_inside_the_promise_is_not_a_delay():
    events = [
        *master(),
        the_order(),
        created(),
        dispatched(eta=at(days=2)),
        delayed(at(days=2, hours=20), when=at(hours=40)),
        delivered(at(days=2, hours=22)),
    ]
    engine = run(events, until=at(days=6))
    assert cases_of(engine, "shipment.delay") == []


def test_an_eta_within_the_tolerance_is_not_a_delay():
    policy = policy_with(shipment_delay={"tolerance_hours": 4})
    engine = run([*master(), the_order(), created(), delayed(at(days=3, hours=3))], policy)
    assert cases_of(engine, "shipment.delay") == []


def test_the_shipments_own_promise_wins_over_the_orders():
    events = [*master(), the_order(), created(promised=at(days=5)), delayed(at(days=4))]
    assert cases_of(run(events), "shipment.delay") == []


def test_without_any_promise_there_is_nothing_to_be_late_against():
    events = [*master(), order(), created(), delayed(at(days=9))]
    assert cases_of(run(events, until=at(days=12)), "shipment.delay") == []


def test_a_second_delay_updates_the_open_case():
    events = [
        *master(),
        the_order(),
        created(),
        delayed(at(days=4)),
        delayed(at(days=5), when=at(hours=40)),
    ]
    [case] = cases_of(run(events), "shipment.delay")
    assert case["signals"] == 2


def test_an_eta_back_inside_the_promise_resolves_the_case():
    events = [
        *master(),
        the_order(),
        created(),
        delayed(at(days=4)),
        delayed(at(days=2, hours=20), when=at(hours=40)),
    ]
    [case] = cases_of(run(events), "shipment.delay")
    assert case["status"] == "resolved"
    assert case["closed_at"] == iso(at(hours=40))
    assert "back inside the promise" in case["resolution"]


def test_moving_the_requested_date_past_the_eta_resolves_the_case():
    moved = ev(
        "order.updated",
        {"order_id": "SO-1", "requested_delivery_date": iso(at(days=5))},
        when=at(hours=40),
    )
    events = [*master(), the_order(), created(), delayed(at(days=4)), moved]
    [case] = cases_of(run(events, until=at(days=4, hours=12)), "shipment.delay")
    assert case["status"] == "resolved"
    assert case["closed_at"] == iso(at(hours=40))


def test_delivery_resolves_the_case_and_says_how_late():
    events = [
        *master(),
        the_order(),
        created(),
        delayed(at(days=4)),
        delivered(at(days=4, hours=2)),
    ]
    [case] = cases_of(run(events), "shipment.delay")
    assert case["status"] == "resolved"
    assert case["closed_at"] == iso(at(days=4, hours=2))
    assert case["resolution"] == "delivered late by 26 h"
    assert case["signals"] == 2  # the ETA, then the promise passing undelivered


def test_an_undelivered_shipment_past_its_promise_opens_a_missed_promise_case():
    events = [*master(), the_order(), created(), dispatched()]
    [case] = cases_of(run(events, until=at(days=3, hours=1)), "shipment.delay")
    assert case["root_cause"] == "missed_promise"
    assert case["opened_at"] == iso(PROMISE)
    assert case["status"] == "open"


def test_the_missed_promise_check_waits_for_the_tolerance():
    policy = policy_with(shipment_delay={"tolerance_hours": 6})
    events = [*master(), the_order(), created(), dispatched()]
    assert cases_of(run(events, policy, until=at(days=3, hours=5)), "shipment.delay") == []
    [case] = cases_of(run(events, policy, until=at(days=3, hours=6)), "shipment.delay")
    assert case["opened_at"] == iso(at(days=3, hours=6))


def test_a_shipment_delivered_by_the_promise_never_opens_a_case():
    events = [*master(), the_order(), created(), dispatched(), delivered(at(days=2, hours=23))]
    assert cases_of(run(events, until=at(days=9)), "shipment.delay") == []


def test_a_late_delivery_opens_at_the_promise_and_resolves_at_the_delivery_time():
    events = [*master(), the_order(), created(), dispatched(), delivered(at(days=3, hours=5))]
    [case] = cases_of(run(events), "shipment.delay")
    assert case["root_cause"] == "missed_promise"
    assert case["opened_at"] == iso(PROMISE)
    assert case["status"] == "resolved"
    assert case["closed_at"] == iso(at(days=3, hours=5))
    assert case["resolution"] == "delivered late by 5 h"


def test_the_missed_promise_check_can_be_switched_off():
    policy = policy_with(shipment_delay={"missed_promise_check": False})
    events = [*master(), the_order(), created(), dispatched()]
    assert cases_of(run(events, policy, until=at(days=9)), "shipment.delay") == []


def test_a_failed_shipment_supersedes_the_delay_case():
    failed = ev("shipment.failed", {"shipment_id": "SH-1", "reason": "address"}, when=at(hours=50))
    events = [*master(), the_order(), created(), delayed(at(days=4)), failed]
    [case] = cases_of(run(events, until=at(days=9)), "shipment.delay")
    assert case["status"] == "resolved"
    assert case["resolution"].startswith("superseded")
    assert case["signals"] == 1


def test_a_shipment_failed_before_its_promise_is_not_a_missed_promise():
    failed = ev("shipment.failed", {"shipment_id": "SH-1", "reason": "refused"}, when=at(hours=50))
    events = [*master(), the_order(), created(), dispatched(), failed]
    assert cases_of(run(events, until=at(days=9)), "shipment.delay") == []


def test_cancelling_the_order_cancels_the_case():
    cancel = ev("order.cancelled", {"order_id": "SO-1", "reason": "customer"}, when=at(hours=40))
    events = [*master(), the_order(), created(), delayed(at(days=4)), cancel]
    [case] = cases_of(run(events, until=at(days=9)), "shipment.delay")
    assert case["status"] == "cancelled"


def test_an_order_cancelled_after_the_missed_promise_keeps_the_history():
    cancel = ev("order.cancelled", {"order_id": "SO-1", "reason": "customer"}, when=at(days=4))
    events = [*master(), the_order(), created(), dispatched(), cancel]
    [case] = cases_of(run(events), "shipment.delay")
    assert case["opened_at"] == iso(PROMISE)
    assert case["status"] == "cancelled"
    assert case["closed_at"] == iso(at(days=4))


def test_live_ingest_and_batch_replay_give_the_same_cases():
    cancel = ev("order.cancelled", {"order_id": "SO-2", "reason": "customer"}, when=at(days=4))
    scenarios = [
        [*master(), the_order(), created(), delayed(at(days=4)), delivered(at(days=4, hours=2))],
        [*master(), the_order(), created(), dispatched(), delivered(at(days=3, hours=5))],
        [*master(), the_order(), created(), dispatched(), delayed(at(days=5), when=at(days=3.5))],
        [
            *master(),
            the_order(),
            created(),
            dispatched(),
            ev("shipment.failed", {"shipment_id": "SH-1", "reason": "lost"}, when=at(days=4)),
        ],
        [
            *master(),
            the_order(),
            created(),
            dispatched(eta=at(days=2)),
            order("SO-2", requested_delivery_date=iso(PROMISE)),
            ev("shipment.created", {"shipment_id": "SH-2", "order_id": "SO-2"}, when=at(hours=11)),
            cancel,
        ],
    ]
    for events in scenarios:
        assert cases_of(live(events), "shipment.delay") == cases_of(run(events), "shipment.delay")


def test_a_shipment_the_carrier_rejected_is_not_also_a_missed_promise():
    data = {"order_id": "SO-1", "shipment_id": "SH-1", "carrier": "ups", "reason": "address"}
    rejected = ev("carrier.rejected", data, when=at(hours=6))
    events = [*master(), the_order(), created(), rejected]
    assert cases_of(run(events, until=at(days=9)), "shipment.delay") == []
    [failed] = cases_of(run(events, until=at(days=9)), "shipment.failed")
    assert failed["status"] == "open"
