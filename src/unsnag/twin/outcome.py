"""What resolution achieved on a closed-loop run: touchless rate, time to resolve, SLA
attainment, manual touches and revenue protected, overall and by case type.

Definitions (docs/resolution.md):
- *touchless*: a case closed as resolved without any person's command on it;
- *time to resolve*: ``closed_at - opened_at`` in calendar hours, resolved cases only;
- *SLA attainment*: resolved cases closed within their business-time SLA;
- *manual touches per case*: people's commands per closed case;
- *revenue protected*: the expected revenue effect of the option carried out, for cases
  resolved after an action the receiving system accepted;
- *policy-eligible types*: the case types an automation rule names.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from statistics import median
from typing import Any

from unsnag.cases.desk import Case
from unsnag.policy import Policy


def _quantile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _hours(case: Case) -> float:
    assert case.closed_at is not None
    return (case.closed_at - case.opened_at).total_seconds() / 3600


def _protected(case: Case) -> float:
    work = case.work
    if work is None or case.status != "resolved":
        return 0.0
    delivered = [a for a in work.actions if a.kind != "notify" and a.status == "delivered"]
    if not delivered or not work.options:
        return 0.0
    chosen = work.options[work.chosen or 0]
    return float(chosen.effect.revenue_protected)


def _group(cases: Iterable[Case]) -> dict[str, Any]:
    cases = list(cases)
    resolved = [c for c in cases if c.status == "resolved" and c.work is not None]
    closed = [c for c in cases if not c.is_open and c.work is not None]
    ttr = [_hours(c) for c in resolved]
    attained = [not c.work.sla_view.get("breached") for c in resolved if c.work.sla_view]
    touches = [c.work.touches for c in closed]
    return {
        "cases": len(cases),
        "resolved": len(resolved),
        "open_at_end": sum(1 for c in cases if c.is_open),
        "touchless_rate": _rate(sum(1 for c in resolved if c.work.touchless), len(resolved)),
        "automatic_rate": _rate(sum(1 for c in resolved if c.work.automatic), len(resolved)),
        "ttr_p50_h": _round(median(ttr) if ttr else None),
        "ttr_p90_h": _round(_quantile(ttr, 0.9)),
        "sla_attainment": _rate(sum(1 for a in attained if a), len(attained)),
        "touches_per_case": _round(sum(touches) / len(touches) if touches else None),
        "revenue_protected": round(sum(_protected(c) for c in resolved), 2),
    }


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


MESSAGES = frozenset({"notify", "request_info"})


def eligible_types(policy: Policy) -> set[str]:
    """Case types an automation rule lets act on a system (messages alone do not count)."""
    rules = policy.resolution.automation.rules
    return {code for rule in rules if set(rule.actions) - MESSAGES for code in rule.case_types}


def summarise(cases: Sequence[Case], policy: Policy) -> dict[str, Any]:
    by_type: dict[str, list[Case]] = defaultdict(list)
    for case in cases:
        by_type[case.type].append(case)
    eligible = eligible_types(policy)
    return {
        "all": _group(cases),
        "eligible": _group(c for c in cases if c.type in eligible),
        "by_type": {code: _group(group) for code, group in sorted(by_type.items())},
    }
