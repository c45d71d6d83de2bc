"""Demand surges: many orders of mixed tiers for one scarce SKU at one DC, recorded as
``allocation.conflict`` truth; off by default, so default runs do not change."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import orjson

from unsnag.twin import FAULT_KINDS, TwinConfig, run_twin

SMALL = TwinConfig(customers=40, skus=120)
SURGE = SMALL.model_copy(update={"faults": SMALL.faults.model_copy(update={"demand_surge": 3.0})})


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def truth(out: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in (out / "truth.jsonl").read_bytes().splitlines()]


def test_surges_are_off_by_default_and_map_to_allocation_conflicts() -> None:
    assert TwinConfig().faults.demand_surge == 0.0
    assert FAULT_KINDS["demand_surge"] == "allocation.conflict"


def test_a_surge_run_is_reproducible_and_contests_stock_with_six_orders_or_more(
    tmp_path: Path,
) -> None:
    runs = {}
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        run_twin(SURGE, 3, 200, seed, tmp_path / name)
        runs[name] = tuple(digest(tmp_path / name / f) for f in ("truth.jsonl", "events.jsonl"))
    assert runs["a"] == runs["b"]
    assert runs["a"] != runs["c"]
    surges = [r for r in truth(tmp_path / "a") if r["fault"] == "demand_surge"]
    assert surges
    events = [
        orjson.loads(line) for line in (tmp_path / "a" / "events.jsonl").read_bytes().splitlines()
    ]
    created = {e["subject"]: e["data"] for e in events if e["type"] == "order.created"}
    failed = {
        (e["subject"], e["data"]["node_id"]) for e in events if e["type"] == "allocation.failed"
    }
    for record in surges:
        assert record["case_type"] == "allocation.conflict"
        ids, node = record["keys"]["order_ids"], record["keys"]["node_id"]
        assert len(ids) >= 6 and ids == sorted(ids)
        assert sum((oid, node) in failed for oid in ids) >= 2
        assert all(created[oid]["lines"][0]["sku"] == record["keys"]["sku"] for oid in ids)
        assert len({created[oid]["customer_id"] for oid in ids}) == len(ids)


def test_the_default_run_keeps_its_fault_counts(tmp_path: Path) -> None:
    off = SMALL.model_copy(update={"faults": SMALL.faults.model_copy(update={"demand_surge": 0.0})})
    run_twin(SMALL, 2, 200, 5, tmp_path / "default")
    run_twin(off, 2, 200, 5, tmp_path / "off")
    meta = orjson.loads((tmp_path / "default" / "meta.json").read_bytes())
    assert "demand_surge" not in meta["faults"]
    assert meta == orjson.loads((tmp_path / "off" / "meta.json").read_bytes())
    assert digest(tmp_path / "default" / "truth.jsonl") == digest(tmp_path / "off" / "truth.jsonl")
