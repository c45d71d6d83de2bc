"""The serving runtime over a real SQLite store: per-event verdicts, commands through the
one in-memory engine, dead-letter replay, checkpoints, and many threads at once."""

from __future__ import annotations

import threading

import orjson
import pytest

from builders import at, ev, master, order
from unsnag.errors import Conflict, NotFound
from unsnag.inputs import Item
from unsnag.policy import load_policy
from unsnag.runtime import Runtime, event_items
from unsnag.store import open_store


def short_pick(order_id: str = "SO-1", hours: float = 2):
    data = {"order_id": order_id, "line_id": "1", "node_id": "dc-east", "qty_picked": 3,
            "qty_short": 7}  # fmt: skip
    return ev("pick.short", data, when=at(hours=hours))


@pytest.fixture
def store(tmp_path):
    with open_store(f"sqlite:///{tmp_path / 'unsnag.db'}") as opened:
        yield opened


@pytest.fixture
def runtime(store):
    made = Runtime(store, load_policy(), clock=lambda: at(hours=3))
    yield made
    made.close()


def items(events) -> list[Item]:
    return event_items([e.raw for e in events], "test")


def test_each_event_gets_its_verdict_in_order(runtime, store):
    good = [*master(), order()]
    bad: Item = ("test", 99, b'{"id": "x"}', {"id": "x"})
    verdicts = runtime.ingest([*items(good), bad, *items(good[:1])])
    statuses = [v.status for v in verdicts]
    assert statuses == ["accepted"] * len(good) + ["refused", "duplicate"]
    assert verdicts[len(good)].reason
    assert verdicts[0].source == good[0].source and verdicts[0].id == good[0].id
    [letter] = store.list_dead_letters()
    assert letter.raw == '{"id": "x"}'
    assert runtime.changes >= 1


def test_commands_run_through_the_live_engine_with_the_cli_rules(runtime, store):
    runtime.ingest(items([*master(), order(), short_pick()]))
    [case] = store.list_cases(type="pick.short")
    after = runtime.command("case.commented", case["id"], "dana", "agent", text="on it")
    assert [(c["actor"], c["text"]) for c in after["work"]["comments"]] == [("dana", "on it")]
    with pytest.raises(NotFound):
        runtime.command("case.commented", "C-nope", "dana", "agent", text="x")
    with pytest.raises(Conflict):
        runtime.command("case.commented", case["id"], "dana", "agent", text="  ")
    # the command is in the log as unsnag's own event, so a rebuild re-derives it
    own = [raw for _, raw in store.iter_events() if raw["source"] == "unsnag"]
    assert [raw["type"] for raw in own] == ["case.commented"]


def test_a_fixed_dead_letter_replays_and_a_still_bad_one_is_not_kept_twice(runtime, store):
    runtime.ingest(items(master()))
    broken = order().raw | {"id": "fix-me"}
    broken = {**broken, "data": {**broken["data"], "lines": "not a list"}}
    runtime.ingest([("test", 1, orjson.dumps(broken), broken)])
    [letter] = store.list_dead_letters()
    still = runtime.replay_dead_letter(letter.raw, "replay")
    assert still.status == "refused" and still.field
    assert store.dead_letter_count() == 1
    fixed = order().raw | {"id": "fix-me"}
    assert runtime.replay_dead_letter(orjson.dumps(fixed), "replay").status == "accepted"


def test_a_restart_resumes_from_the_checkpoint(store):
    first = Runtime(store, load_policy())
    first.ingest(items([*master(), order(), short_pick()]))
    first.close()
    second = Runtime(store, load_policy())
    assert second.session.report.rebuilt_from is None  # loaded, not replayed
    assert len(second.live_cases()) == len(store.list_cases())
    second.close()


def test_threads_at_once_lose_nothing(runtime, store):
    runtime.ingest(items(master()))
    errors: list[BaseException] = []

    def send(n: int) -> None:
        try:
            for k in range(10):
                runtime.ingest(items([order(oid=f"SO-{n}-{k}")]))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert store.event_count() == len(master()) + 40


def test_requests_that_queue_up_are_committed_as_one_batch(runtime, store):
    runtime.ingest(items(master()))
    before = runtime.batches
    results: dict[int, list] = {}

    def send(n: int) -> None:
        event = order(oid=f"SO-G{n}")
        results[n] = runtime.ingest(items([event, event]))  # the same event twice

    with runtime.lock:  # the engine is busy: every request queues behind it
        threads = [threading.Thread(target=send, args=(n,)) for n in range(5)]
        for thread in threads:
            thread.start()
        while len(runtime._queue) < 5:
            threading.Event().wait(0.01)
    for thread in threads:
        thread.join()
    assert runtime.batches == before + 1
    for n in range(5):  # each request gets its own verdicts, in its own order
        assert [v.status for v in results[n]] == ["accepted", "duplicate"]
        assert [v.index for v in results[n]] == [0, 1]
