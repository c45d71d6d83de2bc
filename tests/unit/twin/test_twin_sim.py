"""The DES kernel: ordering, tie-breaks, clock, determinism."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from unsnag.twin.sim import Simulation

START = datetime(2026, 5, 4, tzinfo=UTC)


def test_callbacks_run_in_time_order_ties_in_scheduling_order() -> None:
    sim = Simulation(START, seed=1)
    seen: list[tuple[str, datetime]] = []

    def note(name: str) -> None:
        seen.append((name, sim.now))

    sim.schedule(note, "late", delay=timedelta(hours=2))
    sim.schedule(note, "first-tie", delay=60)
    sim.schedule(note, "second-tie", at=START + timedelta(minutes=1))
    sim.schedule(note, "early", delay=1)
    assert sim.run() == 4
    assert [name for name, _ in seen] == ["early", "first-tie", "second-tie", "late"]
    assert seen[1][1] == START + timedelta(minutes=1)


def test_run_until_stops_before_the_limit_and_moves_the_clock() -> None:
    sim = Simulation(START, seed=1)
    ran: list[int] = []
    for hour in (1, 2, 3):
        sim.schedule(ran.append, hour, delay=timedelta(hours=hour))
    assert sim.run(until=START + timedelta(hours=2)) == 1
    assert ran == [1]
    assert sim.now == START + timedelta(hours=2)
    assert len(sim) == 2
    sim.run()
    assert ran == [1, 2, 3]


def test_callbacks_can_schedule_more_and_never_in_the_past() -> None:
    sim = Simulation(START, seed=1)
    times: list[datetime] = []

    def tick(n: int) -> None:
        times.append(sim.now)
        if n:
            sim.schedule(tick, n - 1, at=START - timedelta(days=1))  # past -> now

    sim.schedule(tick, 3, delay=10)
    sim.run()
    assert times == [START + timedelta(seconds=10)] * 4


def test_schedule_needs_exactly_one_time_and_aware_datetimes() -> None:
    sim = Simulation(START, seed=1)
    with pytest.raises(ValueError):
        sim.schedule(print)
    with pytest.raises(ValueError):
        sim.schedule(print, at=START, delay=1)
    with pytest.raises(ValueError):
        Simulation(datetime(2026, 1, 1), seed=1)


def test_same_seed_same_draws() -> None:
    a, b = Simulation(START, seed=5), Simulation(START, seed=5)
    assert [a.rng.random() for _ in range(5)] == [b.rng.random() for _ in range(5)]
    assert Simulation(START, seed=6).rng.random() != Simulation(START, seed=5).rng.random()
