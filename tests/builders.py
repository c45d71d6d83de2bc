"""Small builders for domain events and engine runs: tests read as scenarios."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from unsnag.engine import Engine
from unsnag.events import Event, parse_event
from unsnag.policy import Policy, load_policy, policy_from_mapping

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
_ids = itertools.count(1)

DEFAULT_SOURCES = {
    "customer": "crm",
    "product": "erp",
    "price": "erp",
    "node": "erp",
    "order": "erp",
    "inventory": "erp",
    "allocation": "erp",
    "pick": "wms/dc-east",
    "shipment": "tms",
    "carrier": "carrier/ups",
    "asn": "edi",
    "purchase_order": "erp",
    "receipt": "wms/dc-east",
    "invoice": "finance",
    "remittance": "finance",
    "payment": "finance",
    "return": "erp",
    "credit": "finance",
    "credit_memo": "finance",
    "integration": "erp",
}


def at(hours: float = 0, minutes: float = 0, days: float = 0) -> datetime:
    """A moment relative to T0 (Monday 2026-05-04 08:00 UTC)."""
    return T0 + timedelta(days=days, hours=hours, minutes=minutes)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def raw(
    type_: str,
    data: dict[str, Any],
    *,
    when: datetime | None = None,
    source: str | None = None,
    id_: str | None = None,
    subject: str | None = None,
) -> dict[str, Any]:
    """A CloudEvent as a plain dict, as a source system would send it."""
    envelope: dict[str, Any] = {
        "specversion": "1.0",
        "id": id_ or f"ev-{next(_ids)}",
        "source": source or DEFAULT_SOURCES.get(type_.split(".")[0], "erp"),
        "type": type_,
        "time": iso(when or T0),
        "data": data,
    }
    subject = subject or data.get("order_id")
    if subject:
        envelope["subject"] = str(subject)
    return envelope


def ev(type_: str, data: dict[str, Any], **kwargs: Any) -> Event:
    return parse_event(raw(type_, data, **kwargs))


def customer(cid: str = "C1", tier: str = "gold", **extra: Any) -> Event:
    return ev("customer.upserted", {"customer_id": cid, "tier": tier, **extra}, when=at(-48))


def product(sku: str = "BRG-6204", cost: float = 6.0, price: float = 10.0, **extra: Any) -> Event:
    data = {"sku": sku, "unit_cost": cost, "list_price": price, **extra}
    return ev("product.upserted", data, when=at(-48))


def order(
    oid: str = "SO-1",
    cid: str = "C1",
    lines: list[tuple[str, str, float, float]] | None = None,
    *,
    when: datetime | None = None,
    promised: datetime | None = None,
    **extra: Any,
) -> Event:
    """order.created; lines are (line_id, sku, qty, unit_price)."""
    lines = lines or [("1", "BRG-6204", 10, 10.0)]
    data: dict[str, Any] = {
        "order_id": oid,
        "customer_id": cid,
        "channel": "edi",
        "po_number": f"PO-{oid}",
        "promised_ship_date": iso(promised or at(days=2)),
        "ship_to": {
            "name": "Acme",
            "line1": "1 Main St",
            "city": "Springfield",
            "region": "IL",
            "postal_code": "62701",
            "country": "US",
        },
        "lines": [
            {"line_id": lid, "sku": sku, "qty": qty, "unit_price": price}
            for lid, sku, qty, price in lines
        ],
    }
    data.update(extra)
    return ev("order.created", data, when=when or at())


def master() -> list[Event]:
    return [customer(), product()]


def default_policy() -> Policy:
    return load_policy()


def policy_with(**detectors: dict[str, Any]) -> Policy:
    """The default policy with some detector settings overridden."""
    data = load_policy().model_dump(mode="json")
    for name, values in detectors.items():
        data["detectors"][name].update(values)
    return policy_from_mapping(data)


def run(events: list[Event], policy: Policy | None = None, until: datetime | None = None) -> Engine:
    """Feed events through a fresh engine, then advance timers to ``until`` (or the end)."""
    engine = Engine(policy or default_policy())
    for event in events:
        engine.step(event)
    engine.advance(until)
    return engine


def cases_of(engine: Engine, case_type: str) -> list[dict[str, Any]]:
    """The detection view of the cases of one type (without the playbook's work, which
    reads the state at the moment it runs: see test_resolution_* for that)."""
    return [
        {k: v for k, v in c.to_dict().items() if k != "work"}
        for c in engine.cases()
        if c.type == case_type
    ]
