"""The demo: the twin running live against the engine and an embedded store.

The twin simulates a distributor day by day; after each simulated day its events go
through the same ingest path as real ones (validated, logged, detected, cases upserted),
the outbox is dispatched — actions the twin's systems take go to the twin (it answers
with confirming events the next day), the rest to a log — and the caller is told what
the control tower now shows. Approvals wait for a person (`unsnag case approve`). The
caller decides the pace (the CLI waits a little between days so a person can watch) and
the view.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson

from unsnag.connectors.base import Connector
from unsnag.connectors.log import LogSender
from unsnag.connectors.twin import TwinSender
from unsnag.dispatch import Dispatcher
from unsnag.events import parse_event
from unsnag.inputs import Item, parse_items
from unsnag.perf import batch_gc
from unsnag.policy import Policy
from unsnag.policy.resolution import LogConnector, TwinConnector
from unsnag.service import IngestReport, IngestSession
from unsnag.store import StorePort
from unsnag.twin import load_config
from unsnag.twin.config import TwinConfig
from unsnag.twin.emitter import DAY
from unsnag.twin.flow import Twin
from unsnag.twin.loop import TWIN_KINDS
from unsnag.twin.runner import expected_days


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
    touchless: int = 0
    awaiting_people: int = 0
    actions_delivered: int = 0


def _tick(
    session: IngestSession, day: int, total: int, date: datetime, top: int, delivered: int
) -> DemoTick:
    cases = session.engine.desk.cases.values()
    open_cases = [case for case in cases if case.is_open]
    ranked = sorted(open_cases, key=lambda c: (-c.priority, c.opened_at, c.id))
    resolved = [case for case in cases if case.status == "resolved"]
    return DemoTick(
        day=day,
        days_expected=total,
        sim_date=date,
        report=session.report,
        open_by_type=Counter(case.type for case in open_cases),
        resolved=len(resolved),
        top_open=[case.to_dict() for case in ranked[:top]],
        touchless=sum(1 for case in resolved if case.work is not None and case.work.touchless),
        awaiting_people=sum(1 for case in open_cases if _needs_people(case)),
        actions_delivered=delivered,
    )


def _needs_people(case: Any) -> bool:
    return case.work is not None and case.work.state in ("awaiting_approval", "human")


def demo_policy(policy: Policy) -> Policy:
    """The policy with the twin as the connector for the actions its systems take."""
    res = policy.resolution
    connectors = {**res.connectors, "twin": TwinConnector(kind="twin"),
                  "log": LogConnector(kind="log")}  # fmt: skip
    routes = {**{kind: "twin" for kind in TWIN_KINDS}, "*": "log"}
    changed = res.model_copy(update={"connectors": connectors, "routes": routes})
    return policy.model_copy(update={"resolution": changed})


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
    """Simulate ``days`` of orders (and their aftermath) into ``store``, a day at a time,
    resolving cases through the twin where the policy lets the playbooks act."""
    twin_config = config or load_config()
    pending: list[bytes] = []
    extra = frozenset(policy.systems)
    loop_policy = demo_policy(policy)
    twin = Twin(twin_config, days, orders_per_day, seed, pending.append, actionable=True)
    with batch_gc():
        session = IngestSession(store, loop_policy)

        def feed_pending() -> None:
            items: list[Item] = [
                ("twin", n, line, orjson.loads(line)) for n, line in enumerate(pending)
            ]
            pending.clear()
            session.feed(parse_items(iter(items), extra))

        def report(raw: dict[str, Any]) -> None:
            session.feed([parse_event(raw, extra, own=True)])

        senders: dict[str, Connector] = {"twin": TwinSender(twin), "log": LogSender()}
        dispatcher = Dispatcher(store, senders, loop_policy.resolution, lambda: twin.sim.now,
                                report)  # fmt: skip
        twin.start()
        total, day, delivered = expected_days(twin_config, days), 0, 0
        while len(twin.sim):
            day += 1
            twin.sim.run(until=twin.t0 + day * DAY)
            twin.emitter.flush()
            feed_pending()
            delivered += dispatcher.run_once(limit=100_000).delivered
            if on_day is not None:
                date = twin_config.start + timedelta(days=day)
                on_day(_tick(session, day, max(total, day), date, top, delivered))
        twin.emitter.flush(everything=True)
        feed_pending()  # what the systems report after the last simulated day
        return session.close()
