"""The engine step is deterministic: same events and policy, byte-identical cases.

Problems about different business keys may arrive interleaved in any way, and any event
may be delivered more than once; only each problem's own events keep their order (as
each partition of the log guarantees). The cases (what was detected) must not change by
a byte. The playbooks' work reads the state as it stands when it runs (another DC's
stock, a failing interface), so it is reproducible from the log — the same log replayed
gives the same recommendations, approvals, actions and audit entries — not from the set
of events alone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from builders import T0, iso
from unsnag.engine import Engine
from unsnag.events import parse_event
from unsnag.policy import load_policy

POLICY = load_policy()
Scenario = Callable[[int, int], list[dict[str, Any]]]


def _event(
    n: int, seq: int, type_: str, data: dict[str, Any], hours: float, source: str
) -> dict[str, Any]:
    moment: datetime = T0 + timedelta(hours=hours)
    envelope = {
        "specversion": "1.0",
        "id": f"s{n}-{seq}",
        "source": source,
        "type": type_,
        "time": iso(moment),
        "data": data,
    }
    if "order_id" in data:
        envelope["subject"] = data["order_id"]
    return envelope


def _master(n: int, v: int) -> list[tuple[str, dict[str, Any], float, str]]:
    tier = ("strategic", "gold", "silver", "standard")[v % 4]
    return [
        (
            "customer.upserted",
            {"customer_id": f"C{n}", "tier": tier, "credit_limit": 1e6},
            -48,
            "crm",
        ),
        ("product.upserted", {"sku": f"S{n}", "unit_cost": 6.0, "list_price": 10.0}, -48, "erp"),
        ("price.agreed", {"customer_id": f"C{n}", "sku": f"S{n}", "unit_price": 9.0}, -47, "erp"),
    ]


def _order(n: int, oid: str, qty: float, price: float, hours: float, po: str | None = None):
    data = {
        "order_id": oid,
        "customer_id": f"C{n}",
        "channel": "edi",
        "po_number": po or f"PO{n}",
        "promised_ship_date": iso(T0 + timedelta(days=2)),
        "ship_to": {"line1": "1 Main", "city": "X", "postal_code": "1000", "country": "US"},
        "lines": [{"line_id": "1", "sku": f"S{n}", "qty": qty, "unit_price": price}],
    }
    return ("order.created", data, hours, "edi")


def pick_short(n: int, v: int):
    oid = f"SO{n}"
    steps = [
        _order(n, oid, 10, 9.0, 0),
        (
            "allocation.reserved",
            {"order_id": oid, "line_id": "1", "node_id": "dc1", "qty": 10},
            1,
            "erp",
        ),
        (
            "pick.short",
            {"order_id": oid, "line_id": "1", "node_id": "dc1", "qty_picked": 4, "qty_short": 6},
            2,
            "wms/dc1",
        ),
    ]
    if v % 2:
        steps.append(
            (
                "pick.confirmed",
                {"order_id": oid, "line_id": "1", "node_id": "dc1", "qty_picked": 6},
                5,
                "wms/dc1",
            )
        )
    return steps


def duplicate(n: int, v: int):
    steps = [_order(n, f"SO{n}", 5, 9.0, 0), _order(n, f"SO{n}b", 5, 9.0, 0.2)]
    if v % 2:
        steps.append(("order.cancelled", {"order_id": f"SO{n}b", "reason": "duplicate"}, 3, "erp"))
    return steps


def mispriced(n: int, v: int):
    return [_order(n, f"SO{n}", 5, 9.0 * (0.5 if v % 2 else 1.0), 0)]


def stock_gap(n: int, v: int):
    gap = 1 if v % 2 else 30
    return [
        ("inventory.snapshot", {"node_id": "dc1", "sku": f"S{n}", "on_hand": 100}, 1, "erp"),
        (
            "inventory.snapshot",
            {"node_id": "dc1", "sku": f"S{n}", "on_hand": 100 - gap},
            1.2,
            "wms/dc1",
        ),
    ]


def overdue(n: int, v: int):
    oid = f"SO{n}"
    steps = [
        _order(n, oid, 5, 9.0, 0),
        (
            "invoice.issued",
            {
                "invoice_id": f"INV{n}",
                "order_id": oid,
                "customer_id": f"C{n}",
                "amount": 45.0,
                "due_date": iso(T0 + timedelta(days=30)),
            },
            24,
            "finance",
        ),
    ]
    if v % 2:
        steps.append(
            ("payment.applied", {"invoice_id": f"INV{n}", "amount": 45.0}, 24 * 40, "finance")
        )
    return steps


def interface_down(n: int, v: int):
    endpoint = f"erp/orders-{n}"
    steps = [
        ("integration.failed", {"endpoint": endpoint, "attempt": a, "error": "503"}, a * 0.1, "erp")
        for a in range(1, 2 + v)
    ]
    steps.append(("integration.recovered", {"endpoint": endpoint}, 2, "erp"))
    return steps


def credit_hold(n: int, v: int):
    oid = f"SO{n}"
    release_after = (0.2, 5, 0.2, 30)[v]  # hours: within the grace, or long after
    steps = [_order(n, oid, 5, 9.0, 0)]
    if v >= 2:  # picking started before the hold: opens at once
        steps.append(
            (
                "pick.confirmed",
                {"order_id": oid, "line_id": "1", "node_id": "dc1", "qty_picked": 5},
                0.5,
                "wms/dc1",
            )
        )
    steps.append(("order.held", {"order_id": oid, "hold_code": "credit"}, 1, "erp"))
    steps.append(("order.released", {"order_id": oid, "hold_code": "credit"},
                  1 + release_after, "erp"))  # fmt: skip
    return steps


def late_shipment(n: int, v: int):
    oid, sid = f"SO{n}", f"SH{n}"
    promise = iso(T0 + timedelta(days=3))
    steps = [
        _order(n, oid, 5, 9.0, 0),
        (
            "shipment.created",
            {
                "shipment_id": sid,
                "order_id": oid,
                "carrier": "ups",
                "lines": [{"line_id": "1", "qty": 5}],
                "promised_delivery_date": promise,
            },
            10,
            "tms",
        ),
        (
            "shipment.dispatched",
            {"shipment_id": sid, "eta": iso(T0 + timedelta(days=2))},
            12,
            "carrier/ups",
        ),
    ]
    if v % 2:
        steps.append(("shipment.delayed", {"shipment_id": sid,
                                           "eta": iso(T0 + timedelta(days=5))},
                      30, "carrier/ups"))  # fmt: skip
    delivered_at = 24 * (6 if v >= 2 else 2)
    steps.append(("shipment.delivered", {"shipment_id": sid}, delivered_at, "carrier/ups"))
    return steps


def contested_stock(n: int, v: int):
    steps = [_order(n, f"SO{n}-{k}", 5, 9.0, k * 0.1, f"PO{n}-{k}") for k in range(2 + v % 2)]
    for k in range(2 + v % 2):
        steps.append(
            (
                "allocation.failed",
                {
                    "order_id": f"SO{n}-{k}",
                    "line_id": "1",
                    "node_id": f"dc{n}",
                    "sku": f"S{n}",
                    "qty_requested": 5,
                    "qty_available": 0,
                },
                1 + k * 0.1,
                "erp",
            )
        )
    if v >= 2:
        steps.append(
            (
                "allocation.reserved",
                {"order_id": f"SO{n}-0", "line_id": "1", "node_id": f"dc{n}", "qty": 5},
                5,
                "erp",
            )
        )
    return steps


def remittance(n: int, v: int):
    oid = f"SO{n}"
    amount = (45.0, 40.0, 45.0, 99.0)[v]
    refs = (f"Inv# {n}000", f"INV{n}000", f"INV{n}000/{oid}", "no idea")[v]
    return [
        _order(n, oid, 5, 9.0, 0),
        (
            "invoice.issued",
            {"invoice_id": f"INV-{n}000", "order_id": oid, "customer_id": f"C{n}", "amount": 45.0},
            24,
            "finance",
        ),
        (
            "remittance.received",
            {
                "remittance_id": f"RM{n}",
                "customer_id": f"C{n}",
                "amount": amount,
                "references": refs,
            },
            48,
            "finance",
        ),
    ]


SCENARIOS: list[Scenario] = [
    pick_short,
    duplicate,
    mispriced,
    stock_gap,
    overdue,
    interface_down,
    credit_hold,
    late_shipment,
    contested_stock,
    remittance,
]


def build(n: int, kind: int, variant: int) -> list[dict[str, Any]]:
    steps = _master(n, variant) + SCENARIOS[kind](n, variant)
    return [_event(n, seq, *step) for seq, step in enumerate(steps)]


def replay_bytes(raws: list[dict[str, Any]], work: bool = False) -> bytes:
    engine = Engine(POLICY)
    for item in raws:
        engine.step(parse_event(item))
    engine.advance()
    cases = [case.to_dict() for case in engine.cases()]
    if work:
        outbox, audit = engine.take_effects()
        lines = [*cases, *(a.to_dict() for a in outbox), *(e.to_dict() for e in audit)]
        return b"\n".join(orjson.dumps(line) for line in lines)
    return b"\n".join(orjson.dumps({k: v for k, v in c.items() if k != "work"}) for c in cases)


def interleave(streams: list[list[dict[str, Any]]], draw: Any) -> list[dict[str, Any]]:
    pending = [list(stream) for stream in streams if stream]
    merged: list[dict[str, Any]] = []
    while pending:
        index = draw(st.integers(0, len(pending) - 1))
        merged.append(pending[index].pop(0))
        if not pending[index]:
            pending.pop(index)
    return merged


@settings(max_examples=60, deadline=None)
@given(
    plan=st.lists(
        st.tuples(st.integers(0, len(SCENARIOS) - 1), st.integers(0, 3)), min_size=1, max_size=8
    ),
    data=st.data(),
)
def test_interleaving_and_redelivery_do_not_change_a_byte(plan, data):
    streams = [build(n, kind, variant) for n, (kind, variant) in enumerate(plan)]
    baseline = replay_bytes([event for stream in streams for event in stream])
    shuffled = interleave(streams, data.draw)
    redelivered = list(shuffled)
    for _ in range(data.draw(st.integers(0, 5))):
        event = shuffled[data.draw(st.integers(0, len(shuffled) - 1))]
        first = redelivered.index(event)
        redelivered.insert(data.draw(st.integers(first + 1, len(redelivered))), event)
    assert replay_bytes(redelivered) == baseline


def test_the_scenarios_open_cases_of_many_types():
    streams = [
        build(n, kind, variant)
        for n, (kind, variant) in enumerate((k, v) for k in range(len(SCENARIOS)) for v in range(4))
    ]
    output = replay_bytes([event for stream in streams for event in stream])
    types = {line.split(b'"type":"')[1].split(b'"')[0] for line in output.splitlines()}
    assert len(types) >= 10, types
    assert replay_bytes(streams[0] + streams[-1], work=True).count(b'"recommendations":[{') >= 1


@settings(max_examples=30, deadline=None)
@given(
    plan=st.lists(
        st.tuples(st.integers(0, len(SCENARIOS) - 1), st.integers(0, 3)), min_size=1, max_size=8
    ),
    data=st.data(),
)
def test_the_same_log_gives_the_same_decisions(plan, data):
    streams = [build(n, kind, variant) for n, (kind, variant) in enumerate(plan)]
    log = interleave(streams, data.draw)
    assert replay_bytes(log, work=True) == replay_bytes(log, work=True)
