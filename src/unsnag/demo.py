"""The demo: the twin running live against the engine and an embedded store.

The twin simulates a distributor day by day; after each simulated day its events go
through the same ingest path as real ones (validated, logged, detected, cases upserted),
and the caller is told what the control tower now shows. The caller decides the pace
(the CLI waits a little between days so a person can watch) and the view.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson

from unsnag.inputs import Item, parse_items
from unsnag.perf import batch_gc
from unsnag.policy import Policy
from unsnag.service import IngestReport, IngestSession
from unsnag.store import StorePort
from unsnag.twin import load_config
from unsnag.twin.config import TwinConfig
from unsnag.twin.runner import simulate


@dataclass(slots=True)
class DemoTick:
    """What the control tower shows after one simulated day."""

    day: int
    days_expected: int
    sim_date: datetime
    report: IngestReport
    open_by_type: Counter[str]
    resolved: int
    top_open: list[dict[str, Any]] = field(default_factory=list)


def _tick(session: IngestSession, day: int, total: int, date: datetime, top: int) -> DemoTick:
    cases = session.engine.desk.cases.values()
    open_cases = [case for case in cases if case.is_open]
    ranked = sorted(open_cases, key=lambda c: (-c.priority, c.opened_at, c.id))
    return DemoTick(
        day=day,
        days_expected=total,
        sim_date=date,
        report=session.report,
        open_by_type=Counter(case.type for case in open_cases),
        resolved=sum(1 for case in cases if case.status == "resolved"),
        top_open=[case.to_dict() for case in ranked[:top]],
    )


def run_demo(
    store: StorePort,
    policy: Policy,
    *,
    days: int,
    orders_per_day: float,
    seed: int,
    config: TwinConfig | None = None,
    on_day: Callable[[DemoTick], None] | None = None,
    top: int = 12,
) -> IngestReport:
    """Simulate ``days`` of orders (and their aftermath) into ``store``, a day at a time."""
    twin_config = config or load_config()
    pending: list[bytes] = []
    extra = frozenset(policy.systems)
    with batch_gc():
        session = IngestSession(store, policy)

        def feed_pending() -> None:
            items: list[Item] = [
                ("twin", n, line, orjson.loads(line)) for n, line in enumerate(pending)
            ]
            pending.clear()
            session.feed(parse_items(iter(items), extra))

        def day_done(day: int, total: int) -> None:
            feed_pending()
            if on_day is not None:
                date = twin_config.start + timedelta(days=day)
                on_day(_tick(session, day, total, date, top))

        simulate(twin_config, days, orders_per_day, seed, pending.append, day_done)
        feed_pending()  # what the systems report after the last simulated day
        return session.close()
