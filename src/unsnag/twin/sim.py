"""The discrete-event kernel of the twin: a simulated clock and a heap of callbacks.

Time is whole seconds since the Unix epoch (the events have one-second resolution);
:attr:`Simulation.now` shows it as a UTC ``datetime``. Callbacks due at the same second
run in the order they were scheduled (a sequence number breaks ties), so a run depends
only on its seed and its inputs — never on the wall clock.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

Callback = Callable[..., Any]


def epoch(moment: datetime) -> int:
    """A timezone-aware ``datetime`` as whole epoch seconds."""
    if moment.tzinfo is None:
        raise ValueError("simulated times must be timezone-aware (UTC)")
    return int(moment.timestamp())


class Simulation:
    """A clock, a seeded random source and a heap of ``(time, seq, callback, args)``."""

    def __init__(self, start: datetime, seed: int) -> None:
        self.now_s = epoch(start)
        self.rng = random.Random(seed)
        self._heap: list[tuple[int, int, Callback, tuple[Any, ...]]] = []
        self._seq = count()
        self.steps = 0

    @property
    def now(self) -> datetime:
        return datetime.fromtimestamp(self.now_s, UTC)

    def __len__(self) -> int:
        return len(self._heap)

    def schedule(
        self,
        fn: Callback,
        *args: Any,
        at: datetime | int | None = None,
        delay: timedelta | float | None = None,
    ) -> None:
        """Run ``fn(*args)`` at ``at`` (a datetime or epoch seconds) or after ``delay``
        (a timedelta or seconds). Never in the past: a past time runs now."""
        if (at is None) == (delay is None):
            raise ValueError("give exactly one of at= or delay=")
        if at is not None:
            when = epoch(at) if isinstance(at, datetime) else int(at)
        else:
            seconds = delay.total_seconds() if isinstance(delay, timedelta) else float(delay or 0)
            when = self.now_s + int(seconds)
        self.at(max(when, self.now_s), fn, *args)

    def at(self, when: int, fn: Callback, *args: Any) -> None:
        """The fast path of :meth:`schedule`: epoch seconds, no checks."""
        heapq.heappush(self._heap, (when, next(self._seq), fn, args))

    def next_time(self) -> int | None:
        """When the next callback is due (None when nothing is scheduled)."""
        return self._heap[0][0] if self._heap else None

    def run(self, until: datetime | int | None = None) -> int:
        """Run callbacks due before ``until`` (all of them when None), advancing the
        clock; returns how many ran. The clock ends at ``until`` when given."""
        limit = None if until is None else (epoch(until) if isinstance(until, datetime) else until)
        heap, pop, ran = self._heap, heapq.heappop, 0
        while heap and (limit is None or heap[0][0] < limit):
            when, _, fn, args = pop(heap)
            self.now_s = when
            fn(*args)
            ran += 1
        if limit is not None and limit > self.now_s:
            self.now_s = limit
        self.steps += ran
        return ran
