"""Inventory mismatches and integration failures."""

import pytest
from options_support import actions, first, options_for, snapshot

from builders import at, ev, product
from unsnag.resolve.options.integration import classify


def mismatch(erp, wms, *events):
    base = [product(), *events, snapshot("erp", "dc-east", erp), snapshot("wms", "dc-east", wms)]
    return options_for("inventory_mismatch", base, "inventory.mismatch")[0]


def outage(error, attempt=3, *events):
    data = {
        "endpoint": "wms-east",
        "operation": "pick.confirm",
        "error": error,
        "attempt": attempt,
        "payload_ref": "blob://p/1",
    }
    failed = ev("integration.failed", data, when=at(hours=1))
    return options_for("integration", [*events, failed], "integration.failure")[0]


# --- inventory.mismatch -------------------------------------------------------------------


def test_a_moderate_gap_is_settled_by_a_count():
    options = mismatch(120, 96)
    count = options[0]
    assert count.action == "adjust_inventory"
    assert count.params["node_id"] == "dc-east" and count.params["sku"] == "BRG-6204"
    assert count.confidence == 0.9
    assert count.amount == pytest.approx(144.0)  # 24 units at cost 6.00
    assert count.effect.revenue_protected == pytest.approx(240.0)  # at list 10.00
    assert count.effect.cost == pytest.approx(144.0)  # the WMS holds less: a write-down


def test_a_gap_of_more_than_half_is_less_likely_a_miscount():
    assert mismatch(120, 40)[0].confidence == 0.7


def test_the_wms_holding_more_books_no_write_down():
    count = mismatch(96, 120)[0]
    assert count.effect.cost == 0.0
    assert "ERP lower by 24" in count.summary


def test_a_failing_interface_lowers_the_count_and_suggests_a_replay():
    down = ev("integration.failed", {"endpoint": "wms-east", "error": "timeout"}, when=at())
    options = mismatch(120, 96, down)
    assert first(options, "adjust_inventory").confidence == pytest.approx(0.6)
    replay = first(options, "notify", to="integration")
    assert replay.confidence == 0.6
    assert "interfaces failing now: wms-east" in replay.facts


# --- integration.failure ------------------------------------------------------------------


def test_a_transient_error_is_retried_with_its_payloads():
    options = outage("HTTP 503 Service Unavailable")
    retry = options[0]
    assert retry.action == "retry_interface"
    assert retry.params == {"endpoint": "wms-east", "payload_refs": ["blob://p/1"]}
    assert retry.confidence == 0.85


def test_expired_credentials_are_renewed_before_any_retry():
    options = outage("401 Unauthorized: token expired")
    assert options[0].action == "notify"
    assert "renew the credentials" in options[0].params["subject"]
    assert first(options, "retry_interface").confidence == 0.15


def test_a_rejected_message_needs_its_mapping_fixed():
    options = outage("422 schema validation failed: ship_to.country")
    assert options[0].params["subject"].startswith("wms-east: fix the message mapping")


def test_many_failed_attempts_lower_the_hope_of_a_retry():
    assert outage("timeout", attempt=12)[0].confidence == pytest.approx(0.65)
    assert actions(outage("timeout", attempt=12))[0] == "retry_interface"


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        ("HTTP 500", "transient"),
        ("read timed out", "transient"),
        ("connection reset by peer", "transient"),
        ("403 Forbidden", "auth"),
        ("certificate expired", "auth"),
        ("invalid payload: missing field", "content"),
        ("something odd", "unknown"),
        (None, "unknown"),
        ("order 5000 not found", "unknown"),
    ],
)
def test_errors_are_classified_by_what_a_retry_can_do(error, kind):
    assert classify(error) == kind
