"""The queue: which cases a person sees, one page at a time, and bulk assignment.

Only one page is read from the store (``limit + 1`` rows, keyset cursor) plus one count,
so a queue of ten thousand open cases renders as fast as one of ten. "Needs approval"
is the engine's live view (cases whose work waits on a pending approval), filtered and
paged here with the same order and cursor as the store's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

from unsnag.api.auth import ADMIN, Principal
from unsnag.api.deps import Services
from unsnag.api.v1 import case_query, decode_cursor, encode_cursor, list_item, work
from unsnag.errors import ContractViolation, UnsnagError
from unsnag.store import CaseQuery, cursor_of
from unsnag.store.port import case_refs
from unsnag.web.format import LIVE, sla_countdown

PAGE = 50
ALL = "all"
SORT = "-priority"
STATUSES = ("open", "in_progress", "resolved", "cancelled")


@dataclass(frozen=True, slots=True)
class QueueFilter:
    """The queue's filters as the form sends them (strings kept for redisplay)."""

    types: tuple[str, ...] = ()
    team: str = ""
    statuses: tuple[str, ...] = LIVE
    customer: str = ""
    sku: str = ""
    node: str = ""
    priority_min: str = ""
    priority_max: str = ""
    needs: str = ""
    cursor: str = ""
    errors: list[str] = field(default_factory=list)

    def teams(self) -> tuple[str, ...]:
        return () if self.team in ("", ALL) else (self.team,)

    def query_string(self, cursor: str | None = None) -> str:
        """The filters (and a cursor) as a query string, for links, paging and polling."""
        pairs: list[tuple[str, str]] = [("type", t) for t in self.types]
        pairs += [("status", s) for s in self.statuses]
        for name in ("team", "customer", "sku", "node", "priority_min", "priority_max", "needs"):
            value = getattr(self, name)
            if value:
                pairs.append((name, value))
        if cursor:
            pairs.append(("cursor", cursor))
        return urlencode(pairs)


def _number(text: str, name: str, errors: list[str]) -> float | None:
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        errors.append(f"{name}: {text!r} is not a number")
        return None


def read_filter(params: Mapping[str, Any], principal: Principal) -> QueueFilter:
    """The filter from the query string; the principal's team when none is chosen
    (admins and people without a team see every team)."""
    getlist = getattr(params, "getlist", None)

    def many(name: str) -> tuple[str, ...]:
        values = getlist(name) if getlist else [params.get(name)]
        return tuple(str(v).strip() for v in values if v and str(v).strip())

    def one(name: str) -> str:
        return str(params.get(name) or "").strip()[:200]

    team = one("team")
    if "team" not in params:
        team = principal.team if principal.team and principal.role != ADMIN else ALL
    asked = [LIVE if s == "live" else (s,) for s in many("status")]
    statuses = tuple(dict.fromkeys(s for group in asked for s in group if s in STATUSES))
    return QueueFilter(
        types=many("type"),
        team=team,
        statuses=statuses if "status" in params else LIVE,
        customer=one("customer"),
        sku=one("sku"),
        node=one("node"),
        priority_min=one("priority_min"),
        priority_max=one("priority_max"),
        needs="approval" if one("needs") == "approval" else "",
        cursor=one("cursor")[:2000],
    )


def _query(f: QueueFilter, limit: int) -> tuple[CaseQuery, list[str]]:
    errors: list[str] = []
    lo = _number(f.priority_min, "priority from", errors)
    hi = _number(f.priority_max, "priority to", errors)
    after = None
    if f.cursor:
        try:
            after = decode_cursor(f.cursor, SORT)
        except ContractViolation as exc:
            errors.append(str(exc))
    query = case_query(
        list(f.types),
        list(f.teams()),
        list(f.statuses),
        f.customer or None,
        f.sku or None,
        f.node or None,
        None,
        lo,
        hi,
        None,
        SORT,
        after,
        limit,
    )
    return query, errors


def _matches(case: dict[str, Any], q: CaseQuery) -> bool:
    if q.types and case.get("type") not in q.types:
        return False
    if q.teams and case.get("owner_team") not in q.teams:
        return False
    if q.statuses and case.get("status") not in q.statuses:
        return False
    priority = float(case.get("priority") or 0)
    if q.min_priority is not None and priority < q.min_priority:
        return False
    if q.max_priority is not None and priority > q.max_priority:
        return False
    return set(q.refs) <= case_refs(case)


def _awaiting_approval(svc: Services, q: CaseQuery) -> tuple[list[dict[str, Any]], int]:
    """The cases waiting on an approval (the engine's live view) that match ``q``."""
    with svc.runtime.lock:
        cases = [
            c.to_dict()
            for c in svc.runtime.live_cases()
            if c.work is not None and c.work.pending_approval is not None
        ]
    matching = sorted(
        (c for c in cases if _matches(c, q)),
        key=lambda c: (-float(c.get("priority") or 0), c["id"]),
    )
    total = len(matching)
    if q.after is not None:
        value, last_id = q.after
        matching = [
            c
            for c in matching
            if (-float(c.get("priority") or 0), c["id"]) > (-float(value), last_id)
        ]
    return matching[: q.limit], total


def row(case: dict[str, Any], now: Any) -> dict[str, Any]:
    item = list_item(case)
    return {"case": item, "sla": sla_countdown(item, now), "work": item.get("work") or {}}


def queue_page(svc: Services, f: QueueFilter) -> dict[str, Any]:
    """One page of the queue: rows, how many match, and the next page's cursor."""
    query, errors = _query(f, PAGE + 1)
    store = svc.runtime.store
    if f.needs == "approval":
        rows, total = _awaiting_approval(svc, query)
    else:
        rows, total = store.query_cases(query), store.count_cases(query)
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    cursor = encode_cursor(SORT, *cursor_of(rows[-1], SORT)) if more and rows else None
    now = svc.runtime.clock()
    return {
        "filter": replace(f, errors=errors),
        "rows": [row(case, now) for case in rows],
        "total": total,
        "next_cursor": cursor,
        "now": now,
        "types": sorted(svc.runtime.policy.types),
        "teams": sorted(svc.runtime.policy.teams),
        "statuses": STATUSES,
    }


def bulk_assign(
    svc: Services, principal: Principal, case_ids: list[str], assignee: str
) -> tuple[list[str], list[str]]:
    """Assign each case; the ids done and the refusals (``id: reason``)."""
    done, refused = [], []
    for case_id in dict.fromkeys(case_ids):
        try:
            work(svc, principal, "case.assigned", case_id, assignee=assignee)
            done.append(case_id)
        except UnsnagError as exc:
            refused.append(f"{case_id}: {exc}")
    return done, refused
