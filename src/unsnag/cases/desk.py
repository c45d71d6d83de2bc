"""The case desk: one case per real problem.

A problem is identified by its case type and a key the detector chooses (an order line,
a node+SKU, a remittance). A signal for a problem with an open case updates that case
(refs merged, priority recomputed); a clear closes it. The same problem coming back after
it was closed opens a new case (its *episode* number goes up).

Case ids are derived from (type, key, episode) rather than from a counter, so that any
partition of a distributed engine can mint them without coordination, and so that a
replay of the same events under the same policy gives the same ids whatever the
interleaving of unrelated problems.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from unsnag.cases.priority import score
from unsnag.detect.base import Clear, Impact, Signal
from unsnag.policy.model import Policy
from unsnag.state.model import State

OPEN_STATUSES = frozenset({"open", "in_progress"})


def case_id(case_type: str, key: str, episode: int) -> str:
    digest = hashlib.blake2b(f"{case_type}|{key}|{episode}".encode(), digest_size=5)
    return f"C-{digest.hexdigest()}"


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(slots=True)
class Case:
    id: str
    type: str
    key: str
    subject: str
    opened_at: datetime
    due_at: datetime
    owner_team: str
    rule: str
    policy_version: str
    status: str = "open"
    refs: dict[str, set[str]] = field(default_factory=dict)
    impact: Impact = field(default_factory=Impact)
    tier: str | None = None
    priority: float = 0.0
    priority_explained: list[str] = field(default_factory=list)
    root_cause: str | None = None
    summary: str = ""
    signals: int = 0
    updated_at: datetime | None = None
    closed_at: datetime | None = None
    resolution: str | None = None
    boost: float = 1.0
    boost_reason: str | None = None
    timeline: list[tuple[datetime, str, str]] = field(default_factory=list)
    reasons: set[str] = field(default_factory=set)
    work: Any = None
    """The case's :class:`~unsnag.resolve.work.Work` (set by the playbook runner)."""

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def to_dict(self) -> dict[str, Any]:
        """The case in the EVENTS.md shape, plus what a person needs to act on it."""
        return {
            "id": self.id,
            "type": self.type,
            "status": self.status,
            "subject": self.subject,
            "refs": {
                name: sorted(values)[0] if len(values) == 1 else sorted(values)
                for name, values in sorted(self.refs.items())
            },
            "priority": self.priority,
            "priority_explained": list(self.priority_explained),
            "owner_team": self.owner_team,
            "opened_at": iso(self.opened_at),
            "due_at": iso(self.due_at),
            "rule": self.rule,
            "policy_version": self.policy_version,
            "key": self.key,
            "root_cause": self.root_cause,
            "summary": self.summary,
            "customer_id": self.impact.customer_id,
            "tier": self.tier,
            "revenue_at_risk": round(self.impact.revenue_at_risk, 2),
            "signals": self.signals,
            "updated_at": iso(self.updated_at),
            "closed_at": iso(self.closed_at),
            "resolution": self.resolution,
            "open_reasons": sorted(self.reasons) if self.is_open else [],
            "timeline": [
                {"at": iso(at), "what": what, "note": note} for at, what, note in self.timeline
            ],
            "work": None if self.work is None else self.work.to_dict(),
        }


def _merge_impact(old: Impact, new: Impact) -> Impact:
    """Commutative merge, so the order of signals about one problem does not matter."""
    margins = [m for m in (old.margin_pct, new.margin_pct) if m is not None]
    promises = [p for p in (old.promise_at, new.promise_at) if p is not None]
    return Impact(
        revenue_at_risk=max(old.revenue_at_risk, new.revenue_at_risk),
        margin_pct=max(margins) if margins else None,
        customer_id=old.customer_id or new.customer_id,
        promise_at=min(promises) if promises else None,
    )


