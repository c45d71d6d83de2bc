"""The twin connector: actions carried out on the simulated distributor, in process.

Each action kind maps to one of the twin's commands (:mod:`unsnag.twin.actions`), built
from the action's params, with the outbox key as the command's idempotency key, so the
twin applies a key once however often it is sent. Accepted is delivered (a repeat of an
accepted key too, marked ``repeated``); refused fails with the twin's reason; a kind the
twin has no command for fails at once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from unsnag.connectors.base import Outcome
from unsnag.store.port import StoredAction
from unsnag.twin.actions import (
    Action,
    ApplyPayment,
    AuthoriseReturn,
    CancelOrder,
    CorrectPrice,
    IssueCreditMemo,
    IssueInvoice,
    PartialShip,
    Reallocate,
    ReleaseHold,
    Reroute,
    RetryInterface,
    SendDunning,
)
from unsnag.twin.flow import Twin


class MissingParam(Exception):
    pass


def _text(params: Mapping[str, Any], name: str, default: str | None = None) -> str:
    value = params.get(name, default)
    if value is None or (value == "" and default is None):
        raise MissingParam(name)
    return str(value)


def _number(params: Mapping[str, Any], name: str) -> float:
    """A number (or its text); missing, boolean or not numeric is :class:`MissingParam`."""
    value = params.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise MissingParam(name)
    try:
        return float(value)
    except ValueError:
        raise MissingParam(name) from None


_money = _number


def _credit(reason: str) -> Callable[[str, Mapping[str, Any]], Action]:
    def build(key: str, p: Mapping[str, Any]) -> Action:
        why = _text(p, "reason", reason)
        return IssueCreditMemo(
            key=key, invoice_id=_text(p, "invoice_id"), amount=_money(p, "amount"), reason=why
        )

    return build


COMMANDS: dict[str, Callable[[str, Mapping[str, Any]], Action]] = {
    "release_hold": lambda key, p: ReleaseHold(key=key, order_id=_text(p, "order_id")),
    "reallocate": lambda key, p: Reallocate(
        key=key,
        order_id=_text(p, "order_id"),
        line_id=_text(p, "line_id"),
        to_node=_text(p, "to_node"),
    ),
    "reroute": lambda key, p: Reroute(
        key=key,
        carrier=_text(p, "carrier"),
        shipment_id=_text(p, "shipment_id", ""),
        order_id=_text(p, "order_id", ""),
    ),
    "cancel_order": lambda key, p: CancelOrder(
        key=key, order_id=_text(p, "order_id"), reason=_text(p, "reason", "")
    ),
    "correct_price": lambda key, p: CorrectPrice(
        key=key,
        order_id=_text(p, "order_id"),
        line_id=_text(p, "line_id"),
        unit_price=_money(p, "unit_price"),
    ),
    "issue_credit_memo": _credit(""),
    "write_off": _credit("write-off"),
    "apply_payment": lambda key, p: ApplyPayment(
        key=key,
        remittance_id=_text(p, "remittance_id"),
        invoice_id=_text(p, "invoice_id"),
        amount=_money(p, "amount"),
    ),
    "issue_invoice": lambda key, p: IssueInvoice(key=key, order_id=_text(p, "order_id")),
    "send_dunning": lambda key, p: SendDunning(key=key, invoice_id=_text(p, "invoice_id")),
    "authorise_return": lambda key, p: AuthoriseReturn(key=key, rma_id=_text(p, "rma_id")),
    "partial_ship": lambda key, p: PartialShip(
        key=key,
        order_id=_text(p, "order_id"),
        line_id=_text(p, "line_id"),
        qty=_number(p, "qty"),
    ),
    "retry_interface": lambda key, p: RetryInterface(key=key, endpoint=_text(p, "endpoint")),
}
"""Action kind -> the twin command it becomes (outbox key, params)."""


class TwinSender:
    """Acts on one running twin (built ``actionable=True``). Not thread-safe, like it."""

    def __init__(self, twin: Twin) -> None:
        self._twin = twin

    def send(self, action: StoredAction) -> Outcome:
        build = COMMANDS.get(action.kind)
        if build is None:
            return Outcome.fail(f"the twin has no {action.kind}")
        try:
            command = build(action.key, action.params)
        except MissingParam as missing:
            return Outcome.fail(f"{action.kind} needs a valid {missing}")
        result = self._twin.act(command)
        if not result.accepted:
            return Outcome.fail(f"the twin refused {action.kind}: {result.reason}")
        answer = "repeated: accepted before" if result.repeated else "accepted"
        if result.effective_at is not None:
            when = datetime.fromtimestamp(result.effective_at, UTC).isoformat()
            answer += f", effective {when.replace('+00:00', 'Z')}"
        return Outcome.delivered(answer)
