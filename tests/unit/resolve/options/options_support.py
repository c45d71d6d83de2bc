"""Scenario helpers for the option computer tests: run events, take the case, compute."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from builders import at, default_policy, ev, run
from unsnag.cases.desk import Case
from unsnag.engine import Engine
from unsnag.policy import Policy
from unsnag.resolve.model import Option
from unsnag.resolve.options import COMPUTERS


def case_of(engine: Engine, case_type: str) -> Case:
    [case] = [c for c in engine.cases() if c.type == case_type and c.is_open]
    return case


def options_for(
    computer: str,
    events: list[Any],
    case_type: str,
    policy: Policy | None = None,
    until: datetime | None = None,
) -> tuple[list[Option], Case, Engine]:
    """Run ``events``, take the one open case of ``case_type``, run ``computer`` on it."""
    policy = policy or default_policy()
    engine = run(events, policy, until)
    case = case_of(engine, case_type)
    return COMPUTERS[computer](case, engine.state, policy), case, engine


def actions(options: list[Option]) -> list[str]:
    return [o.action for o in options]


def first(options: list[Option], action: str, **params: Any) -> Option:
    """The best option of ``action`` whose params include ``params``."""
    for option in options:
        if option.action == action and all(option.params.get(k) == v for k, v in params.items()):
            return option
    raise AssertionError(f"no {action} {params} in {[(o.action, o.params) for o in options]}")


def snapshot(
    system: str,
    node: str,
    on_hand: float,
    available: float | None = None,
    sku: str = "BRG-6204",
    when: datetime | None = None,
) -> Any:
    source = "erp" if system == "erp" else f"wms/{node}"
    data: dict[str, Any] = {"node_id": node, "sku": sku, "on_hand": on_hand}
    if available is not None:
        data["available"] = available
    return ev("inventory.snapshot", data, when=when or at(hours=0.5), source=source)


def both(node: str, free: float, sku: str = "BRG-6204", wms: float | None = None) -> list[Any]:
    """ERP and WMS snapshots of a node showing ``free`` units (the WMS ``wms`` if given)."""
    wms_free = free if wms is None else wms
    return [snapshot("erp", node, free, free, sku), snapshot("wms", node, wms_free, None, sku)]


def node(node_id: str, region: str) -> Any:
    data = {"node_id": node_id, "kind": "dc", "region": region}
    return ev("node.upserted", data, when=at(-48))


def purchase_order(
    po_id: str, node_id: str, qty: float, eta: datetime, sku: str = "BRG-6204", **extra: Any
) -> Any:
    data = {
        "po_id": po_id,
        "node_id": node_id,
        "supplier_id": "SUP-1",
        "lines": [{"sku": sku, "qty": qty}],
        "eta": eta.strftime("%Y-%m-%dT%H:%M:%SZ"),
        **extra,
    }
    return ev("purchase_order.created", data, when=at(-24))


def shipment(
    sid: str,
    oid: str,
    node_id: str = "dc-east",
    carrier: str = "ups",
    service: str = "ground",
    when: datetime | None = None,
    lines: list[tuple[str, float]] | None = None,
    **extra: Any,
) -> Any:
    data: dict[str, Any] = {
        "shipment_id": sid,
        "order_id": oid,
        "node_id": node_id,
        "carrier": carrier,
        "service": service,
        "lines": [{"line_id": lid, "qty": q} for lid, q in (lines or [("1", 10)])],
        **extra,
    }
    return ev("shipment.created", data, when=when or at(hours=2))


def lane_history(node_id: str, carrier: str, count: int, service: str) -> list[Any]:
    """``count`` earlier shipments from ``node_id`` with ``carrier`` (of other orders)."""
    return [
        shipment(f"SH-{carrier}-{i}", f"SO-old-{i}", node_id, carrier, service, when=at(-30 + i))
        for i in range(count)
    ]


# --- one ordinary scenario per case type (the contract test runs every computer on them) ---


def _line_event(type_: str, **data: Any) -> Any:
    base = {"order_id": "SO-1", "line_id": "1", "node_id": "dc-east", "sku": "BRG-6204"}
    return ev(type_, {**base, **data}, when=at(hours=1))


def invoice(
    inv: str = "INV-1",
    oid: str = "SO-1",
    amount: float = 100.0,
    due: datetime | None = None,
    when: datetime | None = None,
    cid: str = "C1",
) -> Any:
    data: dict[str, Any] = {"invoice_id": inv, "order_id": oid, "customer_id": cid}
    data["amount"] = amount
    if due is not None:
        data["due_date"] = due.strftime("%Y-%m-%dT%H:%M:%SZ")
    return ev("invoice.issued", data, when=when or at(days=1))


def remittance(
    rid: str, amount: float, references: str, cid: str | None = "C1", when: datetime | None = None
) -> Any:
    data: dict[str, Any] = {"remittance_id": rid, "amount": amount, "references": references}
    if cid:
        data["customer_id"] = cid
    return ev("remittance.received", data, when=when or at(days=20))


def delivered(sid: str, discrepancies: list[dict[str, Any]], when: datetime | None = None) -> Any:
    data = {"shipment_id": sid, "discrepancies": discrepancies}
    return ev("shipment.delivered", data, when=when or at(days=2))


def scenario(case_type: str) -> tuple[str, list[Any], datetime | None]:
    """(computer, events, advance until) of an ordinary case of ``case_type``."""
    from builders import customer, master, order, product

    base = [*master(), *both("dc-west", 40)]
    failed = _line_event("allocation.failed", qty_requested=10, qty_available=3)
    table: dict[str, tuple[str, list[Any], datetime | None]] = {
        "allocation.shortage": ("shortage", [*base, order(), failed], None),
        "allocation.conflict": (
            "conflict",
            [
                *base,
                order(),
                order("SO-2"),
                failed,
                _line_event(
                    "allocation.failed", order_id="SO-2", qty_requested=10, qty_available=3
                ),
            ],
            None,
        ),
        "inventory.mismatch": (
            "inventory_mismatch",
            [product(), snapshot("erp", "dc-east", 120), snapshot("wms", "dc-east", 96)],
            None,
        ),
        "pick.short": (
            "pick_short",
            [*base, order(), _line_event("pick.short", qty_picked=6, qty_short=4)],
            None,
        ),
        "pricing.mismatch": (
            "pricing",
            [
                *master(),
                ev(
                    "price.agreed",
                    {"customer_id": "C1", "sku": "BRG-6204", "unit_price": 9.0},
                    when=at(-40),
                ),
                order(),
            ],
            None,
        ),
        "credit.hold": (
            "credit_hold",
            [
                customer(credit_limit=1000.0),
                product(),
                order(),
                ev("order.held", {"order_id": "SO-1", "hold_code": "credit"}, when=at(hours=1)),
            ],
            at(hours=3),
        ),
        "master_data.invalid": (
            "master_data",
            [
                *master(),
                order(),
                ev(
                    "order.validation_failed",
                    {"order_id": "SO-1", "check": "tax"},
                    when=at(hours=1),
                ),
            ],
            None,
        ),
        "order.duplicate": (
            "duplicate",
            [*master(), order(po_number="PO-9"), order("SO-2", po_number="PO-9", when=at(1))],
            None,
        ),
        "shipment.delay": (
            "shipment_delay",
            [
                *master(),
                order(),
                *lane_history("dc-east", "fedex", 5, "2day"),
                shipment("SH-1", "SO-1", promised_delivery_date="2026-05-06T12:00:00Z"),
                ev(
                    "shipment.delayed",
                    {"shipment_id": "SH-1", "eta": "2026-05-08T12:00:00Z"},
                    when=at(hours=5),
                ),
            ],
            None,
        ),
        "shipment.failed": (
            "shipment_failed",
            [
                *master(),
                order(),
                *lane_history("dc-east", "fedex", 5, "2day"),
                shipment("SH-1", "SO-1"),
                ev(
                    "carrier.rejected",
                    {"shipment_id": "SH-1", "carrier": "ups", "reason": "capacity"},
                    when=at(hours=3),
                ),
            ],
            None,
        ),
        "delivery.discrepancy": (
            "delivery_discrepancy",
            [
                *master(),
                order(),
                *both("dc-east", 40),
                shipment("SH-1", "SO-1"),
                invoice(when=at(days=1)),
                delivered("SH-1", [{"line_id": "1", "kind": "short", "qty": 2}]),
            ],
            None,
        ),
        "asn.discrepancy": (
            "asn",
            [
                product(),
                purchase_order("PO-5", "dc-east", 50, at(days=5)),
                ev(
                    "asn.received",
                    {
                        "asn_id": "ASN-1",
                        "po_number": "PO-5",
                        "lines": [{"sku": "BRG-6204", "qty": 60}],
                    },
                    when=at(days=1),
                ),
            ],
            None,
        ),
        "return.pending": (
            "return_pending",
            [
                *master(),
                order(),
                shipment("SH-1", "SO-1"),
                delivered("SH-1", []),
                ev(
                    "return.requested",
                    {
                        "rma_id": "RMA-1",
                        "order_id": "SO-1",
                        "lines": [
                            {"line_id": "1", "sku": "BRG-6204", "qty": 2, "reason": "damaged"}
                        ],
                    },
                    when=at(days=3),
                ),
            ],
            None,
        ),
        "invoice.hold": (
            "invoice_hold",
            [
                *master(),
                order(),
                invoice(),
                ev(
                    "invoice.disputed",
                    {"invoice_id": "INV-1", "amount_disputed": 1.0},
                    when=at(days=2),
                ),
            ],
            None,
        ),
        "cash.unapplied": (
            "cash_unapplied",
            [*master(), order(), invoice(), remittance("R-1", 90.0, "INV-1")],
            None,
        ),
        "payment.overdue": (
            "payment_overdue",
            [*master(), order(), invoice(due=at(days=31))],
            at(days=40),
        ),
        "integration.failure": (
            "integration",
            [
                ev(
                    "integration.failed",
                    {
                        "endpoint": "wms-east",
                        "operation": "pick.confirm",
                        "error": "HTTP 503",
                        "attempt": 3,
                    },
                    when=at(hours=1),
                )
            ],
            None,
        ),
    }
    return table[case_type]
