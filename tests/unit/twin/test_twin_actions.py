"""The twin's actions: each accepted one emits its confirming events from the right
system, refused ones emit nothing, a key is applied once, and a released credit hold
resolves unsnag's case."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import orjson

from builders import default_policy
from unsnag.engine import Engine
from unsnag.events import parse_event
from unsnag.twin import FAULT_KINDS, TwinConfig
from unsnag.twin.actions import (
    ApplyPayment,
    CancelOrder,
    CorrectPrice,
    IssueCreditMemo,
    Reallocate,
    ReleaseHold,
    Reroute,
)
from unsnag.twin.emitter import HOUR
from unsnag.twin.flow import Order, Twin

SMALL = TwinConfig(customers=30, skus=120)
T = TypeVar("T")


def make(seed: int = 1, per_day: float = 60, **rates: float) -> tuple[Twin, list[bytes]]:
    faults = {kind: 0.0 for kind in FAULT_KINDS} | rates
    quiet_returns = SMALL.returns.model_copy(update={"rate": 0.0})
    config = SMALL.model_copy(
        update={"faults": SMALL.faults.model_copy(update=faults), "returns": quiet_returns}
    )
    lines: list[bytes] = []
    twin = Twin(config, 1, per_day, seed, lines.append, actionable=True)
    twin.start()
    return twin, lines


def until(twin: Twin, found: Callable[[], T | None], step: int = HOUR) -> T:
    """Run the simulation an hour at a time until ``found()`` gives something."""
    while len(twin.sim):
        twin.sim.run(until=twin.sim.now_s + step)
        hit = found()
        if hit is not None:
            return hit
    raise AssertionError("never found")


def finish(twin: Twin, lines: list[bytes]) -> list[dict[str, Any]]:
    """Run to the end; every event, each validated against the contract."""
    twin.sim.run()
    twin.emitter.flush(everything=True)
    events = [orjson.loads(line) for line in lines]
    for raw in events:
        parse_event(raw)
    return events


def of(events: list[dict[str, Any]], etype: str, **match: Any) -> list[dict[str, Any]]:
    return [
        e
        for e in events
        if e["type"] == etype and all(e["data"].get(k) == v for k, v in match.items())
    ]


def quiet(twin: Twin) -> tuple[int, int]:
    return twin.emitter.emitted, len(twin.sim)


def held_order(twin: Twin) -> Order | None:
    return next((o for o in twin.by_order.values() if o.held is not None), None)


def test_release_hold_releases_once_and_the_order_goes_on_to_cash() -> None:
    twin, lines = make(credit_hold=1.0)
    o = until(twin, lambda: held_order(twin))
    first = twin.act(ReleaseHold(order_id=o.id, key="k-1"))
    assert first.accepted and first.effective_at is not None
    assert first.effective_at >= twin.sim.now_s
    again = twin.act(ReleaseHold(order_id=o.id, key="k-1"))
    assert again.repeated and again.accepted
    before = quiet(twin)
    refused = twin.act(ReleaseHold(order_id=o.id, key="k-2"))
    assert not refused.accepted and "not on credit hold" in refused.reason
    assert not twin.act(ReleaseHold(order_id="SO-404")).accepted
    assert quiet(twin) == before
    events = finish(twin, lines)
    [released] = of(events, "order.released", order_id=o.id)
    assert released["source"] == "erp" and released["data"]["hold_code"] == "credit"
    assert of(events, "credit.hold_released", order_id=o.id)[0]["source"] == "finance"
    assert of(events, "shipment.created", order_id=o.id)
    assert of(events, "invoice.issued", order_id=o.id)
    others = [x for x in twin.by_order.values() if x.held is not None]
    assert others and not any(of(events, "order.released", order_id=x.id) for x in others)


def test_release_through_act_resolves_the_credit_hold_case() -> None:
    twin, lines = make(credit_hold=1.0, per_day=30)
    o = until(twin, lambda: held_order(twin))
    twin.sim.run(until=twin.sim.now_s + 4 * HOUR)  # past the grace: the case opens
    assert twin.act(ReleaseHold(order_id=o.id)).accepted
    events = finish(twin, lines)
    engine = Engine(default_policy())
    for raw in events:
        engine.step(parse_event(raw))
        engine.advance()
    assert engine.watermark is not None
    engine.advance(engine.watermark + timedelta(days=1))
    cases = {c.subject: c for c in engine.cases() if c.type == "credit.hold"}
    assert cases[o.id].status == "resolved"
    still_held = [x.id for x in twin.by_order.values() if x.held is not None]
    assert still_held and all(cases[i].status == "open" for i in still_held)


def test_actions_are_deterministic() -> None:
    runs = []
    for _ in range(2):
        twin, lines = make(credit_hold=1.0, seed=5)
        o = until(twin, lambda twin=twin: held_order(twin))
        twin.act(ReleaseHold(order_id=o.id))
        finish(twin, lines)
        runs.append(b"".join(lines))
    assert runs[0] == runs[1]


def test_reallocate_moves_the_reservation_and_the_pick() -> None:
    twin, lines = make(seed=2)

    def waiting_for_pick() -> Order | None:
        return next((o for o in twin.by_order.values() if o.reserved and not o.shipped), None)

    o = until(twin, waiting_for_pick, step=10 * 60)
    line = o.lines[0]
    sku, qty = line["sku"], line["qty"]
    target = next(dc.id for dc in twin.config.dcs if dc.id != o.node)
    before = {k: twin.allocated[k] for k in ((o.node, sku), (target, sku))}
    quiet_before = quiet(twin)
    for refused, why in (
        (Reallocate(order_id=o.id, line_id=line["line_id"], to_node=o.node), "already at"),
        (Reallocate(order_id=o.id, line_id=line["line_id"], to_node="dc-mars"), "unknown node"),
        (Reallocate(order_id=o.id, line_id="99", to_node=target), "no line"),
        (Reallocate(order_id="SO-404", line_id="1", to_node=target), "unknown order"),
    ):
        result = twin.act(refused)
        assert not result.accepted and why in result.reason
    saved = twin.on_hand[(target, sku)]
    twin.on_hand[(target, sku)] = twin.allocated[(target, sku)] + qty - 1
    short = twin.act(Reallocate(order_id=o.id, line_id=line["line_id"], to_node=target))
    assert not short.accepted and "not enough stock" in short.reason
    assert quiet(twin) == quiet_before
    twin.on_hand[(target, sku)] = saved
    result = twin.act(Reallocate(order_id=o.id, line_id=line["line_id"], to_node=target))
    assert result.accepted
    assert twin.allocated[(o.node, sku)] == before[(o.node, sku)] - qty
    assert twin.allocated[(target, sku)] == before[(target, sku)] + qty
    events = finish(twin, lines)
    [moved] = of(events, "allocation.reserved", order_id=o.id, node_id=target)
    assert moved["source"] == "erp" and moved["data"]["qty"] == qty
    [pick] = of(events, "pick.confirmed", order_id=o.id, line_id=line["line_id"])
    assert pick["data"]["node_id"] == target and pick["source"] == f"wms/{target}"
    assert twin.min_on_hand >= 0
    late = twin.act(Reallocate(order_id=o.id, line_id=line["line_id"], to_node=o.node))
    assert not late.accepted and "already shipped" in late.reason


def test_reroute_ships_again_with_the_other_carrier() -> None:
    twin, lines = make(seed=3)

    def in_transit() -> Order | None:
        return next((o for o in twin.by_order.values() if o.shipment_id and not o.delivered), None)

    o = until(twin, in_transit, step=10 * 60)
    old_shipment, old_carrier = o.shipment_id, o.carrier
    other = next(c.id for c in twin.carriers if c.id != old_carrier)
    before = quiet(twin)
    same = twin.act(Reroute(shipment_id=old_shipment, carrier=old_carrier))
    assert not same.accepted and "already with" in same.reason
    assert not twin.act(Reroute(order_id=o.id, carrier="pigeon")).accepted
    assert not twin.act(Reroute(shipment_id="SH-404", carrier=other)).accepted
    assert quiet(twin) == before
    assert twin.act(Reroute(shipment_id=old_shipment, carrier=other, key="r")).accepted
    assert twin.act(Reroute(order_id=o.id, carrier="whatever", key="r")).repeated
    events = finish(twin, lines)
    [created] = of(events, "shipment.created", order_id=o.id, carrier=other)
    new_shipment = created["data"]["shipment_id"]
    assert created["source"] == "tms" and new_shipment != old_shipment
    [dispatched] = of(events, "shipment.dispatched", shipment_id=new_shipment)
    assert dispatched["source"] == f"carrier/{other}"
    assert of(events, "shipment.delivered", shipment_id=new_shipment)
    assert not of(events, "shipment.delivered", shipment_id=old_shipment)


def test_cancel_order_cancels_a_duplicate_once() -> None:
    twin, lines = make(edi_retry_duplicate=1.0)
    dup, original = until(twin, lambda: next(iter(twin.duplicates.items()), None))
    before = quiet(twin)
    not_dup = twin.act(CancelOrder(order_id=original))
    assert not not_dup.accepted and "not a duplicate" in not_dup.reason
    assert not twin.act(CancelOrder(order_id="SO-404")).accepted
    assert quiet(twin) == before
    assert twin.act(CancelOrder(order_id=dup, key="c")).accepted
    assert twin.act(CancelOrder(order_id=dup, key="c")).repeated
    twice = twin.act(CancelOrder(order_id=dup, reason="again"))
    assert not twice.accepted and "already cancelled" in twice.reason
    events = finish(twin, lines)
    [cancelled] = of(events, "order.cancelled")  # the others wait for an action
    assert cancelled["subject"] == dup and cancelled["source"] == "erp"
    assert cancelled["data"]["reason"] == f"duplicate of {original}"


def test_correct_price_updates_the_order_and_the_invoice() -> None:
    twin, lines = make(contract_price_mismatch=1.0)
    o = until(twin, lambda: next(iter(twin.by_order.values()), None), step=10 * 60)
    line = o.lines[o.target]
    right = o.customer.prices.get(line["sku"]) or twin.business.by_sku[line["sku"]].price
    before = quiet(twin)
    assert not twin.act(CorrectPrice(order_id=o.id, line_id=line["line_id"], unit_price=0)).accepted
    same = twin.act(
        CorrectPrice(order_id=o.id, line_id=line["line_id"], unit_price=line["unit_price"])
    )
    assert not same.accepted
    assert quiet(twin) == before
    fix = CorrectPrice(order_id=o.id, line_id=line["line_id"], unit_price=right / 100)
    assert twin.act(fix).accepted
    events = finish(twin, lines)
    [updated] = of(events, "order.updated", order_id=o.id)
    assert updated["source"] == "erp"
    by_line = {ln["line_id"]: ln for ln in updated["data"]["lines"]}
    assert by_line[line["line_id"]]["unit_price"] == right / 100
    [invoice] = of(events, "invoice.issued", order_id=o.id)
    invoiced = {ln["line_id"]: ln["unit_price"] for ln in invoice["data"]["lines"]}
    assert invoiced.get(line["line_id"], right / 100) == right / 100
    late = twin.act(CorrectPrice(order_id=o.id, line_id=line["line_id"], unit_price=1.0))
    assert not late.accepted and "already invoiced" in late.reason


def test_issue_credit_memo_within_the_invoice() -> None:
    twin, lines = make()
    invoice_id, o = until(twin, lambda: next(iter(twin.by_invoice.items()), None))
    before = quiet(twin)
    too_much = twin.act(IssueCreditMemo(invoice_id=invoice_id, amount=o.amount / 100 + 1))
    assert not too_much.accepted and "exceeds" in too_much.reason
    assert not twin.act(IssueCreditMemo(invoice_id="INV-404", amount=1.0)).accepted
    assert quiet(twin) == before
    memo = IssueCreditMemo(invoice_id=invoice_id, amount=0.5, reason="damaged", key="m")
    assert twin.act(memo).accepted and twin.act(memo).repeated
    events = finish(twin, lines)
    [issued] = of(events, "credit_memo.issued")
    assert issued["source"] == "finance" and issued["subject"] == o.id
    assert issued["data"] == {
        "memo_id": "CM-0000001",
        "invoice_id": invoice_id,
        "amount": 0.5,
        "reason": "damaged",
    }


def test_apply_payment_applies_a_remittance_once() -> None:
    twin, lines = make()

    def unapplied() -> tuple[str, list[Any]] | None:
        return next(((r, v) for r, v in twin.remittances.items() if not v[2]), None)

    rid, (o, cents, _) = until(twin, unapplied, step=10 * 60)
    before = quiet(twin)
    over = twin.act(ApplyPayment(remittance_id=rid, invoice_id=o.invoice_id, amount=cents))
    assert not over.accepted and "exceeds" in over.reason
    assert not twin.act(ApplyPayment(remittance_id=rid, invoice_id="INV-404", amount=1)).accepted
    assert not twin.act(ApplyPayment(remittance_id="RM-404", invoice_id="x", amount=1)).accepted
    assert quiet(twin) == before
    pay = ApplyPayment(remittance_id=rid, invoice_id=o.invoice_id, amount=cents / 100)
    assert twin.act(pay).accepted and twin.act(pay).repeated
    again = twin.act(ApplyPayment(remittance_id=rid, invoice_id=o.invoice_id, amount=0.01))
    assert not again.accepted and "already applied" in again.reason
    events = finish(twin, lines)
    [applied] = of(events, "payment.applied", remittance_id=rid)  # the twin's own skipped
    assert applied["source"] == "finance"
    assert applied["data"] == {
        "invoice_id": o.invoice_id,
        "amount": cents / 100,
        "remittance_id": rid,
    }


def test_a_twin_not_built_actionable_refuses() -> None:
    twin = Twin(SMALL, 1, 10, 1, lambda _: None)
    result = twin.act(ReleaseHold(order_id="SO-1000001"))
    assert not result.accepted and "actionable" in result.reason


def test_reallocating_a_backordered_line_lets_the_order_ship() -> None:
    faults = SMALL.faults.model_copy(update={kind: 0.0 for kind in FAULT_KINDS})
    config = SMALL.model_copy(update={"faults": faults, "stock_cover_days": 0.5})
    lines: list[bytes] = []
    twin = Twin(config, 1, 200, 4, lines.append, actionable=True)
    twin.start()

    def backordered() -> tuple[Order, int, str] | None:
        for (node, sku), queue in twin.waiting.items():
            for o, i, _ in queue:
                qty = o.lines[i]["qty"]
                for dc in twin.config.dcs:
                    key = (dc.id, sku)
                    if (
                        dc.id != node
                        and o.pending == 1
                        and twin.on_hand[key] - twin.allocated[key] >= qty
                    ):
                        return o, i, dc.id
        return None

    o, i, target = until(twin, backordered, step=10 * 60)
    line_id = o.lines[i]["line_id"]
    assert not o.shipped
    assert twin.act(Reallocate(order_id=o.id, line_id=line_id, to_node=target)).accepted
    assert o.pending == 0
    assert all(w is not o for queue in twin.waiting.values() for w, _, _ in queue)
    events = finish(twin, lines)
    assert of(events, "allocation.reserved", order_id=o.id, line_id=line_id, node_id=target)
    assert of(events, "shipment.created", order_id=o.id)
    assert twin.min_on_hand >= 0 and all(v >= 0 for v in twin.allocated.values())
