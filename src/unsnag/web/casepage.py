"""One case as a person works it: header, cross-system timeline, context panels,
recommendations, the pending approval, what the person may do, and the audit trail."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from unsnag.api.auth import Principal, may_work_case
from unsnag.api.deps import Services
from unsnag.api.v1 import case_detail
from unsnag.errors import UnsnagError
from unsnag.resolve.approvals import check_can_approve
from unsnag.resolve.options.credit_hold import score
from unsnag.web.format import instant, sla_countdown

SYSTEMS = {
    "erp": "ERP",
    "wms": "WMS",
    "tms": "TMS",
    "carrier": "Carrier",
    "finance": "Finance",
    "edi": "EDI",
    "crm": "CRM",
    "ecommerce": "E-commerce",
    "portal": "Portal",
    "unsnag": "unsnag",
}


@dataclass(frozen=True, slots=True)
class Entry:
    """One line of the timeline."""

    time: str
    system: str
    label: str
    source: str
    type: str
    data: Any
    own: bool = False
    master: bool = False
    """Master data (customers, products, prices, nodes) from before the case opened:
    context, not the case's story (collapsed on the page)."""


def system_of(source: str | None) -> str:
    head = (source or "other").split("/", 1)[0].lower()
    return head if head in SYSTEMS else "other"


MASTER_DATA = frozenset({"customer.upserted", "product.upserted", "price.agreed", "node.upserted"})


