"""The twin connector turns outbox actions into the twin's commands, key for key."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from unsnag.connectors import build_connectors
from unsnag.connectors.twin import COMMANDS, TwinSender
from unsnag.errors import ConnectorError
from unsnag.policy.resolution import Resolution, TwinConnector
from unsnag.store.port import StoredAction
from unsnag.twin import FAULT_KINDS, TwinConfig
from unsnag.twin.actions import (
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
from unsnag.twin.emitter import HOUR
from unsnag.twin.flow import Order, Twin
from unsnag.twin.loop import TWIN_KINDS

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
SMALL = TwinConfig(customers=30, skus=120)


def actionable_twin(**rates: float) -> Twin:
    faults = SMALL.faults.model_copy(update={kind: 0.0 for kind in FAULT_KINDS} | rates)
    twin = Twin(
        SMALL.model_copy(update={"faults": faults}), 1, 60, 1, lambda _: None, actionable=True
    )
    twin.start()
    return twin


def held_order(twin: Twin) -> Order:
    while len(twin.sim):
        twin.sim.run(until=twin.sim.now_s + HOUR)
        held = next((o for o in twin.by_order.values() if o.held is not None), None)
        if held is not None:
            return held
    raise AssertionError("no order was ever held")


def action(kind: str, key: str = "C-1.a1", **params: Any) -> StoredAction:
    return StoredAction(
        key=key,
        case_id="C-1",
        kind=kind,
        connector="twin",
        params=params,
        created_at=T0,
        requested_by="unsnag",
        status="pending",
        attempts=1,
        next_attempt_at=T0,
    )


def test_release_hold_is_accepted_once_and_a_repeat_of_its_key_is_repeated() -> None:
    twin = actionable_twin(credit_hold=1.0)
    order = held_order(twin)
    sender = TwinSender(twin)
    first = sender.send(action("release_hold", order_id=order.id))
    assert first.status == "delivered" and (first.detail or "").startswith("accepted, effective")
    assert twin.action_results["C-1.a1"].accepted and order.held is None
    again = sender.send(action("release_hold", order_id=order.id))
    assert again.status == "delivered" and (again.detail or "").startswith("repeated")
    assert list(twin.action_results) == ["C-1.a1"]


def test_a_refusal_fails_with_the_twins_reason() -> None:
    twin = actionable_twin()
    outcome = TwinSender(twin).send(action("release_hold", order_id="SO-404"))
    assert (outcome.status, outcome.detail) == (
        "fail",
        "the twin refused release_hold: unknown order SO-404",
    )


def test_a_kind_the_twin_lacks_fails_at_once() -> None:
    outcome = TwinSender(actionable_twin()).send(action("substitute", order_id="SO-1"))
    assert (outcome.status, outcome.detail) == ("fail", "the twin has no substitute")


def test_a_missing_param_fails_at_once() -> None:
    outcome = TwinSender(actionable_twin()).send(action("reallocate", order_id="SO-1"))
    assert (outcome.status, outcome.detail) == ("fail", "reallocate needs a valid line_id")


@pytest.mark.parametrize(
    ("kind", "params", "missing"),
    [
        ("issue_invoice", {"invoice_id": "INV-1"}, "order_id"),
        ("send_dunning", {"invoice_id": ""}, "invoice_id"),
        ("authorise_return", {"order_id": "SO-1"}, "rma_id"),
        ("partial_ship", {"order_id": "SO-1", "line_id": "1"}, "qty"),
        ("partial_ship", {"order_id": "SO-1", "line_id": "1", "qty": "some"}, "qty"),
        ("partial_ship", {"order_id": "SO-1", "line_id": "1", "qty": True}, "qty"),
        ("retry_interface", {"payload_refs": ["batch-1"]}, "endpoint"),
    ],
)
def test_the_new_kinds_fail_at_once_without_their_params(
    kind: str, params: dict[str, Any], missing: str
) -> None:
    outcome = TwinSender(actionable_twin()).send(action(kind, **params))
    assert (outcome.status, outcome.detail) == ("fail", f"{kind} needs a valid {missing}")


def test_every_kind_the_loop_sends_to_the_twin_has_a_command() -> None:
    assert set(COMMANDS) >= TWIN_KINDS
    assert {"issue_invoice", "send_dunning", "authorise_return", "partial_ship",
            "retry_interface"} <= TWIN_KINDS  # fmt: skip


def test_a_dunning_on_an_invoice_not_overdue_fails_with_the_reason() -> None:
    twin = actionable_twin(late_payment=1.0)
    while not twin.by_invoice:
        twin.sim.run(until=twin.sim.now_s + HOUR)
    invoice_id = next(iter(twin.by_invoice))
    outcome = TwinSender(twin).send(action("send_dunning", invoice_id=invoice_id))
    assert outcome.status == "fail"
    assert (outcome.detail or "").startswith(
        f"the twin refused send_dunning: invoice {invoice_id} is not overdue"
    )


@pytest.mark.parametrize(
    ("kind", "params", "command"),
    [
        ("release_hold", {"order_id": "SO-1"}, ReleaseHold(key="k", order_id="SO-1")),
        (
            "reallocate",
            {"order_id": "SO-1", "line_id": "2", "to_node": "dc-west"},
            Reallocate(key="k", order_id="SO-1", line_id="2", to_node="dc-west"),
        ),
        (
            "reroute",
            {"order_id": "SO-1", "carrier": "ups"},
            Reroute(key="k", order_id="SO-1", carrier="ups"),
        ),
        ("cancel_order", {"order_id": "SO-2"}, CancelOrder(key="k", order_id="SO-2")),
        (
            "correct_price",
            {"order_id": "SO-1", "line_id": "1", "unit_price": "12.50"},
            CorrectPrice(key="k", order_id="SO-1", line_id="1", unit_price=12.5),
        ),
        (
            "issue_credit_memo",
            {"invoice_id": "INV-1", "amount": 5, "reason": "damaged"},
            IssueCreditMemo(key="k", invoice_id="INV-1", amount=5.0, reason="damaged"),
        ),
        (
            "write_off",
            {"invoice_id": "INV-1", "amount": 0.4},
            IssueCreditMemo(key="k", invoice_id="INV-1", amount=0.4, reason="write-off"),
        ),
        (
            "apply_payment",
            {"remittance_id": "RM-1", "invoice_id": "INV-1", "amount": 10},
            ApplyPayment(key="k", remittance_id="RM-1", invoice_id="INV-1", amount=10.0),
        ),
        ("issue_invoice", {"order_id": "SO-1"}, IssueInvoice(key="k", order_id="SO-1")),
        ("send_dunning", {"invoice_id": "INV-1"}, SendDunning(key="k", invoice_id="INV-1")),
        (
            "authorise_return",
            {"rma_id": "RMA-1", "order_id": "SO-1"},
            AuthoriseReturn(key="k", rma_id="RMA-1"),
        ),
        (
            "partial_ship",
            {"order_id": "SO-1", "line_id": "2", "qty": 4.0},
            PartialShip(key="k", order_id="SO-1", line_id="2", qty=4.0),
        ),
        (
            "partial_ship",
            {"order_id": "SO-1", "line_id": "2", "qty": "3"},
            PartialShip(key="k", order_id="SO-1", line_id="2", qty=3.0),
        ),
        (
            "retry_interface",
            {"endpoint": "erp/orders-api", "payload_refs": ["batch-00000001"]},
            RetryInterface(key="k", endpoint="erp/orders-api"),
        ),
    ],
)
def test_each_kind_becomes_its_command_with_the_outbox_key(
    kind: str, params: dict[str, Any], command: object
) -> None:
    assert COMMANDS[kind]("k", params) == command


def test_the_registry_needs_a_twin_for_a_twin_connector() -> None:
    resolution = Resolution(connectors={"twin": TwinConnector(kind="twin")})
    with pytest.raises(ConnectorError, match="twin"):
        build_connectors(resolution)
    assert isinstance(build_connectors(resolution, actionable_twin())["twin"], TwinSender)
