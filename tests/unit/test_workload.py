"""The benchmark workload (bench/workload.py) keeps to the event contract and is a fixture.

It feeds the benchmarks and the committed sample, so it must be reproducible per seed,
emit only events ``parse_event`` accepts, keep per-subject time order, and inject every
kind of exception at the rate asked for, each one reported on the truth side channel.
"""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter, defaultdict
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson
import pytest

from unsnag.errors import ContractViolation
from unsnag.events import parse_event, parse_instant, parse_line

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "examples" / "sample-events.jsonl"
SAMPLE_ARGS: dict[str, Any] = {"orders": 60, "seed": 42, "exception_rate": 0.35}


def _load_workload() -> ModuleType:
    """bench/ is not a package; load the script as a module (dataclasses need it
    registered in ``sys.modules``)."""
    spec = importlib.util.spec_from_file_location("bench_workload", ROOT / "bench" / "workload.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


workload = _load_workload()


@pytest.fixture(scope="module")
def sample() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    faults: list[dict[str, Any]] = []
    events = list(workload.generate(**SAMPLE_ARGS, faults=faults))
    return events, faults


@pytest.fixture(scope="module")
def default_run() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    faults: list[dict[str, Any]] = []
    events = list(workload.generate(400, seed=7, faults=faults))
    return events, faults


def test_the_same_seed_gives_the_same_stream() -> None:
    first = list(workload.generate(40, seed=3, exception_rate=0.3))
    again = list(workload.generate(40, seed=3, exception_rate=0.3))
    other = list(workload.generate(40, seed=4, exception_rate=0.3))
    assert first == again
    assert first != other


def test_every_event_is_accepted_by_the_contract(sample: Any, default_run: Any) -> None:
    for event in sample[0] + default_run[0]:
        parse_event(event)


def test_ids_are_unique_except_the_deliberate_redelivery(default_run: Any) -> None:
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    repeats = 0
    for event in default_run[0]:
        key = (event["source"], event["id"])
        if key in seen:
            assert seen[key] == event, "a repeated (source, id) must be the same event"
            assert event["type"] == "order.created"
            repeats += 1
        seen[key] = event
    assert repeats >= 1


def test_time_never_goes_back_globally_or_per_subject(default_run: Any) -> None:
    events = default_run[0]
    times = [parse_instant(e["time"]) for e in events]
    assert times == sorted(times)
    last: dict[str, tuple[Any, tuple[str, str]]] = {}
    for event, t in zip(events, times, strict=True):
        key = (event["source"], event["id"])
        previous = last.get(event["subject"])
        if previous is not None:
            assert previous[0] < t or previous[1] == key, f"{event['subject']} at {t}"
        last[event["subject"]] = (t, key)


def test_every_exception_kind_appears_in_the_sample(sample: Any) -> None:
    events, faults = sample
    assert {f["case_type"] for f in faults} == set(workload.CASE_TYPES)
    subjects = {e["subject"] for e in events}
    for fault in faults:
        assert fault["subject"] in subjects, fault
        assert set(fault) == {"fault", "case_type", "subject", "keys", "at"}


def test_the_exception_rate_is_what_was_asked(default_run: Any) -> None:
    assert len(default_run[1]) == round(400 * 0.05)
    faults: list[dict[str, Any]] = []
    assert list(workload.generate(50, exception_rate=0.0, faults=faults))
    assert faults == []


def test_the_look_alikes_are_there(sample: Any) -> None:
    events = sample[0]
    references = [e["data"]["references"] for e in events if e["type"] == "remittance.received"]
    assert any(r.startswith(("Inv# ", "inv ")) or "/SO" in r for r in references)
    promised: dict[str, str] = {}
    delays_inside_promise = 0
    for e in events:
        if e["type"] == "shipment.created":
            promised[e["data"]["shipment_id"]] = e["data"]["promised_delivery_date"]
        elif e["type"] == "shipment.delayed":
            promise = parse_instant(promised[e["data"]["shipment_id"]])
            delays_inside_promise += parse_instant(e["data"]["eta"]) < promise
    assert delays_inside_promise >= 1
    assert _snapshot_gaps(events) & {1}


def _snapshot_gaps(events: list[dict[str, Any]]) -> set[float]:
    """On-hand gaps between consecutive ERP and WMS counts of the same node/SKU."""
    latest: dict[str, dict[str, float]] = defaultdict(dict)
    gaps: set[float] = set()
    for e in events:
        if e["type"] == "inventory.snapshot":
            views = latest[e["subject"]]
            views[e["source"].split("/")[0]] = e["data"]["on_hand"]
            if e["source"].startswith("wms") and "erp" in views:
                gaps.add(abs(views["erp"] - views["wms"]))
    return gaps


def test_injected_faults_are_unmistakable(sample: Any) -> None:
    events, faults = sample
    kinds = {f["case_type"] for f in faults}
    assert "inventory.mismatch" in kinds
    assert max(_snapshot_gaps(events)) >= 20
    short = [e["data"] for e in events if e["type"] == "pick.short"]
    assert short and all(d["qty_short"] >= 1 for d in short)
    delays = [e for e in events if e["type"] == "shipment.delayed"]
    assert len(delays) >= 2


def test_an_order_makes_a_sensible_number_of_events(default_run: Any) -> None:
    events = default_run[0]
    orders = {e["subject"] for e in events if e["type"] == "order.created"}
    per_order = sum(e["subject"] in orders for e in events) / len(orders)
    assert 11 < per_order < 22
    counts = Counter(e["type"] for e in events)
    assert counts["allocation.reserved"] >= counts["order.created"] * 2
    assert counts["payment.applied"] >= counts["invoice.issued"] * 0.9


def test_orders_for_events_lands_near_the_target() -> None:
    orders = workload.orders_for_events(20_000)
    produced = sum(1 for _ in workload.generate(orders))
    assert 0.85 * 20_000 < produced < 1.15 * 20_000


def test_write_jsonl_writes_events_and_truth(tmp_path: Path) -> None:
    out, truth = tmp_path / "w.jsonl", tmp_path / "truth.jsonl"
    count = workload.write_jsonl(out, truth_path=truth, orders=30, seed=1, exception_rate=0.5)
    lines = out.read_bytes().splitlines()
    assert count == len(lines)
    assert [orjson.loads(line) for line in lines] == list(workload.generate(30, 1, 0.5))
    assert len(truth.read_bytes().splitlines()) == round(30 * 0.5)


def test_the_committed_sample_is_the_generator_output_plus_five_bad_lines(
    tmp_path: Path,
) -> None:
    lines = SAMPLE.read_bytes().splitlines(keepends=True)
    good, bad = lines[:-5], lines[-5:]
    regenerated = tmp_path / "sample.jsonl"
    workload.write_jsonl(regenerated, **SAMPLE_ARGS)
    assert b"".join(good) == regenerated.read_bytes(), "regenerate it: see examples/README.md"
    for line in bad:
        with pytest.raises(ContractViolation):
            parse_line(line)
    assert SAMPLE.stat().st_size < 350_000
