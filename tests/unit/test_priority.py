"""Priority is a documented function of revenue, tier, margin and promise, and says why."""

from __future__ import annotations

from datetime import timedelta

from builders import T0
from unsnag.cases.priority import score
from unsnag.detect.base import Impact
from unsnag.policy import load_policy

MODEL = load_policy().priority


def prio(revenue=1000.0, tier="gold", margin=0.2, promise_hours=24.0):
    promise = None if promise_hours is None else T0 + timedelta(hours=promise_hours)
    return score(MODEL, Impact(revenue, margin, "C1", promise), tier, T0)


def test_more_revenue_at_risk_ranks_higher():
    assert prio(revenue=20_000)[0] > prio(revenue=200)[0]


def test_a_better_tier_ranks_higher():
    assert prio(tier="strategic")[0] > prio(tier="gold")[0] > prio(tier="standard")[0]


def test_a_closer_promise_ranks_higher():
    assert prio(promise_hours=2)[0] > prio(promise_hours=100)[0]


def test_a_missed_promise_scores_the_whole_promise_factor():
    late, _ = prio(promise_hours=-5)
    due_now, _ = prio(promise_hours=0)
    assert late == due_now


def test_the_explanation_names_every_factor_with_its_points():
    value, why = prio(revenue=1240, tier="gold", margin=0.23, promise_hours=6)
    assert why[0].startswith("revenue at risk 1,240.00 (+")
    assert why[1].startswith("customer tier gold (+")
    assert why[2].startswith("margin 23% (+")
    assert why[3].startswith("promise in 6 h (+")
    points = sum(float(line.rsplit("(+", 1)[1].rstrip(")")) for line in why)
    assert abs(points - value) < 0.3


def test_priority_stays_within_0_and_100():
    top, _ = score(MODEL, Impact(10**9, 0.9, "C1", T0), "strategic", T0, severity=2, boost=2)
    assert top == 100.0
    bottom, _ = score(MODEL, Impact(0, -1.0, None, None), None, T0)
    assert 0 <= bottom < 20