class CaseDesk:
    """Opens, updates and closes cases from signals; keeps them in memory."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.cases: dict[str, Case] = {}
        self.open_by_key: dict[tuple[str, str], str] = {}
        self.open_by_subject: dict[str, set[str]] = {}
        self.episodes: dict[tuple[str, str], int] = {}
        self.dirty: set[str] = set()

    def apply(self, item: Signal | Clear, state: State) -> Case | None:
        if isinstance(item, Signal):
            return self._signal(item, state)
        return self._clear(item)

    def _signal(self, sig: Signal, state: State) -> Case:
        open_id = self.open_by_key.get((sig.case_type, sig.key))
        if open_id is None:
            case = self._open(sig, state)
        else:
            case = self.cases[open_id]
            case.impact = _merge_impact(case.impact, sig.impact)
            if sig.boost > case.boost:
                case.boost, case.boost_reason = sig.boost, sig.boost_reason
            case.root_cause = case.root_cause or sig.root_cause
            if sig.time > (case.updated_at or case.opened_at):
                case.updated_at = sig.time
        case.signals += 1
        case.reasons.add(sig.rule)
        for name, value in sig.refs:
            case.refs.setdefault(name, set()).add(value)
        self._rescore(case, state)
        self.dirty.add(case.id)
        return case

    def _open(self, sig: Signal, state: State) -> Case:
        key = (sig.case_type, sig.key)
        episode = self.episodes.get(key, 0) + 1
        self.episodes[key] = episode
        routing = self.policy.types[sig.case_type]
        tier = state.tier_of(sig.impact.customer_id)
        case = Case(
            id=case_id(sig.case_type, sig.key, episode),
            type=sig.case_type,
            key=sig.key,
            subject=sig.subject,
            opened_at=sig.time,
            due_at=sig.time + timedelta(hours=routing.sla_for(tier)),
            owner_team=routing.owner_team,
            rule=sig.rule,
            policy_version=self.policy.version,
            impact=sig.impact,
            tier=tier,
            root_cause=sig.root_cause,
            summary=sig.summary,
            updated_at=sig.time,
            boost=sig.boost,
            boost_reason=sig.boost_reason,
        )
        case.timeline.append((sig.time, "opened", sig.summary))
        self.cases[case.id] = case
        self.open_by_key[key] = case.id
        self.open_by_subject.setdefault(case.subject, set()).add(case.id)
        return case

    def _rescore(self, case: Case, state: State) -> None:
        severity = self.policy.types[case.type].severity
        case.tier = state.tier_of(case.impact.customer_id) or case.tier
        case.priority, case.priority_explained = score(
            self.policy.priority,
            case.impact,
            case.tier,
            case.opened_at,
            severity,
            case.boost,
            case.boost_reason,
        )

    def _clear(self, clear: Clear) -> Case | None:
        open_id = self.open_by_key.get((clear.case_type, clear.key))
        if open_id is None:
            return None
        case = self.cases[open_id]
        if clear.rule is not None:
            if clear.rule not in case.reasons:
                return None
            case.reasons.discard(clear.rule)
            if case.reasons:  # another rule still sees the problem
                self.dirty.add(case.id)
                return case
        return self.close(case, clear.time, clear.status, clear.reason)

    def close(self, case: Case, when: datetime, status: str, reason: str) -> Case:
        when = max(when, case.opened_at)
        case.status = status
        case.closed_at = when
        case.updated_at = max(when, case.updated_at or when)
        case.resolution = reason
        case.timeline.append((when, status, reason))
        del self.open_by_key[(case.type, case.key)]
        subject_cases = self.open_by_subject.get(case.subject)
        if subject_cases is not None:
            subject_cases.discard(case.id)
            if not subject_cases:
                del self.open_by_subject[case.subject]
        self.dirty.add(case.id)
        return case

    def cancel_subject(
        self, subject: str, when: datetime, reason: str, keep: frozenset[str] = frozenset()
    ) -> list[Case]:
        """Cancel every open case about ``subject`` except those of the ``keep`` types."""
        closed = []
        for cid in sorted(self.open_by_subject.get(subject, ())):
            case = self.cases[cid]
            if case.type not in keep:
                closed.append(self.close(case, when, "cancelled", reason))
        return closed

    def open_case(self, case_type: str, key: str) -> Case | None:
        open_id = self.open_by_key.get((case_type, key))
        return self.cases[open_id] if open_id else None

    def take_dirty(self) -> list[Case]:
        changed = [self.cases[cid] for cid in sorted(self.dirty)]
        self.dirty.clear()
        return changed

    def ordered(self) -> list[Case]:
        return sorted(self.cases.values(), key=lambda c: (c.opened_at, c.id))
