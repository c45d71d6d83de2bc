from builders import at, cases_of, default_policy, ev, iso, master, order, policy_with, run
from unsnag.engine import Engine

BIG = [("1", "BRG-6204", 100, 10.0)]


def setup(lines=None, oid="SO-1"):
    data = {"invoice_id": f"INV-{oid}", "order_id": oid, "customer_id": "C1", "amount": 1000.0}
    return [
        *master(),
        order(oid, lines=lines or BIG),
        ev("invoice.issued", data, when=at(hours=20)),
    ]


def requested(qty=5, reason="unwanted", rma="RMA-1", oid="SO-1", when=None):
    lines = [{"line_id": "1", "sku": "BRG-6204", "qty": qty, "reason": reason}]
    data = {"rma_id": rma, "order_id": oid, "lines": lines}
    return ev("return.requested", data, when=when or at(days=3))


def received(rma="RMA-1", when=None):
    data = {
        "rma_id": rma,
        "node_id": "dc-east",
        "lines": [{"sku": "BRG-6204", "qty": 5, "condition": "good"}],
    }
    return ev("return.received", data, when=when or at(days=5))


def memo(when, oid="SO-1", memo_id="CM-1"):
    data = {"memo_id": memo_id, "invoice_id": f"INV-{oid}", "amount": 50.0}
    return ev("credit_memo.issued", data, when=when)


def live(events, policy=None):
    """Like ``run``, but time passes between events: due timers fire before each event."""
    engine = Engine(policy or default_policy())
    for event in events:
        engine.advance(event.time)
        engine.step(event)
    engine.advance()
    return engine


DEADLINE = at(days=8)  # received on day 5, credit within 72 h


def test_a_damaged_return_needs_authorisation_at_once():
    [case] = cases_of(run([*setup(), requested(reason="damaged")]), "return.pending")
    assert case["subject"] == "SO-1"
    assert case["key"] == "RMA-1"
    assert case["root_cause"] == "needs_authorisation"
    assert case["refs"] == {"order_id": "SO-1", "rma_id": "RMA-1"}
    assert case["revenue_at_risk"] == 50.0
    assert case["owner_team"] == "returns"
    assert case["summary"] == "RMA-1 needs authorisation: reason damaged"


def test_an_unwanted_return_over_the_value_limit_needs_authorisation():
    [case] = cases_of(run([*setup(), requested(qty=60)]), "return.pending")
    assert case["root_cause"] == "needs_authorisation"
    assert "value 600.00 over the 500.00 auto-authorise limit" in case["summary"]


def test_an_unwanted_low_value_return_credited_in_time_never_opens_a_case():
    events = [*setup(), requested(), received(), memo(at(days=6))]
    assert cases_of(run(events, until=at(days=30)), "return.pending") == []


def test_a_credit_issued_before_the_goods_came_back_is_in_time():
    events = [*setup(), requested(), memo(at(days=4)), received()]
    assert cases_of(run(events, until=at(days=30)), "return.pending") == []


def test_a_return_not_credited_in_time_opens_a_credit_overdue_case():
    events = [*setup(), requested(), received()]
    [case] = cases_of(run(events, until=at(days=9)), "return.pending")
    assert case["root_cause"] == "credit_overdue"
    assert case["opened_at"] == iso(DEADLINE)
    assert case["status"] == "open"


def test_the_credit_clock_follows_the_policy():
    policy = policy_with(return_pending={"credit_within_hours": 24})
    [case] = cases_of(
        run([*setup(), requested(), received()], policy, until=at(days=9)), "return.pending"
    )
    assert case["opened_at"] == iso(at(days=6))


def test_a_late_credit_opens_at_the_deadline_and_resolves_at_the_credit_time():
    events = [*setup(), requested(), received(), memo(at(days=9))]
    [case] = cases_of(run(events), "return.pending")
    assert case["root_cause"] == "credit_overdue"
    assert case["opened_at"] == iso(DEADLINE)
    assert case["status"] == "resolved"
    assert case["closed_at"] == iso(at(days=9))
    assert case["resolution"] == "credit memo issued 24 h after the deadline"


def test_a_return_needing_authorisation_and_credited_late_stays_one_case():
    events = [*setup(), requested(reason="wrong_item"), received(), memo(at(days=9))]
    [case] = cases_of(run(events), "return.pending")
    assert case["root_cause"] == "needs_authorisation"
    assert case["signals"] == 2
    assert case["status"] == "resolved"
    assert case["closed_at"] == iso(at(days=9))


def test_the_credit_memo_resolves_the_authorisation_case():
    events = [*setup(), requested(reason="damaged"), received(), memo(at(days=6))]
    [case] = cases_of(run(events, until=at(days=30)), "return.pending")
    assert case["status"] == "resolved"
    assert case["closed_at"] == iso(at(days=6))
    assert case["resolution"] == "credit memo issued"
    assert case["signals"] == 1


def test_a_credit_memo_for_another_order_does_not_credit_the_return():
    events = [
        *setup(),
        *setup(oid="SO-2")[2:],
        order("SO-2", lines=BIG),
        requested(),
        received(),
        memo(at(days=6), oid="SO-2"),
    ]
    [case] = cases_of(run(events, until=at(days=9)), "return.pending")
    assert case["root_cause"] == "credit_overdue"


def test_cancelling_the_order_cancels_the_case():
    cancel = ev("order.cancelled", {"order_id": "SO-1", "reason": "customer"}, when=at(days=4))
    events = [*setup(), requested(reason="damaged"), cancel, received()]
    [case] = cases_of(run(events, until=at(days=30)), "return.pending")
    assert case["status"] == "cancelled"


def test_live_ingest_and_batch_replay_give_the_same_cases():
    scenarios = [
        [*setup(), requested(), received(), memo(at(days=9))],
        [*setup(), requested(reason="damaged"), received(), memo(at(days=9))],
        [
            *setup(),
            requested(),
            received(),
            ev("order.cancelled", {"order_id": "SO-1"}, when=at(days=10)),
        ],
        [*setup(), requested(), received(), memo(at(days=6))],
    ]
    for events in scenarios:
        assert cases_of(live(events), "return.pending") == cases_of(run(events), "return.pending")
