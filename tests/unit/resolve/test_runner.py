"""The playbook runner: automation within limits, approvals with segregation of duties,
expiry and escalation, SLA pauses, action outcomes, and decisions that replay exactly."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from builders import at, customer, default_policy, ev, order, product, run
from unsnag.engine import Engine
from unsnag.errors import Conflict, ContractViolation, Forbidden, NotFound
from unsnag.events import parse_event
from unsnag.policy import Policy, policy_from_mapping
from unsnag.resolve import commands
from unsnag.resolve.events import command_event, outcome_event

LATER = at(hours=6)


def policy_where(**resolution: Any) -> Policy:
    data = default_policy().model_dump(mode="json")
    data["resolution"].update(resolution)
    return policy_from_mapping(data)


def manual_policy() -> Policy:
    data = default_policy().model_dump(mode="json")
    data["resolution"]["automation"]["enabled"] = False
    return policy_from_mapping(data)


def held_order(value_qty: float = 10, price: float = 10.0, limit: float = 1e6) -> list[Any]:
    return [
        customer(credit_limit=limit),
        product(),
        order(lines=[("1", "BRG-6204", value_qty, price)]),
        ev(
            "order.held",
            {"order_id": "SO-1", "hold_code": "credit", "reason": "limit"},
            when=at(minutes=1),
        ),
    ]


def duplicate_pair() -> list[Any]:
    return [
        customer(),
        product(),
        order("SO-1", when=at()),
        order("SO-2", when=at(minutes=5), po_number="PO-SO-1"),
    ]


def only(engine: Engine, case_type: str) -> Any:
    [case] = [c for c in engine.cases() if c.type == case_type]
    return case


def command(
    engine: Engine, kind: str, case_id: str, actor: str, role: str, when: datetime, **fields: Any
) -> None:
    """What the CLI does: validate (raises), then write the command as an event."""
    data = {"case_id": case_id, "actor": actor, "role": role, **fields}
    commands.validate(engine.resolver, kind, data)
    raw = command_event(
        kind, f"U-{kind}-{actor}-{when.timestamp()}", case_id, actor, role, when, **fields
    )
    engine.step(parse_event(raw, own=True))
    engine.advance(when)


SOON = at(hours=1)


def test_an_exact_duplicate_is_cancelled_without_a_person():
    engine = run(duplicate_pair(), until=SOON)
    case = only(engine, "order.duplicate")
    work = case.work
    assert work.options[0].action == "cancel_order"
    assert work.options[0].params["order_id"] == "SO-2"
    [action] = [a for a in work.actions if a.kind == "cancel_order"]
    assert action.automatic and action.approved_by == "automation:cancel-exact-duplicates"
    outbox, audit = engine.take_effects()
    assert [item.key for item in outbox if item.kind == "cancel_order"] == [action.key]
    kinds = [entry.kind for entry in audit if entry.case_id == case.id]
    assert kinds[:4] == ["detected", "recommended", "auto_approved", "action"]
    assert work.state == "waiting"


def test_the_duplicate_closes_touchless_when_the_cancellation_is_confirmed():
    events = [*duplicate_pair(), ev("order.cancelled", {"order_id": "SO-2"}, when=at(minutes=20))]
    engine = run(events, until=LATER)
    case = only(engine, "order.duplicate")
    assert case.status == "resolved"
    assert case.work.state == "done" and case.work.touchless
    assert case.work.sla_view["stopped"] and not case.work.sla_view["breached"]


def test_without_automation_the_same_action_waits_for_an_approver():
    engine = run(duplicate_pair(), manual_policy(), until=LATER)
    case = only(engine, "order.duplicate")
    approval = case.work.pending_approval
    assert case.work.state == "awaiting_approval"
    assert approval.role == "team_lead" and approval.requested_by == "unsnag"
    assert not [a for a in case.work.actions if a.kind == "cancel_order"]


def test_an_approver_needs_the_role_and_the_approval_then_acts():
    engine = run(duplicate_pair(), manual_policy(), until=LATER)
    case = only(engine, "order.duplicate")
    with pytest.raises(Forbidden, match="needs the role team_lead; dana is agent"):
        command(engine, "case.approved", case.id, "dana", "agent", LATER,
                approval_id=case.work.pending_approval.id)  # fmt: skip
    command(engine, "case.approved", case.id, "lee", "team_lead", LATER,
            approval_id=case.work.pending_approval.id)  # fmt: skip
    [action] = [a for a in case.work.actions if a.kind == "cancel_order"]
    assert action.approved_by == "lee" and not action.automatic
    assert case.work.touches == 1 and not case.work.touchless
    assert case.work.state == "waiting"


def test_whoever_asks_for_a_threshold_action_cannot_approve_it():
    engine = run(held_order(value_qty=3000, price=10.0), until=LATER)  # 30,000 > 25,000
    case = only(engine, "credit.hold")
    assert case.work.state == "awaiting_approval"
    assert case.work.pending_approval.role == "finance_manager"
    command(engine, "case.action_requested", case.id, "fay", "finance_manager", LATER, option=0)
    pending = case.work.pending_approval
    assert pending.requested_by == "fay" and pending.origin == "manual"
    with pytest.raises(Forbidden, match="segregation of duties"):
        commands.validate(engine.resolver, "case.approved",
                          {"case_id": case.id, "actor": "fay", "role": "finance_manager",
                           "approval_id": pending.id})  # fmt: skip
    command(engine, "case.approved", case.id, "gus", "finance_manager", LATER,
            approval_id=pending.id)  # fmt: skip
    [release] = [a for a in case.work.actions if a.kind == "release_hold"]
    assert release.requested_by == "fay" and release.approved_by == "gus"


def test_an_expired_approval_climbs_the_ladder_and_the_escalated_role_may_decide():
    engine = run(held_order(value_qty=3000), until=at(hours=10))  # 4 business hours, once
    case = only(engine, "credit.hold")
    statuses = [a.status for a in case.work.approvals]
    assert statuses[0] == "expired" and statuses[-1] == "pending"
    latest = case.work.pending_approval
    assert latest.escalated_to == case.work.escalation_role != "agent"
    kinds = [e.kind for e in engine.take_effects()[1] if e.case_id == case.id]
    assert "approval_expired" in kinds and "escalated" in kinds
    command(engine, "case.approved", case.id, "olga", "director", at(hours=10),
            approval_id=latest.id)  # fmt: skip
    assert any(a.kind == "release_hold" for a in case.work.actions)


def test_an_approval_left_at_the_top_of_the_ladder_goes_to_a_person():
    engine = run(held_order(value_qty=3000), until=at(days=5))
    case = only(engine, "credit.hold")
    ladder = engine.policy.resolution.escalation.ladder
    statuses = [a.status for a in case.work.approvals]  # SLA thresholds climb the ladder too
    assert 2 <= len(statuses) <= len(ladder) and set(statuses) == {"expired"}
    assert case.work.state == "human" and case.work.escalation_role == ladder[-1]
    assert "expired with no decision" in case.work.human_task


def test_a_failed_action_becomes_a_human_task_with_the_error():
    engine = run(duplicate_pair(), until=SOON)
    case = only(engine, "order.duplicate")
    [action] = [a for a in case.work.actions if a.kind == "cancel_order"]
    raw = outcome_event(action.key, case.id, action.kind, False, 6, LATER, "503 after 6 tries")
    engine.step(parse_event(raw, own=True))
    assert action.status == "failed"
    assert case.work.state == "human"
    assert case.work.human_task == "cancel_order failed after 6 attempts: 503 after 6 tries"


def test_waiting_on_an_outside_party_pauses_the_sla_and_the_answer_resumes_it():
    def shipment(sid: str, oid: str, carrier: str, hours: float) -> Any:
        data = {"shipment_id": sid, "order_id": oid, "carrier": carrier, "node_id": "dc-east"}
        return ev("shipment.created", data, when=at(hours=hours))

    rejected = {"shipment_id": "SH-1", "order_id": "SO-1", "carrier": "ups", "reason": "full"}
    events = [
        customer(), product(), order(), order("SO-0", when=at(hours=-30)),
        shipment("SH-0", "SO-0", "fedex", -20), shipment("SH-1", "SO-1", "ups", 1),
        ev("carrier.rejected", rejected, when=at(hours=2)),
    ]  # fmt: skip
    engine = run(events, until=at(hours=2))
    case = only(engine, "shipment.failed")
    assert case.work.options[0].action == "reroute"
    assert case.work.options[0].params["carrier"] == "fedex"
    command(engine, "case.approved", case.id, "lee", "team_lead", at(hours=3),
            approval_id=case.work.pending_approval.id)  # fmt: skip
    assert case.work.state == "waiting"
    assert case.work.sla_view["paused"] and case.work.sla_view["paused_reason"] == "carrier"
    due_before = case.due_at
    answer = {"shipment_id": "SH-1", "order_id": "SO-1", "carrier": "fedex"}
    engine.step(ev("shipment.dispatched", answer, when=at(days=1)))
    assert not case.work.sla_view["paused"]
    assert case.due_at > due_before


def test_commands_say_why_they_are_refused():
    engine = run(duplicate_pair(), until=LATER)
    case = only(engine, "order.duplicate")

    def check(kind: str, role: str = "agent", case_id: str = case.id, **fields: Any) -> None:
        data = {"case_id": case_id, "actor": "a", "role": role, **fields}
        commands.validate(engine.resolver, kind, data)

    with pytest.raises(NotFound):
        check("case.commented", case_id="C-404", text="x")
    with pytest.raises(Forbidden, match="viewer"):
        check("case.commented", role="viewer", text="x")
    with pytest.raises(Conflict, match="no pending approval"):
        check("case.approved", role="admin")
    with pytest.raises(Conflict, match="needs order_id"):
        check("case.action_requested", action="cancel_order", params={})
    with pytest.raises(Conflict, match="unknown action"):
        check("case.action_requested", action="teleport", params={})


def test_a_person_resolves_a_case_and_it_counts_as_a_touch():
    engine = run(held_order(), manual_policy(), until=LATER)
    case = only(engine, "credit.hold")
    command(engine, "case.commented", case.id, "dana", "agent", LATER, text="called them")
    command(engine, "case.resolved", case.id, "dana", "agent", LATER, resolution="paid by card")
    assert case.status == "resolved" and case.work.state == "done"
    assert case.work.touches == 2
    assert case.resolution == "dana: paid by card"


def test_inbound_adapters_cannot_forge_an_approval():
    raw = command_event("case.approved", "x-1", "C-1", "eve", "admin", LATER, approval_id="a")
    with pytest.raises(ContractViolation, match="unsnag's own"):
        parse_event(raw)
    forged = dict(raw, source="erp")
    with pytest.raises(ContractViolation, match="unsnag's own"):
        parse_event(forged)


def test_a_checkpoint_keeps_the_work_and_what_it_waits_for():
    engine = run(duplicate_pair(), until=SOON)
    restored = Engine.restore(engine.policy, engine.snapshot())
    case = only(restored, "order.duplicate")
    assert case.work.state == "waiting"
    restored.step(ev("order.cancelled", {"order_id": "SO-2"}, when=at(hours=2)))
    assert case.status == "resolved" and case.work.state == "done"


def test_every_case_type_has_a_playbook_whose_computer_exists():
    from unsnag.cases.taxonomy import CASE_TYPES
    from unsnag.resolve.options import COMPUTERS

    policy = default_policy()
    assert set(policy.resolution.playbooks) == set(CASE_TYPES)
    for playbook in policy.resolution.playbooks.values():
        for step in playbook.steps:
            if step.step == "recommend":
                assert step.using in COMPUTERS


def test_a_playbook_must_recommend_before_it_acts():
    data = default_policy().model_dump(mode="json")
    data["resolution"]["playbooks"]["pick.short"] = {"steps": [{"step": "act"}]}
    with pytest.raises(Exception, match="recommend"):
        policy_from_mapping(data)


def test_still_open_at_the_wait_timeout_goes_to_a_person():
    engine = run(duplicate_pair(), until=LATER)  # 2 business hours on the customer desk
    case = only(engine, "order.duplicate")
    assert case.work.state == "human"
    assert case.work.human_task == "not resolved by the end of its playbook's wait"
