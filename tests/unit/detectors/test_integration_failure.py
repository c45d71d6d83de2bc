from builders import at, cases_of, ev, iso, policy_with, run

LATER = at(hours=6)  # run() advances to the last event; the wait timer needs time to pass
EP = "erp/orders-inbound"


def failed(
    minutes,
    attempt=None,
    endpoint=EP,
    operation="post_order",
    payload="s3://in/1.json",
    error="HTTP 503",
):
    data = {"endpoint": endpoint, "operation": operation, "error": error, "payload_ref": payload}
    if attempt is not None:
        data["attempt"] = attempt
    if operation is None:
        del data["operation"]
    return ev("integration.failed", data, when=at(minutes=minutes))


def recovered(minutes, endpoint=EP):
    return ev("integration.recovered", {"endpoint": endpoint}, when=at(minutes=minutes))


def outages(events, policy=None, until=LATER):
    return cases_of(run(events, policy, until), "integration.failure")


# --- positives ----------------------------------------------------------------------


def test_a_failure_not_recovered_within_the_wait_opens_a_case_at_the_end_of_the_wait():
    [case] = outages([failed(0, attempt=1)])
    assert case["subject"] == EP
    assert case["key"] == EP
    assert case["refs"] == {
        "endpoint": EP,
        "operation": "post_order",
        "payload_ref": "s3://in/1.json",
    }
    assert case["root_cause"] == "post_order"
    assert case["opened_at"] == iso(at(minutes=15))
    assert case["owner_team"] == "integration"
    assert case["customer_id"] is None
    assert case["revenue_at_risk"] == 0.0
    assert case["status"] == "open"
    assert case["summary"] == (
        "erp/orders-inbound down since 2026-05-04 08:00Z, not recovered within 15 min; "
        "post_order: HTTP 503"
    )


def test_the_retry_attempt_reaching_the_minimum_opens_at_once():
    [case] = outages([failed(0, attempt=3)])
    assert case["opened_at"] == iso(at())
    assert "(3 attempts)" in case["summary"]


def test_consecutive_failures_reaching_the_minimum_open_at_once():
    [case] = outages([failed(0), failed(1), failed(2)])
    assert case["opened_at"] == iso(at(minutes=2))


def test_a_failure_without_operation_is_an_interface_down():
    [case] = outages([failed(0, operation=None)])
    assert case["root_cause"] == "interface_down"


def test_repeat_failures_update_the_open_case_and_gather_refs():
    events = [failed(0, attempt=3), failed(5, attempt=4, operation="post_asn", payload="p2")]
    [case] = outages(events)
    assert case["signals"] == 2
    assert case["refs"]["operation"] == ["post_asn", "post_order"]
    assert case["refs"]["payload_ref"] == ["p2", "s3://in/1.json"]
    assert case["root_cause"] == "post_order"


def test_a_slow_failure_after_the_wait_updates_the_case_the_wait_opened():
    [case] = outages([failed(0), failed(20)])
    assert case["opened_at"] == iso(at(minutes=15))
    assert case["signals"] == 2


def test_the_wait_and_the_minimum_attempts_come_from_the_policy():
    policy = policy_with(integration_failure={"open_after_minutes": 60, "min_attempts": 5})
    assert outages([failed(0), failed(1), failed(2), recovered(40)], policy) == []
    [case] = outages([failed(0), failed(1), failed(2)], policy)
    assert case["opened_at"] == iso(at(minutes=60))


def test_endpoints_are_separate_problems():
    cases = outages([failed(0, attempt=3), failed(0, attempt=3, endpoint="wms/picks")])
    assert sorted(c["subject"] for c in cases) == [EP, "wms/picks"]


# --- look-alikes --------------------------------------------------------------------


def test_a_single_failure_that_recovers_within_the_wait_opens_nothing():
    assert outages([failed(0, attempt=1), recovered(10)]) == []


def test_a_few_retries_that_recover_within_the_wait_open_nothing():
    assert outages([failed(0, attempt=1), failed(2, attempt=2), recovered(14)]) == []


def test_a_recovery_exactly_at_the_end_of_the_wait_is_in_time():
    assert outages([failed(0), recovered(15)]) == []


def test_a_recovery_of_an_endpoint_that_never_failed_is_nothing():
    assert outages([recovered(5)]) == []


def test_the_wait_timer_has_not_fired_before_the_wait_ends():
    assert outages([failed(0)], until=at(minutes=14)) == []


# --- resolution ---------------------------------------------------------------------


def test_a_recovery_resolves_the_open_case():
    [case] = outages([failed(0, attempt=3), recovered(40)])
    assert case["status"] == "resolved"
    assert case["closed_at"] == iso(at(minutes=40))
    assert case["resolution"] == "interface recovered"


def test_an_outage_recovered_after_the_wait_shows_opened_then_resolved():
    [case] = outages([failed(0), recovered(40)])
    assert case["opened_at"] == iso(at(minutes=15))
    assert case["closed_at"] == iso(at(minutes=40))
    assert case["status"] == "resolved"


def test_a_new_outage_after_a_recovery_opens_a_new_case():
    events = [failed(0, attempt=3), recovered(40), failed(100, attempt=3)]
    cases = outages(events)
    assert [c["status"] for c in cases] == ["resolved", "open"]
    assert cases[0]["id"] != cases[1]["id"]


def test_a_quick_blip_then_a_long_outage_are_judged_each_on_its_own():
    events = [failed(0), recovered(5), failed(20), recovered(120)]
    [case] = outages(events)
    assert case["opened_at"] == iso(at(minutes=35))
    assert case["closed_at"] == iso(at(minutes=120))


def test_live_and_replay_tell_the_same_story():
    events = [
        failed(0),
        recovered(5),
        failed(20),
        failed(50),
        recovered(120),
        failed(130, attempt=3),
        recovered(140),
    ]
    engine = run([], until=None)
    for event in events:
        engine.step(event)
        engine.advance()  # live: timers fire as the watermark moves
    engine.advance(LATER)
    live = cases_of(engine, "integration.failure")
    assert live == cases_of(run(events, until=LATER), "integration.failure")
    assert [(c["opened_at"], c["closed_at"], c["signals"]) for c in live] == [
        (iso(at(minutes=35)), iso(at(minutes=120)), 2),
        (iso(at(minutes=130)), iso(at(minutes=140)), 1),
    ]
