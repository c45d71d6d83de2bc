"""Returns (RMA → receipt at the DC → credit memo) and carrier tracking outages."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from unsnag.events import parse_event
from unsnag.policy import load_policy
from unsnag.replay import run_replay
from unsnag.twin import TwinConfig, run_twin, simulate

RATES = {"return_credit_late": 0.03, "carrier_outage": 4.0, "delivery_discrepancy": 0.03}
CONFIG = TwinConfig.model_validate(
    {"customers": 30, "skus": 120, "faults": RATES, "returns": {"rate": 0.08}}
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def run(seed: int = 5) -> tuple[list[dict[str, Any]], Any]:
    lines: list[bytes] = []
    twin = simulate(CONFIG, 3, 200, seed, lines.append)
    return [orjson.loads(line) for line in lines], twin


def test_same_seed_same_bytes_and_every_event_parses(tmp_path: Path) -> None:
    digests = []
    for name in ("a", "b"):
        run_twin(CONFIG, 2, 150, 8, tmp_path / name)
        digests.append(
            [(tmp_path / name / f).read_bytes() for f in ("events.jsonl", "truth.jsonl")]
        )
    assert digests[0] == digests[1]
    events, _ = run()
    for raw in events:
        parse_event(raw)
    types = {raw["type"] for raw in events}
    assert {"return.requested", "return.received", "credit_memo.issued", "inventory.adjusted",
            "integration.failed", "integration.recovered"} <= types  # fmt: skip


def test_returns_come_back_restock_and_are_credited() -> None:
    events, twin = run()
    truth = {r["keys"]["rma_id"]: r for r in twin.truth if "rma_id" in r["keys"]}
    requested = {e["data"]["rma_id"]: e for e in events if e["type"] == "return.requested"}
    received = {e["data"]["rma_id"]: e for e in events if e["type"] == "return.received"}
    credits: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in events:
        if e["type"] == "credit_memo.issued":
            credits[e["subject"]].append(e)
    adjusted = [e for e in events if e["type"] == "inventory.adjusted"]
    assert adjusted and all(
        e["data"]["reason"] == "return" and e["source"].startswith("wms/") for e in adjusted
    )
    prices = {
        (e["data"]["order_id"], ln["line_id"]): ln["unit_price"]
        for e in events
        if e["type"] == "order.created"
        for ln in e["data"]["lines"]
    }
    late = 0
    assert len(received) > 20
    for rma, req in requested.items():
        if rma not in received:  # the return_request fault: never authorised
            assert truth[rma]["fault"] == "return_request"
            continue
        back = received[rma]
        assert req["source"] == "erp" and back["source"] == f"wms/{back['data']['node_id']}"
        line = req["data"]["lines"][0]
        assert back["data"]["lines"][0]["qty"] == line["qty"]
        (memo,) = credits[req["subject"]]
        price = prices[(req["subject"], line["line_id"])]
        assert abs(memo["data"]["amount"] - line["qty"] * price) < 0.01
        delay = at(memo["time"]) - at(back["time"])
        record = truth.get(rma)
        if record is not None and record["fault"] == "return_credit_late":
            late += 1
            assert delay > timedelta(hours=72)
            assert at(record["at"]) == at(back["time"]) + timedelta(hours=72)
        else:
            assert timedelta(0) < delay < timedelta(hours=72)
    assert late > 0 and twin.routine_returns
    assert twin.min_on_hand >= 0


def test_routine_returns_open_no_case_and_the_rest_do(tmp_path: Path) -> None:
    twin_dir = tmp_path / "twin"
    run_twin(CONFIG, 3, 200, 6, twin_dir)
    lines: list[bytes] = []
    twin = simulate(CONFIG, 3, 200, 6, lines.append)
    result = run_replay(twin_dir / "events.jsonl", load_policy())
    assert not result.refused
    cases = {c.key for c in result.engine.cases() if c.type == "return.pending"}
    expected = {r["keys"]["rma_id"] for r in twin.truth if r["case_type"] == "return.pending"}
    assert twin.routine_returns
    assert cases == expected
    assert not cases & set(twin.routine_returns)


def test_carrier_outage_reports_the_carriers_milestones_after_recovery() -> None:
    events, twin = run(seed=3)
    outages = [r for r in twin.truth if r["fault"] == "carrier_outage"]
    assert outages and all(r["case_type"] == "integration.failure" for r in outages)
    position = {id(e): i for i, e in enumerate(events)}
    late = 0
    for record in outages:
        endpoint, start = record["subject"], at(record["at"])
        carrier = endpoint.removeprefix("carrier/").removesuffix("-tracking")
        recovery = next(e for e in events if e["type"] == "integration.recovered"
                        and e["subject"] == endpoint and at(e["time"]) > start)  # fmt: skip
        failed = [e for e in events if e["type"] == "integration.failed"
                  and e["subject"] == endpoint
                  and start <= at(e["time"]) < at(recovery["time"])]  # fmt: skip
        assert all(e["source"] == "tms" for e in failed)
        attempts = [e["data"]["attempt"] for e in failed]
        assert attempts == list(range(1, len(attempts) + 1)) and len(attempts) >= 3
        assert at(failed[0]["time"]) == start
        for e in events:
            if e["source"] == f"carrier/{carrier}" and start <= at(e["time"]) < at(
                recovery["time"]
            ):
                assert position[id(e)] > position[id(recovery)]
                late += 1
    assert late > 0
