"""Incidents: cases that share one cause, grouped so a team fixes the cause once.

The policy's incident rules (``unsnag.policy.incidents``) say which cases belong
together. For each rule, in policy order, its candidate cases (of its case types, with a
value in every ``group_by`` field, not yet in an incident) are sorted by their group key
and opening time; the first case of a key starts a window of ``window_hours`` and every
case of that key opened inside it joins; the first case after it starts the next window.
A window with at least ``min_cases`` cases is an incident. So one carrier failing on one
lane for a day is one incident, while the same carrier on another lane, or on the same
lane three days later, is another.

An incident's id is derived from its rule, its group key and its window start (like a
case id: ``I-`` and ten hex digits), so the same cases always make the same incident;
each grouped case links to its incident (:attr:`Incidents.links`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import polars as pl

from unsnag.intel.kpi import Period
from unsnag.policy.incidents import IncidentRule, default_incident_rules


@dataclass(frozen=True, slots=True)
class Incident:
    id: str
    rule: str
    title: str
    key: dict[str, str]
    start: datetime
    """When its first case opened; the window runs ``window_hours`` from here."""
    last_opened: datetime
    cases: list[str]
    orders: list[str]
    types: list[str]
    teams: list[str]
    open_cases: int
    revenue_at_risk: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "rule": self.rule,
            "title": self.title,
            "key": dict(self.key),
            "start": _iso(self.start),
            "last_opened": _iso(self.last_opened),
            "cases": list(self.cases),
            "orders": list(self.orders),
            "types": list(self.types),
            "teams": list(self.teams),
            "open_cases": self.open_cases,
            "revenue_at_risk": round(self.revenue_at_risk, 2),
        }


@dataclass(frozen=True, slots=True)
class Incidents:
    incidents: list[Incident]
    links: dict[str, str] = field(default_factory=dict)
    """Case id → the id of the incident it belongs to."""

    def within(self, period: Period) -> Incidents:
        """The incidents that started in ``period``, with their links."""
        kept = [i for i in self.incidents if period.start <= i.start < period.end]
        ids = {incident.id for incident in kept}
        return Incidents(kept, {c: i for c, i in self.links.items() if i in ids})

    def to_dict(self) -> dict[str, Any]:
        return {
            "incidents": [incident.to_dict() for incident in self.incidents],
            "links": dict(sorted(self.links.items())),
        }


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def incident_id(rule: str, key: Sequence[str], start: datetime) -> str:
    """Deterministic: the same rule, group key and window start give the same id."""
    text = "|".join([rule, *key, _iso(start)])
    return f"I-{hashlib.blake2b(text.encode(), digest_size=5).hexdigest()}"


def _windows(candidates: pl.DataFrame, fields: list[str], window: timedelta) -> pl.DataFrame:
    """Each candidate with the start of its window (anchored at a key's first case)."""
    starts: list[datetime] = []
    key: tuple[Any, ...] | None = None
    start: datetime | None = None
    for row in candidates.select(*fields, "opened_at").iter_rows():
        here, opened = row[:-1], row[-1]
        if here != key or start is None or opened >= start + window:
            key, start = here, opened
        starts.append(start)
    return candidates.with_columns(pl.Series("window_start", starts, candidates["opened_at"].dtype))


def _incident(rule: IncidentRule, group: pl.DataFrame) -> Incident:
    first = group.row(0, named=True)
    key = {name: str(first[name]) for name in rule.group_by}
    start: datetime = first["window_start"]
    values = {**key, "rule": rule.id, "start": f"{start:%Y-%m-%d %H:%M}",
              "day": f"{start:%Y-%m-%d}", "cases": str(group.height)}  # fmt: skip
    orders = group["order_ids"].explode().drop_nulls().unique().sort().to_list()
    return Incident(
        id=incident_id(rule.id, list(key.values()), start),
        rule=rule.id,
        title=rule.title.format_map(values),
        key=key,
        start=start,
        last_opened=group["opened_at"].max(),  # type: ignore[arg-type]
        cases=group["id"].to_list(),
        orders=orders,
        types=sorted(group["type"].unique().to_list()),
        teams=sorted(group["team"].unique().to_list()),
        open_cases=group.filter(pl.col("closed_at").is_null()).height,
        revenue_at_risk=float(group["revenue_at_risk"].sum()),
    )


def _apply(rule: IncidentRule, cases: pl.DataFrame, taken: set[str]) -> list[Incident]:
    candidates = cases.filter(
        pl.col("type").is_in(rule.case_types)
        & pl.all_horizontal(pl.col(name).is_not_null() for name in rule.group_by)
        & ~pl.col("id").is_in(list(taken))
    ).sort([*rule.group_by, "opened_at", "id"])
    if candidates.is_empty():
        return []
    windowed = _windows(candidates, rule.group_by, timedelta(hours=rule.window_hours))
    found = []
    for _, group in windowed.group_by([*rule.group_by, "window_start"], maintain_order=True):
        if group.height >= rule.min_cases:
            found.append(_incident(rule, group))
    return found


def find_incidents(
    cases: pl.DataFrame,
    rules: Sequence[IncidentRule] | None = None,
    period: Period | None = None,
) -> Incidents:
    """Group ``cases`` (the frame of ``unsnag.intel.frames``) by the rules (the shipped
    ones by default); with ``period``, keep the incidents that started in it."""
    chosen = default_incident_rules() if rules is None else rules
    incidents: list[Incident] = []
    taken: set[str] = set()
    for rule in chosen:
        if not rule.enabled:
            continue
        for incident in _apply(rule, cases, taken):
            incidents.append(incident)
            taken.update(incident.cases)
    incidents.sort(key=lambda i: (i.start, i.id))
    links = {case: incident.id for incident in incidents for case in incident.cases}
    found = Incidents(incidents, links)
    return found if period is None else found.within(period)


def rules_of(policy: Any) -> list[IncidentRule]:
    """The policy's ``incidents:`` rules, or the shipped ones when it has none."""
    rules = getattr(policy, "incidents", None)
    return default_incident_rules() if rules is None else list(rules)


def with_incidents(cases: pl.DataFrame, incidents: Incidents) -> pl.DataFrame:
    """The case frame with an ``incident_id`` column (null for cases in no incident)."""
    links = pl.DataFrame(
        {"id": list(incidents.links), "incident_id": list(incidents.links.values())},
        schema={"id": pl.String(), "incident_id": pl.String()},
    )
    return cases.join(links, on="id", how="left")
