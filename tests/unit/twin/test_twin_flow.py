"""The simulated business: reproducible, valid events, stock that never goes negative,
and every fault kind recorded in the truth."""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path
from typing import Any

import orjson

from unsnag.events import parse_event
from unsnag.twin import FAULT_KINDS, NATURAL_FAULTS, TwinConfig, run_twin, simulate

SMALL = TwinConfig(customers=30, skus=120)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    runs = {}
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        out = tmp_path / name
        run_twin(SMALL, 2, 150, seed, out)
        runs[name] = tuple(digest(out / f) for f in ("events.jsonl", "truth.jsonl", "meta.json"))
    assert runs["a"] == runs["b"]
    assert runs["a"][0] != runs["c"][0]


def test_every_event_parses_and_time_never_runs_ahead_of_emission() -> None:
    lines: list[bytes] = []
    twin = simulate(SMALL, 2, 200, 11, lines.append)
    assert twin.emitter.emitted == len(lines) > 1000
    last_by_subject: dict[str, str] = {}
    ids = set()
    for line in lines:
        event = parse_event(orjson.loads(line))
        ids.add((event.source, event.id))
        raw = orjson.loads(line)
        subject, time = raw["subject"], raw["time"]
        assert last_by_subject.get(subject, "") <= time, f"{subject} goes back in time"
        last_by_subject[subject] = time
    assert len(ids) == len(lines)
    types = Counter(orjson.loads(line)["type"] for line in lines)
    for step in ("order.created", "allocation.reserved", "pick.confirmed", "shipment.created",
                 "shipment.dispatched", "shipment.delivered", "invoice.issued",
                 "remittance.received", "payment.applied", "inventory.snapshot"):  # fmt: skip
        assert types[step], step


def test_stock_never_goes_negative_and_replenishment_runs() -> None:
    config = TwinConfig(customers=20, skus=40, stock_cover_days=3, reorder_point_days=2)
    twin = simulate(config, 5, 400, 2, lambda _: None)
    assert twin.min_on_hand >= 0
    assert all(v >= 0 for v in twin.on_hand.values())
    assert all(0 <= twin.allocated[k] <= twin.on_hand[k] for k in twin.on_hand)
    assert twin.emitter.by_type.get("receipt.posted", 0) > 0


def test_arrivals_follow_the_week_and_the_day() -> None:
    lines: list[bytes] = []
    simulate(SMALL, 7, 300, 5, lines.append)
    hours: Counter[int] = Counter()
    days: Counter[str] = Counter()
    for line in lines:
        if b'"order.created"' in line:
            time = orjson.loads(line)["time"]
            hours[int(time[11:13])] += 1
            days[time[:10]] += 1
    assert hours[10] > 5 * hours[3]
    weekdays, weekend = sorted(days)[:5], sorted(days)[5:7]
    assert min(days[d] for d in weekdays) > 2 * max(days[d] for d in weekend)


def test_every_fault_kind_is_injected_and_recorded(tmp_path: Path) -> None:
    rates = {kind: 0.04 for kind in FAULT_KINDS}
    rates["asn_discrepancy"] = 0.5
    rates.update(
        integration_failure=5.0,
        stale_erp_inventory=3.0,
        carrier_outage=3.0,
        demand_spike=3.0,
        demand_surge=2.0,
    )
    config = SMALL.model_copy(
        update={"faults": SMALL.faults.model_copy(update=rates), "stock_cover_days": 3}
    )
    meta = run_twin(config, 2, 200, 9, tmp_path)
    truth = [orjson.loads(line) for line in (tmp_path / "truth.jsonl").read_bytes().splitlines()]
    kinds = {record["fault"] for record in truth}
    assert set(FAULT_KINDS) <= kinds
    for record in truth:
        expected = FAULT_KINDS.get(record["fault"]) or NATURAL_FAULTS[record["fault"]]
        assert record["case_type"] == expected
        assert record["subject"] and record["at"].endswith("Z")
    assert meta["orders"] > 300 and meta["events"] == sum(meta["events_by_type"].values())


def test_progress_reports_every_simulated_day() -> None:
    seen: list[tuple[int, int]] = []
    twin = simulate(SMALL, 2, 50, 1, lambda _: None, lambda day, total: seen.append((day, total)))
    days = [day for day, _ in seen]
    assert days == list(range(1, len(days) + 1))
    assert all(total >= day for day, total in seen)
    assert days[-1] * 86_400 >= twin.sim.now_s - twin.t0


def test_failed_deliveries_reship_unreadable_cash_is_applied_spikes_contest_stock(
    tmp_path: Path,
) -> None:
    rates = {"failed_delivery": 0.05, "unreadable_remittance": 0.05, "demand_spike": 3.0}
    config = SMALL.model_copy(update={"faults": SMALL.faults.model_copy(update=rates)})
    run_twin(config, 2, 200, 5, tmp_path)
    truth = [orjson.loads(line) for line in (tmp_path / "truth.jsonl").read_bytes().splitlines()]
    events = [orjson.loads(line) for line in (tmp_path / "events.jsonl").read_bytes().splitlines()]
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for record in truth:
        by_kind.setdefault(record["fault"], []).append(record)
    failed = by_kind["failed_delivery"]
    created = Counter(e["subject"] for e in events if e["type"] == "shipment.created")
    assert failed and all(created[r["subject"]] >= 2 for r in failed)
    applied = {e["data"].get("remittance_id") for e in events if e["type"] == "payment.applied"}
    unreadable = by_kind["unreadable_remittance"]
    assert unreadable and all(r["subject"] in applied for r in unreadable)
    spikes = by_kind["demand_spike"]
    assert spikes and all(len(r["keys"]["order_ids"]) >= 3 for r in spikes)
    contested = {(r["subject"], r["at"]) for r in by_kind.get("contested_stock", [])}
    assert not {(r["subject"], r["at"]) for r in spikes} & contested
