"""The case KPIs on a hand-made week, every expected figure computed by hand below."""

from __future__ import annotations

from datetime import date

import pytest
from test_kpi_support import at, case, event, frames, order

from unsnag.intel import kpi

WEEK = kpi.Period.days(date(2026, 5, 1), date(2026, 5, 7))  # [05-01 00:00, 05-08 00:00)

PICK_A = {"order_id": "SO-1", "line_id": "1", "sku": "SKU-1", "node_id": "dc-east"}
CASES = [
    # A: resolved in 4 h, no touch, automatic, SLA kept, protected 100
    case("pick.short", "SO-1/1", at(2, 10), closed=at(2, 14), subject="SO-1", refs=PICK_A,
         revenue=100, automatic=True, protected=100.0),
    # B: resolved in 24 h, two touches (first after 1 h), SLA breached; approval in 2 h
    case("pick.short", "SO-2/1", at(3, 8), closed=at(4, 8), subject="SO-2", touches=2,
         first_touch=at(3, 9), breached=True, revenue=200,
         approvals=[(at(3, 9), at(3, 11), "approved")]),
    # C: open at the end (aged 3 days), first touch after 3 h; approvals: one rejected
    # after 6 h, one still pending (not counted)
    case("pricing.mismatch", "SO-3", at(5), subject="SO-3", team="pricing", touches=1,
         first_touch=at(5, 3), revenue=300,
         approvals=[(at(5, 3), at(5, 9), "rejected"), (at(5, 10), None, "pending")]),
    # D: opened before the week, still open: aged 10 days at the end
    case("credit.hold", "SO-4", at(28, month=4), subject="SO-4", team="finance", revenue=50),
    # E: A's problem back (episode 2), open at the end (closed after it), aged 2 h
    case("pick.short", "SO-1/1", at(7, 22), episode=2, closed=at(9), subject="SO-1",
         refs=PICK_A, revenue=20),
]  # fmt: skip


def short_pick(order_id: str, when):
    return event("pick.short", when, order_id, "wms", order_id=order_id, line_id="1",
                 node_id="dc-east", qty_picked=1, qty_short=1)  # fmt: skip


EVENTS = [
    *(order(f"SO-{n}", at(1, n), lines=[("SKU-1", 1), ("SKU-2", 2)]) for n in range(1, 6)),
    *(order(f"SO-{n}", at(1, n), lines=[("SKU-3", 1)] * 3) for n in range(6, 11)),
    short_pick("SO-1", at(2, 10)),  # A: detected at once
    short_pick("SO-2", at(3, 7)),  # B: 1 h before its case
    event("order.updated", at(4, 21), "SO-3", "portal", order_id="SO-3"),  # C: 3 h
    short_pick("SO-1", at(7, 21)),  # E: 1 h
]


@pytest.fixture(scope="module")
def values() -> dict[str, float | None]:
    return kpi.summary(frames(CASES, EVENTS), WEEK)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("cases_opened", 4),  # A, B, C, E
        ("orders", 10),
        ("order_lines", 25),  # 5 orders x 2 lines + 5 x 3
        ("exceptions_per_1000_orders", 400.0),  # 4 / 10 x 1,000
        ("exceptions_per_1000_lines", 160.0),  # 4 / 25 x 1,000
        ("cases_resolved", 2),  # A, B (E closed after the week)
        ("touchless_rate", 0.5),  # A of A, B
        ("automation_rate", 0.5),
        ("touches_per_case", 1.0),  # (0 + 2) / 2 closed
        ("open_backlog", 3),  # C, D, E
        ("backlog_under_4h", 1),  # E: 2 h
        ("backlog_4h_to_24h", 0),
        ("backlog_1d_to_3d", 0),
        ("backlog_3d_to_7d", 1),  # C: exactly 72 h
        ("backlog_over_7d", 1),  # D: 10 days
        ("time_to_detect_p50_h", 1.0),  # median of 0, 1, 3, 1
        ("time_to_first_touch_p50_h", 2.0),  # median of 1, 3
        ("time_to_resolve_p50_h", 14.0),  # median of 4, 24
        ("time_to_resolve_p90_h", 24.0),  # rank ceil(0.9 x 1) = 1 of [4, 24]
        ("sla_attainment", 0.5),
        ("approval_latency_p50_h", 4.0),  # median of 2, 6
        ("reopen_rate", 0.25),  # E of 4
        ("revenue_at_risk_open", 370.0),  # C 300 + D 50 + E 20
        ("revenue_protected", 100.0),  # A's delivered option
    ],
)
def test_case_kpi_on_a_hand_made_week(values, name, expected):
    assert values[name] == pytest.approx(expected)


def test_cases_source_and_onset_come_from_the_events():
    cases = frames(CASES, EVENTS).cases.sort("opened_at")
    assert cases["source"].to_list() == [None, "wms", "wms", "portal", "wms"]
    assert cases["reopened"].to_list() == [False, False, False, False, True]
    assert cases["episode"].to_list() == [1, 1, 1, 1, 2]


def test_onset_ignores_what_happened_before_the_previous_episode_closed():
    # E without its own pick.short: A's event (before A closed) is not E's onset
    events = [e for e in EVENTS if e["time"] != "2026-05-07T21:00:00Z"]
    cases = frames(CASES, events).cases
    reopened = cases.filter(cases["episode"] == 2)
    assert reopened["onset_at"].to_list() == [None]


def test_an_empty_week_counts_zero_and_measures_nothing():
    empty = kpi.summary(frames(CASES, EVENTS), kpi.Period.days(date(2026, 6, 1), date(2026, 6, 7)))
    assert empty["cases_opened"] == 0
    assert empty["orders"] == 0
    assert empty["exceptions_per_1000_orders"] is None
    assert empty["time_to_resolve_p50_h"] is None
    assert empty["open_backlog"] == 2  # C and D were never closed
    assert empty["backlog_over_7d"] == 2


def test_revenue_protected_needs_a_delivered_action():
    pending = case("pick.short", "SO-9/1", at(2), closed=at(3), protected=500.0)
    pending["work"]["actions"][0]["status"] = "pending"
    values = kpi.summary(frames([pending], EVENTS), WEEK)
    assert values["revenue_protected"] == 0
    assert values["cases_resolved"] == 1
