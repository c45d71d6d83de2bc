"""Builders for the intel tests: hand-made cases (``Case.to_dict()`` shape) and events
(CloudEvents envelopes), small enough to compute every expected figure by hand."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from unsnag.cases.desk import case_id
from unsnag.intel.frames import Frames, build_frames, events_from_dicts


def at(day: int, hour: int = 0, minute: int = 0, month: int = 5) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def case(
    type: str,
    key: str,
    opened: datetime,
    *,
    episode: int = 1,
    closed: datetime | None = None,
    status: str | None = None,
    subject: str | None = None,
    team: str = "warehouse",
    refs: dict[str, Any] | None = None,
    customer: str | None = None,
    tier: str | None = None,
    revenue: float = 0.0,
    touches: int = 0,
    first_touch: datetime | None = None,
    breached: bool | None = False,
    automatic: bool = False,
    protected: float | None = None,
    approvals: Sequence[tuple[datetime, datetime | None, str]] = (),
) -> dict[str, Any]:
    """A case as ``Case.to_dict()`` gives it, with only what the intel frames read."""
    actions, options = [], []
    if protected is not None:
        params = {"order_id": subject or key}
        options = [
            {
                "action": "reallocate",
                "params": params,
                "effect": {"revenue_protected": protected, "cost": 0, "days_gained": 0},
            }
        ]
        actions = [{"kind": "reallocate", "params": params, "status": "delivered",
                    "automatic": automatic}]  # fmt: skip
    sla = {} if breached is None else {"target_hours": 4.0, "used_hours": 1.0,
                                       "breached": breached}  # fmt: skip
    return {
        "id": case_id(type, key, episode),
        "type": type,
        "key": key,
        "status": status or ("resolved" if closed else "open"),
        "subject": subject or key,
        "refs": refs or {},
        "priority": 50.0,
        "owner_team": team,
        "rule": type.replace(".", "-"),
        "opened_at": iso(opened),
        "closed_at": iso(closed),
        "due_at": iso(opened),
        "customer_id": customer,
        "tier": tier,
        "revenue_at_risk": revenue,
        "work": {
            "touches": touches,
            "touchless": touches == 0,
            "automatic": automatic,
            "first_touch_at": iso(first_touch),
            "sla": sla,
            "recommendations": options,
            "actions": actions,
            "approvals": [
                {
                    "id": f"a{n}",
                    "role": "manager",
                    "origin": "playbook",
                    "status": verdict,
                    "requested_at": iso(asked),
                    "decided_at": iso(decided),
                }
                for n, (asked, decided, verdict) in enumerate(approvals)
            ],
        },
    }


_seq = iter(range(1, 10**9))


def event(type: str, time: datetime, subject: str, source: str = "erp", **data: Any) -> dict:
    return {"specversion": "1.0", "id": f"e-{next(_seq)}", "source": source, "type": type,
            "time": iso(time), "subject": subject, "data": data}  # fmt: skip


def order(
    order_id: str,
    created: datetime,
    customer: str = "C-1",
    lines: Sequence[tuple[str, float]] = (("SKU-1", 1),),
    channel: str = "edi",
    **extra: Any,
) -> dict:
    """An ``order.created`` with lines ``(sku, qty)``."""
    items = [{"line_id": str(n), "sku": sku, "qty": qty, "unit_price": 1.0}
             for n, (sku, qty) in enumerate(lines, 1)]  # fmt: skip
    return event("order.created", created, order_id, channel, order_id=order_id,
                 customer_id=customer, channel=channel, lines=items, **extra)  # fmt: skip


def frames(cases: Iterable[dict[str, Any]], events: Iterable[dict[str, Any]] = ()) -> Frames:
    return build_frames(list(cases), events_from_dicts(list(events)))
