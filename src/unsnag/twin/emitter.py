"""Stamp events with ids and sources and release them in the order systems report them.

An event's ``time`` is when it happened in the simulation; each source system reports it
after its own latency (``TwinConfig.latency``). Events wait in a heap keyed by that
emission time and are written once the clock has passed it, so the file is in emission
order. A subject's events are never reported out of the order they happened (each
system's outbox is ordered per aggregate), so the emission time of an event is at least
that of its subject's previous one.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import count
from typing import Any

import orjson

from unsnag.twin.config import Range
from unsnag.twin.sim import Simulation

HOUR, DAY = 3_600, 86_400
_MINUTES_SECONDS = tuple(f"{s // 60:02d}:{s % 60:02d}Z" for s in range(HOUR))
_HOURS: dict[int, str] = {}
_DAYS: dict[int, str] = {}


def day_text(t: int) -> str:
    """The calendar date of epoch second ``t``."""
    d = t // DAY
    text = _DAYS.get(d)
    if text is None:
        text = _DAYS[d] = datetime.fromtimestamp(d * DAY, UTC).strftime("%Y-%m-%d")
    return text


def instant_text(t: int) -> str:
    """RFC 3339 UTC for epoch second ``t`` (cached per hour: every event needs one)."""
    prefix = _HOURS.get(t // HOUR)
    if prefix is None:
        prefix = _HOURS[t // HOUR] = f"{day_text(t)}T{t % DAY // HOUR:02d}:"
    return prefix + _MINUTES_SECONDS[t % HOUR]


class Emitter:
    """``emit(type, source, subject, data)`` at the simulation's current time."""

    def __init__(
        self,
        sim: Simulation,
        latency: dict[str, Range],
        seed: int,
        sink: Callable[[bytes], object],
    ) -> None:
        self.sim = sim
        self.sink = sink
        self.rng = random.Random(f"latency-{seed}")
        self.latency = {name: (r.min, r.max - r.min + 1) for name, r in latency.items()}
        self.pending: list[tuple[int, int, bytes]] = []
        self.last: dict[str, int] = {}
        self.seq = count()
        self.numbers = count(1)
        self.emitted = 0
        self.by_type: dict[str, int] = {}

    def emit(self, etype: str, source: str, subject: str, data: dict[str, Any]) -> int:
        """Queue one event happening now; returns its time (epoch seconds)."""
        now = self.sim.now_s
        pending = self.pending
        while pending and pending[0][0] < now:
            self.sink(heapq.heappop(pending)[2])
        system = source.split("/", 1)[0]
        lo, span = self.latency.get(system, (0, 1))
        reported = now + lo + int(self.rng.random() * span)
        previous = self.last.get(subject, 0)
        if reported < previous:
            reported = previous
        self.last[subject] = reported
        line = orjson.dumps(
            {
                "specversion": "1.0",
                "id": f"{system}-{next(self.numbers):09d}",
                "source": source,
                "type": etype,
                "time": instant_text(now),
                "subject": subject,
                "data": data,
            },
            option=orjson.OPT_APPEND_NEWLINE,
        )
        heapq.heappush(pending, (reported, next(self.seq), line))
        self.emitted += 1
        self.by_type[etype] = self.by_type.get(etype, 0) + 1
        return now

    def flush(self, everything: bool = False) -> None:
        """Write the events reported before the clock (all of them with ``everything``)."""
        now, pending = self.sim.now_s, self.pending
        while pending and (everything or pending[0][0] < now):
            self.sink(heapq.heappop(pending)[2])
