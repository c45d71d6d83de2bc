"""The ingest service over a real SQLite store: checkpoints, rebuilds, policy changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from builders import at, ev, master, order
from unsnag.inputs import parse_items, read_items
from unsnag.policy import load_policy, policy_from_mapping
from unsnag.service import CHECKPOINT, ingest
from unsnag.store import open_store

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sample-events.jsonl"


def short_pick(hours: float = 2):
    data = {"order_id": "SO-1", "line_id": "1", "node_id": "dc-east", "qty_picked": 3,
            "qty_short": 7}  # fmt: skip
    return ev("pick.short", data, when=at(hours=hours))


def policy_version(version: str):
    data = load_policy().model_dump(mode="json")
    data["version"] = version
    return policy_from_mapping(data)


@pytest.fixture
def store(tmp_path):
    with open_store(f"sqlite:///{tmp_path / 'unsnag.db'}") as opened:
        yield opened


def test_a_second_ingest_resumes_from_the_checkpoint(store):
    first = ingest(store, load_policy(), [*master(), order()])
    second = ingest(store, load_policy(), [short_pick()])
    assert first.rebuilt_from == 0  # a new store: nothing to replay
    assert second.rebuilt_from is None
    [case] = store.list_cases(type="pick.short")
    assert case["status"] == "open"


def test_a_new_policy_version_rebuilds_the_cases_from_the_log(store):
    ingest(store, load_policy(), [*master(), order(), short_pick()])
    report = ingest(store, policy_version("2"), [])
    assert report.rebuilt_from == 4
    [case] = store.list_cases(type="pick.short")
    assert case["policy_version"] == "2"


def test_an_unreadable_checkpoint_is_rebuilt_not_trusted(store):
    ingest(store, load_policy(), [*master(), order()])
    last, version, _ = store.load_checkpoint(CHECKPOINT)
    store.save_checkpoint(CHECKPOINT, last, version, b"not a pickle")
    report = ingest(store, load_policy(), [short_pick()])
    assert report.rebuilt_from == 3
    assert len(store.list_cases(type="pick.short")) == 1


def test_events_of_unknown_types_are_logged_and_reach_policy_rules(store):
    data = load_policy().model_dump(mode="json")
    data["rules"].append({
        "id": "feed-stale",
        "events": ["edi.feed_stale"],
        "when": "event.data.minutes_late > 60.0",
        "case_type": "integration.failure",
        "key": "event.data.partner",
    })  # fmt: skip
    stale = ev("edi.feed_stale", {"partner": "acme", "minutes_late": 95.0}, source="edi")
    report = ingest(store, policy_from_mapping(data), [stale])
    assert report.accepted == 1 and store.event_count() == 1
    [case] = store.list_cases(type="integration.failure")
    assert (case["subject"], case["rule"]) == ("acme", "feed-stale")


def test_the_sample_ingested_in_one_go_or_in_two_halves_gives_the_same_cases(tmp_path):
    items = list(parse_items(read_items(SAMPLE)))
    with open_store(f"sqlite:///{tmp_path / 'one.db'}") as one:
        ingest(one, load_policy(), items)
        whole = {c["id"]: c["status"] for c in one.list_cases()}
    with open_store(f"sqlite:///{tmp_path / 'two.db'}") as two:
        half = len(items) // 2
        ingest(two, load_policy(), items[:half])
        ingest(two, load_policy(), items[half:])
        halves = {c["id"]: c["status"] for c in two.list_cases()}
    assert halves == whole
