"""The twin's actions for the remedies that had no system: invoicing a shipped order,
dunning, authorising a return, reshipping a delivery discrepancy and replaying a
failing interface. Each is accepted once (a repeated key changes nothing), refuses with
a reason, emits its confirming events from the right system, and closes unsnag's case."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from test_twin_actions import SMALL, finish, make, of, quiet, until

from builders import default_policy
from unsnag.cases.desk import Case
from unsnag.engine import Engine
from unsnag.events import parse_event
from unsnag.twin import FAULT_KINDS
from unsnag.twin.actions import (
    DUNNING_DAYS,
    Action,
    AuthoriseReturn,
    IssueInvoice,
    PartialShip,
    RetryInterface,
    SendDunning,
)
from unsnag.twin.emitter import DAY, HOUR
from unsnag.twin.flow import Order, Outage, Twin

MIN = 60


def all_cases(events: list[dict[str, Any]], case_type: str) -> list[Case]:
    """Every event through the engine; its cases of ``case_type``."""
    engine = Engine(default_policy())
    for raw in events:
        engine.step(parse_event(raw))
        engine.advance()
    assert engine.watermark is not None
    engine.advance(engine.watermark + timedelta(days=2))
    return [c for c in engine.cases() if c.type == case_type]


def cases_of(events: list[dict[str, Any]], case_type: str) -> dict[str, Case]:
    """Every event through the engine; its cases of ``case_type`` by key."""
    return {c.key: c for c in all_cases(events, case_type)}


def epoch(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def refused(twin: Twin, action: Action, why: str) -> None:
    result = twin.act(action)
    assert not result.accepted and result.effective_at is None
    assert why in result.reason, result.reason


# --- IssueInvoice --------------------------------------------------------------------


class LateBilling(Twin):
    """A twin whose invoicing run misses some orders (a billing backlog)."""

    missed: set[str]

    def _invoice(self, o: Order, asked: bool = False) -> None:
        if o.id in getattr(self, "missed", ()) and not asked:
            return
        super()._invoice(o, asked)


def test_issue_invoice_bills_a_shipped_order_once() -> None:
    twin, lines = make(seed=3)

    def in_transit() -> Order | None:
        return next((o for o in twin.by_order.values() if o.shipment_id and not o.delivered), None)

    o = until(twin, in_transit, step=10 * MIN)
    waiting = next(x for x in twin.by_order.values() if not x.shipment_id)
    before = quiet(twin)
    refused(twin, IssueInvoice(order_id="SO-404"), "unknown order")
    refused(twin, IssueInvoice(order_id=waiting.id), "has not shipped")
    assert quiet(twin) == before
    first = twin.act(IssueInvoice(order_id=o.id, key="i"))
    assert first.accepted and first.effective_at is not None
    assert twin.act(IssueInvoice(order_id=o.id, key="i")).repeated
    refused(twin, IssueInvoice(order_id=o.id), "being invoiced already")
    events = finish(twin, lines)
    [invoice] = of(events, "invoice.issued", order_id=o.id)  # the delivery's run skipped it
    assert invoice["source"] == "finance" and epoch(invoice["time"]) == first.effective_at
    assert invoice["data"]["invoice_id"] == o.invoice_id
    refused(twin, IssueInvoice(order_id=o.id), "already invoiced")
    assert of(events, "payment.applied", invoice_id=o.invoice_id)  # and it is paid


def test_an_invoice_issued_late_resolves_the_invoice_hold_case() -> None:
    faults = SMALL.faults.model_copy(update={kind: 0.0 for kind in FAULT_KINDS})
    quiet_returns = SMALL.returns.model_copy(update={"rate": 0.0})
    config = SMALL.model_copy(update={"faults": faults, "returns": quiet_returns})
    lines: list[bytes] = []
    twin = LateBilling(config, 1, 30, 2, lines.append, actionable=True)
    twin.missed = set()
    twin.start()
    delivered = until(
        twin, lambda: next((o for o in twin.by_order.values() if o.delivered), None), step=10 * MIN
    )
    twin.missed.add(delivered.id)
    twin.sim.run(until=twin.sim.now_s + 50 * HOUR)  # past the 48 h: the case opens
    assert not delivered.invoice_id
    assert twin.act(IssueInvoice(order_id=delivered.id)).accepted
    events = finish(twin, lines)
    cases = cases_of(events, "invoice.hold")
    case = cases[delivered.id]
    assert case.root_cause == "not_invoiced" and case.status == "resolved"
    assert case.resolution == f"invoiced ({delivered.invoice_id})"
    assert len(cases) == 1  # every other order was invoiced in time


# --- SendDunning ---------------------------------------------------------------------


def test_send_dunning_refuses_an_invoice_not_overdue_or_unknown() -> None:
    twin, _ = make(late_payment=1.0)
    invoice_id, o = until(twin, lambda: next(iter(twin.by_invoice.items()), None))
    before = quiet(twin)
    refused(twin, SendDunning(invoice_id=invoice_id), "not overdue")
    refused(twin, SendDunning(invoice_id="INV-404"), "unknown invoice")
    assert quiet(twin) == before and not o.dunned


def test_reminders_bring_most_late_payments_forward_and_never_pay_twice() -> None:
    twin, lines = make(late_payment=1.0, seed=4)
    dunned: dict[str, int] = {}  # invoice id -> when the reminder went out
    while len(twin.sim):
        twin.sim.run(until=twin.sim.now_s + 6 * HOUR)
        for invoice_id, o in twin.by_invoice.items():
            if invoice_id not in dunned and twin.sim.now_s > o.due + 5 * DAY:
                result = twin.act(SendDunning(invoice_id=invoice_id, key=invoice_id))
                assert result.accepted and result.effective_at is not None
                assert twin.act(SendDunning(invoice_id=invoice_id, key=invoice_id)).repeated
                dunned[invoice_id] = result.effective_at
    events = finish(twin, lines)
    assert len(dunned) >= 30
    worked = [i for i in dunned if twin.by_invoice[i].dunned]
    assert 0.6 <= len(worked) / len(dunned) <= 0.95  # DUNNING_PAYS, 80 %
    lo, hi = DUNNING_DAYS
    for invoice_id, sent in dunned.items():
        o = twin.by_invoice[invoice_id]
        remitted = [e for e in events if e["type"] == "remittance.received"
                    and e["data"]["references"] == invoice_id]  # fmt: skip
        applied = of(events, "payment.applied", invoice_id=invoice_id)
        assert len(remitted) == len(applied) == 1  # paid once, whichever came first
        assert round(sum(e["data"]["amount"] for e in applied) * 100) == o.amount
        paid_at = epoch(remitted[0]["time"])
        if o.dunned:
            assert paid_at <= sent + hi * DAY
        else:
            assert paid_at >= o.due + 8 * DAY  # the original late payment
        refused(twin, SendDunning(invoice_id=invoice_id), "is paid")
    assert any(epoch(r["time"]) >= dunned[r["data"]["references"]] + lo * DAY
               for r in of(events, "remittance.received"))  # fmt: skip


def test_a_reminder_that_works_resolves_the_payment_overdue_case_early() -> None:
    twin, lines = make(late_payment=1.0, seed=6, per_day=20)
    sent: dict[str, int] = {}
    while len(twin.sim):
        twin.sim.run(until=twin.sim.now_s + 6 * HOUR)
        for invoice_id, o in twin.by_invoice.items():
            if invoice_id not in sent and twin.sim.now_s > o.due + 5 * DAY + HOUR:
                sent[invoice_id] = twin.sim.now_s
                assert twin.act(SendDunning(invoice_id=invoice_id)).accepted
    events = finish(twin, lines)
    cases = cases_of(events, "payment.overdue")
    assert set(cases) == set(sent)
    _, hi = DUNNING_DAYS
    for invoice_id, at in sent.items():
        case = cases[invoice_id]
        assert case.status == "resolved" and case.resolution == "paid"
        assert case.closed_at is not None
        if twin.by_invoice[invoice_id].dunned:  # paid and applied within days of it
            assert case.closed_at.timestamp() <= at + hi * DAY + 2 * HOUR + 20 * HOUR


# --- AuthoriseReturn -----------------------------------------------------------------


def test_authorise_return_lets_a_waiting_return_come_back_and_be_credited() -> None:
    twin, lines = make(return_request=1.0, seed=2)
    rma_id = until(twin, lambda: next(iter(twin.rmas), None))
    rma = twin.rmas[rma_id]
    assert rma.status == "requested"
    before = quiet(twin)
    refused(twin, AuthoriseReturn(rma_id="RMA-404"), "unknown return")
    assert quiet(twin) == before
    first = twin.act(AuthoriseReturn(rma_id=rma_id, key="a"))
    assert first.accepted and first.effective_at is not None
    assert twin.act(AuthoriseReturn(rma_id=rma_id, key="a")).repeated
    refused(twin, AuthoriseReturn(rma_id=rma_id), "authorised already")
    events = finish(twin, lines)
    [received] = of(events, "return.received", rma_id=rma_id)
    node = rma.order.line_nodes.get(rma.line, rma.order.node)
    assert received["source"] == f"wms/{node}" and received["data"]["lines"][0]["qty"] == rma.qty
    assert epoch(received["time"]) >= first.effective_at + 2 * DAY
    [credit] = of(events, "credit_memo.issued", invoice_id=rma.order.invoice_id)
    assert credit["source"] == "finance" and credit["data"]["reason"] == "return"
    assert credit["data"]["amount"] * 100 == pytest.approx(rma.qty * rma.order.cents[rma.line])
    refused(twin, AuthoriseReturn(rma_id=rma_id), "received already")
    others = [r for r in twin.rmas if r != rma_id]
    assert others and not any(of(events, "return.received", rma_id=r) for r in others)
    cases = cases_of(events, "return.pending")
    assert cases[rma_id].status == "resolved" and cases[rma_id].resolution == "credit memo issued"
    assert all(cases[r].status == "open" for r in others)


def test_returns_that_need_authorisation_wait_for_it_routine_ones_do_not() -> None:
    faults = SMALL.faults.model_copy(update={kind: 0.0 for kind in FAULT_KINDS})
    returns = SMALL.returns.model_copy(update={"rate": 0.5})
    config = SMALL.model_copy(update={"faults": faults, "returns": returns})
    lines: list[bytes] = []
    twin = Twin(config, 1, 60, 3, lines.append, actionable=True)
    twin.start()
    events = finish(twin, lines)
    received = {e["data"]["rma_id"] for e in of(events, "return.received")}
    by_status = {s: {r for r, x in twin.rmas.items() if x.status == s}
                 for s in ("requested", "received")}  # fmt: skip
    assert by_status["requested"] and by_status["received"]
    assert received == by_status["received"] == set(twin.routine_returns)
    waiting = next(iter(sorted(by_status["requested"])))
    routine = next(iter(sorted(by_status["received"])))
    refused(twin, AuthoriseReturn(rma_id=routine), "received already")
    assert twin.act(AuthoriseReturn(rma_id=waiting)).accepted


# --- PartialShip: the reship of a delivery discrepancy -------------------------------


def discrepant(twin: Twin) -> Order | None:
    return next((o for o in twin.by_order.values() if o.missing and o.invoice_id), None)


def test_partial_ship_reships_what_a_delivery_left_missing() -> None:
    twin, lines = make(delivery_discrepancy=1.0, seed=5)
    o = until(twin, lambda: discrepant(twin))
    [(i, missing)] = o.missing.items()
    line = o.lines[i]
    key = (o.node, line["sku"])
    others = [ln["line_id"] for j, ln in enumerate(o.lines) if j != i]
    not_picked = next((x for x in twin.by_order.values() if not x.shipped), None)
    before = quiet(twin)
    refused(twin, PartialShip(order_id="SO-404", line_id="1", qty=1), "unknown order")
    refused(twin, PartialShip(order_id=o.id, line_id=line["line_id"], qty=missing + 1), "exceeds")
    refused(twin, PartialShip(order_id=o.id, line_id=line["line_id"], qty=0.5), "whole number")
    for other in others[:1]:
        refused(twin, PartialShip(order_id=o.id, line_id=other, qty=1), "nothing missing")
    if not_picked is not None:
        refused(twin, PartialShip(order_id=not_picked.id, line_id="1", qty=1), "not picked yet")
    saved = twin.on_hand[key]
    twin.on_hand[key] = twin.allocated[key] + missing - 1
    refused(twin, PartialShip(order_id=o.id, line_id=line["line_id"], qty=missing), "not enough")
    twin.on_hand[key] = saved
    assert quiet(twin) == before
    reship = PartialShip(order_id=o.id, line_id=line["line_id"], qty=float(missing), key="r")
    first = twin.act(reship)
    assert first.accepted and first.effective_at is not None
    assert twin.on_hand[key] == saved - missing
    assert twin.act(reship).repeated
    refused(twin, PartialShip(order_id=o.id, line_id=line["line_id"], qty=1), "nothing missing")
    events = finish(twin, lines)
    [created] = [e for e in of(events, "shipment.created", order_id=o.id)
                 if e["data"]["shipment_id"] != o.shipment_id]  # fmt: skip
    new = created["data"]["shipment_id"]
    assert created["source"] == "tms" and epoch(created["time"]) == first.effective_at
    assert created["data"]["lines"] == [{"line_id": line["line_id"], "qty": missing}]
    assert created["data"]["node_id"] == o.node and created["data"]["carrier"] == o.carrier
    [dispatched] = of(events, "shipment.dispatched", shipment_id=new)
    [delivered] = of(events, "shipment.delivered", shipment_id=new)
    assert dispatched["source"] == delivered["source"] == f"carrier/{o.carrier}"
    assert delivered["data"]["discrepancies"] == []
    assert epoch(delivered["time"]) > epoch(dispatched["time"]) > epoch(created["time"])
    assert len(of(events, "invoice.issued", order_id=o.id)) == 1  # a replacement is not billed
    cases = cases_of(events, "delivery.discrepancy")
    assert cases[o.shipment_id].status == "resolved"
    assert cases[o.shipment_id].resolution == f"replacement {new} delivered without discrepancies"
    still = [x for x in twin.by_order.values() if x.missing and x is not o]
    assert still and all(cases[x.shipment_id].status == "open" for x in still)


def test_partial_ship_of_a_short_pick_ships_what_was_picked() -> None:
    twin, lines = make(pick_short=1.0, seed=2)

    def short() -> Order | None:
        for o in twin.by_order.values():
            if o.shipped and o.shipped[o.target] < o.lines[o.target]["qty"]:
                return o
        return None

    o = until(twin, short, step=10 * MIN)
    picked = o.shipped[o.target]
    line_id = o.lines[o.target]["line_id"]
    refused(twin, PartialShip(order_id=o.id, line_id=line_id, qty=picked + 1), "only")
    assert twin.act(PartialShip(order_id=o.id, line_id=line_id, qty=picked)).accepted
    events = finish(twin, lines)
    [created] = of(events, "shipment.created", order_id=o.id)
    assert {"line_id": line_id, "qty": picked} in created["data"]["lines"]


# --- RetryInterface ------------------------------------------------------------------


def failing(twin: Twin, kind: str) -> tuple[str, Outage] | None:
    """An outage of ``kind`` that unsnag sees as a case (15 min on) with a while to go."""
    now = twin.sim.now_s
    for endpoint, outage in twin.outages.items():
        if outage.kind == kind and outage.start + 16 * MIN <= now < outage.recovered - 15 * MIN:
            return endpoint, outage
    return None


def test_retry_interface_recovers_a_transient_outage_early() -> None:
    twin, lines = make(integration_failure=4.0, seed=3)
    endpoint, outage = until(twin, lambda: failing(twin, "transient"), step=MIN)
    natural = outage.recovered
    before = quiet(twin)
    refused(twin, RetryInterface(endpoint="erp/nowhere"), "unknown endpoint")
    idle = next(e for e in ("erp/orders-api", "erp/inventory-api", "edi/as2-inbound",
                            "edi/x12-translator") if e not in twin.outages)  # fmt: skip
    refused(twin, RetryInterface(endpoint=idle), "not failing")
    assert quiet(twin) == before
    twin_acted_at = twin.sim.now_s
    first = twin.act(RetryInterface(endpoint=endpoint, key="x"))
    assert first.accepted and first.effective_at is not None
    assert twin_acted_at < first.effective_at < natural
    assert twin.act(RetryInterface(endpoint=endpoint, key="x")).repeated
    twin.sim.run(until=first.effective_at + 1)
    refused(twin, RetryInterface(endpoint=endpoint), "not failing")
    events = finish(twin, lines)
    window = [e for e in events if e["subject"] == endpoint
              and outage.start <= epoch(e["time"]) <= natural]  # fmt: skip
    [recovered] = [e for e in window if e["type"] == "integration.recovered"]
    assert epoch(recovered["time"]) == first.effective_at
    assert recovered["source"] == endpoint.split("/")[0]
    assert all(epoch(e["time"]) < first.effective_at for e in window
               if e["type"] == "integration.failed")  # fmt: skip
    [case] = [c for c in all_cases(events, "integration.failure") if c.key == endpoint
              and outage.start <= c.opened_at.timestamp() < natural]  # fmt: skip
    assert case.opened_at.timestamp() < twin_acted_at
    assert case.status == "resolved" and case.resolution == "interface recovered"
    assert case.closed_at is not None and case.closed_at.timestamp() == first.effective_at


def test_a_replay_against_a_carrier_outage_fails_and_it_recovers_on_its_own() -> None:
    twin, lines = make(carrier_outage=4.0, seed=3)
    endpoint, outage = until(twin, lambda: failing(twin, "carrier"), step=MIN)
    result = twin.act(RetryInterface(endpoint=endpoint))
    assert result.accepted and result.effective_at is not None
    events = finish(twin, lines)
    replays = [e for e in of(events, "integration.failed", endpoint=endpoint)
               if e["data"]["operation"].endswith("(replay)")]  # fmt: skip
    assert [epoch(e["time"]) for e in replays] == [result.effective_at]
    assert replays[0]["source"] == "tms" and "503" in replays[0]["data"]["error"]
    recovered = [epoch(e["time"]) for e in of(events, "integration.recovered", endpoint=endpoint)]
    assert outage.recovered in recovered


# --- all of them ---------------------------------------------------------------------


def test_the_new_actions_are_deterministic() -> None:
    runs = []
    for _ in range(2):
        twin, lines = make(seed=7, delivery_discrepancy=0.3, return_request=0.3,
                           late_payment=0.3, integration_failure=3.0)  # fmt: skip
        while len(twin.sim):
            twin.sim.run(until=twin.sim.now_s + 2 * HOUR)
            for rma in list(twin.rmas):
                twin.act(AuthoriseReturn(rma_id=rma))
            for o in list(twin.by_order.values()):
                for i, qty in o.missing.items():
                    twin.act(PartialShip(order_id=o.id, line_id=o.lines[i]["line_id"], qty=qty))
            for invoice_id in list(twin.by_invoice):
                twin.act(SendDunning(invoice_id=invoice_id))
            for endpoint in list(twin.outages):
                twin.act(RetryInterface(endpoint=endpoint))
        finish(twin, lines)
        assert any(r.accepted for r in twin.action_results.values())
        runs.append(b"".join(lines))
    assert runs[0] == runs[1]


@pytest.mark.parametrize(
    "action",
    [
        IssueInvoice(order_id="SO-1000001"),
        SendDunning(invoice_id="INV-0000001"),
        AuthoriseReturn(rma_id="RMA-0000001"),
        PartialShip(order_id="SO-1000001", line_id="1", qty=1),
        RetryInterface(endpoint="erp/orders-api"),
    ],
)
def test_a_twin_not_built_actionable_refuses_them(action: Action) -> None:
    twin = Twin(SMALL, 1, 10, 1, lambda _: None)
    twin.start()
    twin.sim.run()
    refused(twin, action, "actionable")
