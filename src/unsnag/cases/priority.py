"""Priority: a documented function of revenue at risk, customer tier, margin and promise.

    priority = 100 x severity(type) x boost x (w_r·R + w_t·T + w_m·M + w_p·P) / (w_r+w_t+w_m+w_p)

    R = log10(1 + revenue) / log10(1 + revenue_cap), capped at 1
    T = tier_scores[tier]                  (unknown customer: tier_scores.unknown)
    M = margin / margin_cap, clamped to [0, 1]   (margin unknown: 0.5)
    P = 1 - hours_to_promise / horizon, clamped to [0, 1]   (no promise: no_promise_score)

capped at 100. Each factor's points appear in ``priority_explained`` so a person can see
why one case outranks another.
"""

from __future__ import annotations

import math
from datetime import datetime

from unsnag.detect.base import Impact
from unsnag.policy.model import PriorityModel


def _clamp(value: float) -> float:
    return 0.0 if value < 0 else 1.0 if value > 1 else value


def _hours(delta_seconds: float) -> str:
    hours = delta_seconds / 3600
    if abs(hours) >= 48:
        return f"{hours / 24:.0f} d"
    return f"{hours:.0f} h"


def score(
    model: PriorityModel,
    impact: Impact,
    tier: str | None,
    now: datetime,
    severity: float = 1.0,
    boost: float = 1.0,
    boost_reason: str | None = None,
) -> tuple[float, list[str]]:
    """Return (priority in [0, 100], explanation lines)."""
    w = model.weights
    total = (w.revenue + w.tier + w.margin + w.promise) or 1.0
    revenue = max(impact.revenue_at_risk, 0.0)
    r = _clamp(math.log10(1 + revenue) / math.log10(1 + model.revenue_cap))
    t = model.tier_scores.get(tier or "unknown", model.tier_scores.get("unknown", 0.25))
    m = 0.5 if impact.margin_pct is None else _clamp(impact.margin_pct / model.margin_cap)
    if impact.promise_at is None:
        p = model.no_promise_score
        promise_text = "no promise date"
    else:
        left = (impact.promise_at - now).total_seconds()
        p = _clamp(1 - left / (model.promise_horizon_hours * 3600))
        promise_text = (
            f"promise in {_hours(left)}" if left >= 0 else f"promise missed by {_hours(-left)}"
        )
    scale = 100 * severity * boost / total
    parts = [
        (f"revenue at risk {revenue:,.2f}", w.revenue * r * scale),
        (f"customer tier {tier or 'unknown'}", w.tier * t * scale),
        (
            "margin unknown" if impact.margin_pct is None else f"margin {impact.margin_pct:.0%}",
            w.margin * m * scale,
        ),
        (promise_text, w.promise * p * scale),
    ]
    explained = [f"{text} (+{points:.1f})" for text, points in parts]
    if boost != 1.0 and boost_reason:
        explained.append(f"{boost_reason} (x{boost:g})")
    if severity != 1.0:
        explained.append(f"type severity x{severity:g}")
    value = min(100.0, sum(points for _, points in parts))
    return round(value, 1), explained
