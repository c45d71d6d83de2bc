"""`unsnag demo`: the twin live against the engine, into an embedded SQLite store."""

from __future__ import annotations

import json

from test_cli import unsnag

from unsnag.demo import DemoTick, run_demo
from unsnag.policy import load_policy
from unsnag.store import MemoryStore


def test_the_headless_demo_fills_a_store_a_person_can_inspect(tmp_path):
    db = tmp_path / "demo.db"
    result = unsnag("demo", "--headless", "--days", "3", "--orders-per-day", "80", "--db",
                    str(db))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert db.exists()
    listed = unsnag("cases", "--json", "--limit", "5000",
                    env={"UNSNAG_DATABASE_URL": f"sqlite:///{db}"})  # fmt: skip
    cases = [json.loads(line) for line in listed.stdout.splitlines()]
    assert len(cases) > 10
    assert len({case["type"] for case in cases}) >= 5
    assert f"{len(cases):,} cases" in result.stdout


def test_the_demo_reports_every_simulated_day_and_ingests_everything():
    ticks: list[DemoTick] = []
    store = MemoryStore()
    report = run_demo(store, load_policy(), days=2, orders_per_day=40, seed=3, on_day=ticks.append)
    assert [tick.day for tick in ticks] == list(range(1, len(ticks) + 1))
    assert ticks[-1].report.accepted == report.accepted == store.event_count()
    assert all(case["status"] == "open" for tick in ticks for case in tick.top_open)
    assert report.refused == 0
