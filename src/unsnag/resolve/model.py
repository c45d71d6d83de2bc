"""The vocabulary of resolution: options, actions, outbox items and audit entries.

Plain frozen data, shared by the playbook runner (pure, in the engine), the option
computers, the outbox dispatcher and connectors (at the edge) and the CLI/API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class ActionKind:
    """One kind of outbound action: which system takes it and which fields it needs."""

    name: str
    system: str
    params: tuple[str, ...]
    description: str
    outside_party: str | None = None
    """Set when doing it means waiting on a customer, supplier or carrier."""


ACTIONS: dict[str, ActionKind] = {
    kind.name: kind
    for kind in (
        ActionKind("release_hold", "erp", ("order_id",), "Release the order's credit hold."),
        ActionKind(
            "reallocate",
            "erp",
            ("order_id", "line_id", "to_node"),
            "Move a line's reservation to another DC.",
        ),
        ActionKind(
            "partial_ship", "erp", ("order_id", "line_id", "qty"), "Ship what is there now."
        ),
        ActionKind(
            "substitute", "erp", ("order_id", "line_id", "sku"), "Fill a line with a substitute."
        ),
        ActionKind(
            "expedite_po",
            "erp",
            ("po_id",),
            "Ask the supplier to expedite a PO.",
            outside_party="supplier",
        ),
        ActionKind("reroute", "tms", ("order_id", "carrier"), "Tender to another carrier."),
        ActionKind("cancel_order", "erp", ("order_id",), "Cancel an order (a duplicate)."),
        ActionKind(
            "correct_price",
            "erp",
            ("order_id", "line_id", "unit_price"),
            "Set a line's price (to the contract).",
        ),
        ActionKind(
            "issue_credit_memo",
            "finance",
            ("invoice_id", "amount"),
            "Credit an invoice (discrepancy, return, dispute).",
        ),
        ActionKind(
            "write_off",
            "finance",
            ("invoice_id", "amount"),
            "Write off a small balance (short pay under threshold).",
        ),
        ActionKind(
            "open_deduction",
            "finance",
            ("remittance_id", "amount"),
            "Open a deduction case with the customer for a short pay.",
            outside_party="customer",
        ),
        ActionKind(
            "apply_payment",
            "finance",
            ("remittance_id", "invoice_id", "amount"),
            "Apply a remittance to an invoice.",
        ),
        ActionKind("issue_invoice", "finance", ("order_id",), "Invoice a shipped order."),
        ActionKind("authorise_return", "erp", ("rma_id",), "Authorise a return."),
        ActionKind(
            "adjust_inventory",
            "wms",
            ("node_id", "sku"),
            "Order a cycle count and align ERP stock with it.",
        ),
        ActionKind("retry_interface", "integration", ("endpoint",), "Replay failed messages."),
        ActionKind(
            "request_info",
            "notify",
            ("party", "question"),
            "Ask an outside party (customer, supplier, carrier) and wait.",
            outside_party="customer",
        ),
        ActionKind(
            "send_dunning",
            "notify",
            ("invoice_id",),
            "Send a payment reminder.",
            outside_party="customer",
        ),
        ActionKind("fix_master_data", "erp", ("order_id",), "Correct address or tax data."),
        ActionKind("notify", "notify", ("to", "subject"), "Tell a person or team."),
        ActionKind(
            "recheck",
            "unsnag",
            ("hours",),
            "Look again later: what the fix needs is not there yet (never dispatched).",
        ),
    )
}


@dataclass(frozen=True, slots=True)
class Effect:
    """What an option is expected to achieve, in the units a manager weighs."""

    revenue_protected: float = 0.0
    cost: float = 0.0
    days_gained: float = 0.0

    def to_dict(self) -> dict[str, float]:
        return {
            "revenue_protected": round(self.revenue_protected, 2),
            "cost": round(self.cost, 2),
            "days_gained": round(self.days_gained, 2),
        }


@dataclass(frozen=True, slots=True)
class Option:
    """One way to resolve a case: an action with its arguments, effect and reasons."""

    action: str
    """An :data:`ACTIONS` kind."""
    params: dict[str, Any]
    summary: str
    effect: Effect = Effect()
    facts: tuple[str, ...] = ()
    """The facts the option rests on, as a person would read them."""
    confidence: float = 0.5
    """0..1: how sure we are the action fixes the problem (automation limits read it)."""
    amount: float = 0.0
    """Money at stake, for approval thresholds and automation limits."""
    below_margin_floor: bool = False
    batch: tuple[Option, ...] = ()
    """Further actions carried out with this one as one batch (an allocation plan's
    moves): approved once — ``amount`` and ``confidence`` stand for the whole batch —
    and sent together, this option's action first (``Resolver.emit_action``)."""

    @property
    def actions(self) -> tuple[Option, ...]:
        """This option and its batch, in the order they are sent."""
        return (self, *self.batch)

    def to_dict(self) -> dict[str, Any]:
        out = {
            "action": self.action,
            "params": dict(self.params),
            "summary": self.summary,
            "effect": self.effect.to_dict(),
            "facts": list(self.facts),
            "confidence": round(self.confidence, 3),
            "amount": round(self.amount, 2),
            "below_margin_floor": self.below_margin_floor,
        }
        if self.batch:
            out["batch"] = [
                {"action": o.action, "params": dict(o.params), "summary": o.summary}
                for o in self.batch
            ]
        return out


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """An outbound action decided by the engine, waiting to be dispatched.

    ``key`` is the idempotency key: the same decision replayed is the same key, the
    store keeps one row per key, and connectors send it so receivers can drop repeats.
    """

    key: str
    case_id: str
    kind: str
    """An :data:`ACTIONS` kind, or ``notify``."""
    connector: str
    params: dict[str, Any]
    created_at: datetime
    requested_by: str = "unsnag"

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "case_id": self.case_id,
            "kind": self.kind,
            "connector": self.connector,
            "params": dict(self.params),
            "created_at": self.created_at.isoformat().replace("+00:00", "Z"),
            "requested_by": self.requested_by,
        }


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One fact for the audit trail, before the store chains it.

    ``id`` is deterministic (case id and the case's own entry counter), so a replay that
    re-derives the same decisions writes nothing twice.
    """

    id: str
    at: datetime
    case_id: str
    kind: str
    """detected, updated, priority, assigned, recommended, approval_requested, approved,
    rejected, expired, escalated, action, action_delivered, action_failed, comment,
    sla_paused, sla_resumed, resolved, closed."""
    actor: str
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.isoformat().replace("+00:00", "Z"),
            "case_id": self.case_id,
            "kind": self.kind,
            "actor": self.actor,
            "detail": self.detail,
        }
