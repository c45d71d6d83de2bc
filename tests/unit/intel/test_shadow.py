"""Shadow mode: a candidate policy watches the live stream and acts on nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from builders import at, ev, master, order, policy_with
from unsnag.errors import NotFound, PolicyError
from unsnag.inputs import parse_items, read_items
from unsnag.intel.shadow import (
    SHADOW,
    ShadowSession,
    shadow_diff,
    shadow_info,
    start_shadow,
    stop_shadow,
)
from unsnag.policy import load_policy, policy_from_mapping
from unsnag.service import ingest
from unsnag.store import MemoryStore

SAMPLE = Path(__file__).resolve().parents[3] / "examples" / "sample-events.jsonl"


def short_pick(oid: str, qty_short: float, hours: float = 4):
    data = {"order_id": oid, "line_id": "1", "node_id": "dc-east",
            "qty_picked": 10 - qty_short, "qty_short": qty_short}  # fmt: skip
    return ev("pick.short", data, when=at(hours=hours))


def candidate(**detectors):
    data = policy_with(**detectors).model_dump(mode="json")
    data["version"] = "candidate-1"
    return policy_from_mapping(data)


LIVE = policy_with(pick_short={"min_qty": 5})  # shorts under 5 units are noise, live
TIGHTER = candidate(pick_short={"min_qty": 1})


def sample_items():
    return parse_items(read_items(SAMPLE), own=True)


def test_without_a_shadow_nothing_runs_beside_the_live_engine():
    store = MemoryStore()
    ingest(store, LIVE, [*master(), order("SO-1")])
    assert ShadowSession.open(store) is None and shadow_info(store) is None
    with pytest.raises(NotFound):
        shadow_diff(store)


def test_shadow_cases_open_beside_the_live_ones_but_never_in_the_cases_table():
    store = MemoryStore()
    ingest(store, LIVE, [*master(), order("SO-1"), order("SO-2"), short_pick("SO-1", 3, 1)])
    start_shadow(store, TIGHTER)
    ingest(store, LIVE, [short_pick("SO-2", 2)])
    assert store.list_cases(type="pick.short") == []  # live ignores both shorts
    report = shadow_diff(store)
    row = next(r for r in report["by_type"] if r["type"] == "pick.short")
    assert (row["a"], row["b"], row["only_b"]) == (0, 1, 1)  # only SO-2: after the start
    assert report["labels"] == {"a": "live", "b": "shadow"}
    assert report["shadow"]["policy_version"] == "candidate-1"
    history = shadow_diff(store, include_history=True)
    assert next(r for r in history["by_type"] if r["type"] == "pick.short")["b"] == 2


def test_a_shadow_decides_no_action_and_leaves_the_live_store_as_it_was():
    plain, watched = MemoryStore(), MemoryStore()
    ingest(plain, load_policy(), [])
    ingest(watched, load_policy(), [])
    start_shadow(watched, TIGHTER)
    ingest(plain, load_policy(), sample_items())
    ingest(watched, load_policy(), sample_items())
    assert watched.list_cases() == plain.list_cases()
    assert watched.list_actions() == plain.list_actions()
    assert len(list(watched.iter_audit())) == len(list(plain.iter_audit()))
    session = ShadowSession.open(watched)
    assert session is not None and session.rebuilt_from is None  # resumed, not rebuilt
    assert len(session.cases()) >= len(plain.list_cases())


def test_a_shadow_of_the_live_policy_shows_no_difference():
    store = MemoryStore()
    ingest(store, load_policy(), [])
    start_shadow(store, load_policy())
    ingest(store, load_policy(), sample_items())
    report = shadow_diff(store)
    assert report["identical"] and report["matched"] == len(store.list_cases()) > 0


def test_a_stale_or_broken_shadow_checkpoint_is_rebuilt_from_the_log():
    store = MemoryStore()
    ingest(store, LIVE, [*master(), order("SO-1")])
    start_shadow(store, TIGHTER)
    ingest(store, LIVE, [short_pick("SO-1", 2)])
    last, version, _ = store.load_checkpoint(SHADOW)
    store.save_checkpoint(SHADOW, last, version, b"not a pickle")
    report = shadow_diff(store)
    assert report["shadow"]["rebuilt_from_log"] == 4
    assert report["only_b"] == 1


def test_stopping_the_shadow_keeps_its_record_but_runs_nothing():
    store = MemoryStore()
    ingest(store, LIVE, [*master()])
    start_shadow(store, TIGHTER)
    info = stop_shadow(store)
    assert not info.active and info.policy.version == "candidate-1"
    assert ShadowSession.open(store) is None
    assert store.load_checkpoint(SHADOW)[2] == b""
    with pytest.raises(NotFound):
        stop_shadow(store)
    ingest(store, LIVE, [order("SO-1"), short_pick("SO-1", 2)])  # no shadow to feed


def test_a_failing_shadow_never_stops_the_live_ingest(monkeypatch):
    store = MemoryStore()
    ingest(store, LIVE, [*master(), order("SO-1")])
    start_shadow(store, TIGHTER)

    def broken(*_):
        raise RuntimeError("shadow engine fault")

    monkeypatch.setattr("unsnag.intel.shadow.admits", broken)
    report = ingest(store, LIVE, [short_pick("SO-1", 7)])
    assert report.accepted == 1 and len(store.list_cases(type="pick.short")) == 1
    assert store.load_checkpoint(SHADOW)[0] < store.last_seq()  # not saved: rebuilt later
    monkeypatch.undo()
    assert shadow_diff(store)["shadow"]["rebuilt_from_log"] == 4


def test_an_unreadable_shadow_record_is_skipped_by_ingest_and_reported_by_status():
    store = MemoryStore()
    ingest(store, LIVE, [*master()])
    start_shadow(store, TIGHTER)
    store.save_checkpoint("shadow.policy", 0, "x", b'{"policy": {"version": 1}}')
    assert ingest(store, LIVE, [order("SO-1")]).accepted == 1
    with pytest.raises(PolicyError):
        shadow_info(store)
