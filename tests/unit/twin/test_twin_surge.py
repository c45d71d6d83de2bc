"""Demand surges over a product family: many orders of mixed tiers for a SKU and its
substitutes at several DCs, some ship-complete on several SKUs, recorded as
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


def events_of(out: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in (out / "events.jsonl").read_bytes().splitlines()]


def test_a_surge_run_is_reproducible_and_contests_a_family_at_several_dcs(
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
    events = events_of(tmp_path / "a")
    created = {e["subject"]: e["data"] for e in events if e["type"] == "order.created"}
    products = {e["data"]["sku"]: e["data"] for e in events if e["type"] == "product.upserted"}
    failed = {
        (e["subject"], e["data"]["node_id"], e["data"]["sku"])
        for e in events
        if e["type"] == "allocation.failed"
    }
    for record in surges:
        assert record["case_type"] == "allocation.conflict"
        keys = record["keys"]
        ids, node, sku = keys["order_ids"], keys["node_id"], keys["sku"]
        assert len(ids) >= 2 and ids == sorted(ids)
        assert sum((oid, node, sku) in failed for oid in ids) >= 2
        for oid in ids:
            order = created[oid]
            assert sku in {ln["sku"] for ln in order["lines"]}
            assert isinstance(order["ship_complete"], bool)
            assert order["substitution"] in ("allowed", "refused")
    # every surge order's SKUs are one family: a top SKU and its listed substitutes
    surge_orders = [d for d in created.values() if "ship_complete" in d]
    for order in surge_orders:
        skus = [ln["sku"] for ln in order["lines"]]
        families = [{s, *products[s]["substitutes"]} for s in products]
        assert any(set(skus) <= family for family in families)
        if len(skus) > 1:
            assert order["ship_complete"] is True
    assert any(len(d["lines"]) > 1 for d in surge_orders)  # ship-complete multi-line orders
    # a surge hits several DCs: some order of it (same family, same day) at another DC
    by_family: dict[tuple[str, frozenset[str]], set[str]] = {}
    for record in surges:
        order = created[record["keys"]["order_ids"][0]]
        top = order["lines"][0]["sku"]
        family = frozenset({top, *products[top]["substitutes"]})
        by_family.setdefault((record["at"][:10], family), set()).add(record["keys"]["node_id"])
    assert by_family
    assert max(len(nodes) for nodes in by_family.values()) >= 2


def test_customers_keep_their_terms_from_surge_to_surge(tmp_path: Path) -> None:
    run_twin(SURGE, 3, 200, 5, tmp_path / "a")
    terms: dict[str, set[tuple[bool, str]]] = {}
    for e in events_of(tmp_path / "a"):
        data = e["data"]
        if e["type"] == "order.created" and "ship_complete" in data:
            terms.setdefault(data["customer_id"], set()).add(
                (data["ship_complete"], data["substitution"])
            )
    assert terms and all(len(seen) == 1 for seen in terms.values())


def test_a_surge_never_takes_stock_the_dc_does_not_have() -> None:
    from unsnag.twin.flow import Twin

    lines: list[bytes] = []
    twin = Twin(SURGE, 4, 300, 5, lines.append)
    twin.start()
    twin.sim.run()
    assert twin.min_on_hand >= 0
    assert all(v >= 0 for v in twin.allocated.values())
    assert all(twin.on_hand[k] >= 0 for k in twin.on_hand)


def test_the_default_run_keeps_its_fault_counts(tmp_path: Path) -> None:
    off = SMALL.model_copy(update={"faults": SMALL.faults.model_copy(update={"demand_surge": 0.0})})
    run_twin(SMALL, 2, 200, 5, tmp_path / "default")
    run_twin(off, 2, 200, 5, tmp_path / "off")
    meta = orjson.loads((tmp_path / "default" / "meta.json").read_bytes())
    assert "demand_surge" not in meta["faults"]
    assert meta == orjson.loads((tmp_path / "off" / "meta.json").read_bytes())
    assert digest(tmp_path / "default" / "truth.jsonl") == digest(tmp_path / "off" / "truth.jsonl")