def timeline(case: dict[str, Any], events: list[dict[str, Any]]) -> list[Entry]:
    """The systems' events about the case and the case's own history, newest first (so
    the latest news is at the top of the box, with or without JavaScript)."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    opened = instant(case.get("opened_at")) or epoch
    entries = [
        Entry(
            str(e.get("time") or ""),
            system_of(e.get("source")),
            SYSTEMS.get(system_of(e.get("source")), str(e.get("source"))),
            str(e.get("source") or ""),
            str(e.get("type") or ""),
            e.get("data"),
            master=e.get("type") in MASTER_DATA and (instant(e.get("time")) or epoch) < opened,
        )
        for e in events
    ]
    for step in case.get("timeline") or []:
        what = str(step.get("what") or "")
        entries.append(
            Entry(
                str(step.get("at") or ""),
                "unsnag",
                "unsnag",
                "unsnag",
                f"case.{what}",
                step.get("note"),
                own=True,
            )
        )
    return sorted(entries, key=lambda e: (instant(e.time) or epoch, e.own), reverse=True)


PANELS = ("order", "customer", "stock", "shipment", "invoice")
STOCK_FACT = re.compile(r"\b(ERP|WMS)\b.*\b(on hand|free|available)\b")


NOTHING_ON_FILE = re.compile(r"^(\w+): nothing on file for ")
"""The fact a gather step records for a group with nothing on file (``invoice: ...``)."""
GROUP_PANEL = {
    "order": "order",
    "customer": "customer",
    "stock": "stock",
    "inbound": "stock",
    "substitutes": "stock",
    "shipment": "shipment",
    "carrier_lane": "shipment",
    "invoice": "invoice",
    "payments": "invoice",
    "remittance": "invoice",
    "returns": "order",
}


def _fact_panel(fact: str) -> str | None:
    empty = NOTHING_ON_FILE.match(fact)
    if empty:
        return GROUP_PANEL.get(empty.group(1))
    head = fact.split(" ", 1)[0].lower()
    if head in ("order", "customer", "shipment", "invoice"):
        return head
    if head.startswith("sh-"):
        return "shipment"
    if head.startswith("inv-"):
        return "invoice"
    if STOCK_FACT.search(fact) or head.startswith("po-"):
        return "stock"
    return None


def _merge(events: Iterable[dict[str, Any]], prefixes: tuple[str, ...], key: str) -> list[Any]:
    """Per business object (``key``), the fields its events told us, latest winning."""
    merged: dict[str, dict[str, Any]] = {}
    for event in events:
        data = event.get("data")
        if not isinstance(data, dict) or not str(event.get("type", "")).startswith(prefixes):
            continue
        ident = str(data.get(key) or event.get("subject") or "?")
        fields = merged.setdefault(ident, {})
        fields.update({k: v for k, v in data.items() if not isinstance(v, dict | list)})
        fields["last event"] = f"{event.get('type')} ({event.get('source')})"
    return [{"id": ident, "fields": fields} for ident, fields in merged.items()]


def _stock(svc: Services, case: dict[str, Any]) -> list[dict[str, Any]]:
    """Stock of the case's SKUs by node and system, from the engine's live state."""
    skus = (case.get("refs") or {}).get("sku")
    wanted = skus if isinstance(skus, list) else [skus] if skus else []
    rows = []
    with svc.runtime.lock:
        state = svc.runtime.session.engine.state
        for sku in wanted:
            for node in state.nodes_by_sku.get(str(sku), []):
                for system, view in sorted(state.stock.get((node, str(sku)), {}).items()):
                    rows.append(
                        {
                            "sku": sku,
                            "node": node,
                            "system": system,
                            "on_hand": view.on_hand,
                            "allocated": view.allocated,
                            "available": view.available,
                            "as_of": view.as_of,
                        }
                    )
    return rows


def _customer(svc: Services, case: dict[str, Any]) -> dict[str, Any] | None:
    """The case's customer as the engine knows it now: master data and credit exposure
    (open order value plus open invoice balances, as the credit-hold playbook counts it)."""
    customer_id = case.get("customer_id")
    if not customer_id:
        return None
    with svc.runtime.lock:
        state = svc.runtime.session.engine.state
        customer = state.customers.get(str(customer_id))
        if customer is None:
            return None
        credit = score(state, customer, svc.runtime.clock())
        return {
            "id": customer.customer_id,
            "name": customer.name,
            "tier": customer.tier,
            "credit_limit": customer.credit_limit,
            "terms_days": customer.terms_days,
            "region": customer.region,
            "segment": customer.segment,
            "open_orders": customer.open_order_value,
            "open_invoices": credit.exposure - customer.open_order_value,
            "exposure": credit.exposure,
            "used": credit.ratio,
            "overdue": len(credit.overdue),
        }


def gathered_at(case: dict[str, Any], audit: list[dict[str, Any]]) -> str | None:
    """When the playbook gathered the case's facts: its gather step runs just before it
    recommends (the first ``recommended`` entry), else when the case was opened."""
    first = next((a.get("at") for a in audit if a.get("kind") == "recommended"), None)
    return str(first or case.get("opened_at") or "") or None


def panels(
    svc: Services,
    case: dict[str, Any],
    events: list[dict[str, Any]],
) -> dict[str, Any]:
    """The context panels: what the systems say now (the engine's state and the events),
    and the facts the playbook gathered when it started, less the "nothing on file"
    ones a panel now contradicts."""
    found = {
        "orders": _merge(events, ("order.",), "order_id"),
        "shipments": _merge(events, ("shipment.", "carrier."), "shipment_id"),
        "invoices": _merge(
            events, ("invoice.", "credit_memo.", "payment.", "remittance."), "invoice_id"
        ),
        "stock": _stock(svc, case),
        "customer": _customer(svc, case),
    }
    live = {
        "order": bool(found["orders"]),
        "customer": found["customer"] is not None,
        "stock": bool(found["stock"]),
        "shipment": bool(found["shipments"]),
        "invoice": bool(found["invoices"]),
    }
    facts: dict[str, list[str]] = {name: [] for name in (*PANELS, "other")}
    for fact in (case.get("work") or {}).get("facts") or []:
        panel = _fact_panel(str(fact)) or "other"
        if NOTHING_ON_FILE.match(str(fact)) and live.get(panel):
            continue  # stale: the panel shows what has arrived since
        facts[panel].append(str(fact))
    return {"facts": facts, **found}


def approval_refusal(svc: Services, principal: Principal, case_id: str) -> str | None:
    """Why the principal may not decide the pending approval (None if they may)."""
    with svc.runtime.lock:
        live = svc.runtime.session.engine.desk.cases.get(case_id)
        pending = live.work.pending_approval if live and live.work else None
        if pending is None:
            return "nothing waits for approval"
        try:
            check_can_approve(
                svc.runtime.session.engine.resolver.res, pending, principal.actor, principal.role
            )
        except UnsnagError as exc:
            return str(exc)
    return None


def case_page(svc: Services, principal: Principal, case_id: str) -> dict[str, Any]:
    """Everything the case page shows (NotFound if there is no such case)."""
    detail = case_detail(svc, case_id)
    case = detail["case"]
    work = case.get("work") or {}
    pending = next((a for a in work.get("approvals") or [] if a.get("status") == "pending"), None)
    refusal = may_work_case(principal, case)
    is_open = case.get("status") in ("open", "in_progress")
    entries = timeline(case, detail["timeline"])
    return {
        "case": case,
        "work": work,
        "sla": sla_countdown(case, svc.runtime.clock()),
        "timeline": entries,
        "master_count": sum(e.master for e in entries),
        "panels": panels(svc, case, detail["timeline"]),
        "gathered_at": gathered_at(case, detail["audit"]),
        "recommendations": list(enumerate(work.get("recommendations") or [])),
        "escalation": escalation(work, pending),
        "pending": pending,
        "approvals": work.get("approvals") or [],
        "actions": detail["actions"],
        "audit": detail["audit"],
        "comments": work.get("comments") or [],
        "may_work": refusal is None and is_open,
        "work_refusal": refusal or (None if is_open else f"the case is {case.get('status')}"),
        "approve_refusal": (refusal or approval_refusal(svc, principal, case_id))
        if pending
        else None,
        "systems": SYSTEMS,
    }


def escalation(work: dict[str, Any], pending: dict[str, Any] | None) -> dict[str, Any]:
    """Who the case is escalated to, and whether its pending approval follows: an
    approval asked again after one expired may also be decided by the role it was
    escalated to (and above); an escalation for the SLA moves the case, not the approval."""
    level = int(work.get("escalation_level") or 0)
    role = str(work.get("escalation") or "") if level else ""
    follows = bool(pending and pending.get("escalated_to"))
    return {
        "role": role,
        "level": level,
        "approval_role": (pending or {}).get("escalated_to") or "",
        "approval_lags": bool(pending and role and not follows),
    }


def timeline_page(svc: Services, case_id: str) -> dict[str, Any]:
    detail = case_detail(svc, case_id)
    entries = timeline(detail["case"], detail["timeline"])
    return {
        "case": detail["case"],
        "timeline": entries,
        "master_count": sum(e.master for e in entries),
    }
