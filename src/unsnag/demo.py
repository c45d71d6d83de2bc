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
from unsnag.inputs import Item
from unsnag.perf import batch_gc
from unsnag.policy import Policy
from unsnag.policy.resolution import LogConnector, TwinConnector
from unsnag.runtime import Runtime
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


class LiveTwin:
    """The twin driving a :class:`~unsnag.runtime.Runtime`: one simulated day per
    :meth:`tick`, its events through the inbound path, the outbox dispatched to the twin
    (which answers with confirming events) and to a log. The twin is not thread-safe:
    everything that touches it runs under the runtime's lock."""

    def __init__(
        self,
        store: StorePort,
        policy: Policy,
        *,
        days: int,
        orders_per_day: float,
        seed: int,
        config: TwinConfig | None = None,
    ) -> None:
        self.config = config or load_config()
        self.pending: list[bytes] = []
        self.twin = Twin(self.config, days, orders_per_day, seed, self.pending.append,
                         actionable=True)  # fmt: skip
        senders: dict[str, Connector] = {"twin": TwinSender(self.twin), "log": LogSender()}
        self.runtime = Runtime(store, demo_policy(policy), connectors=senders,
                               clock=lambda: self.twin.sim.now)  # fmt: skip
        self.days_expected = expected_days(self.config, days)
        self.day = 0
        self.delivered = 0
        self.twin.start()

    @property
    def running(self) -> bool:
        """Whether the twin has anything left to simulate."""
        return len(self.twin.sim) > 0

    @property
    def date(self) -> datetime:
        return self.config.start + timedelta(days=self.day)

    def _feed(self) -> None:
        items: list[Item] = [
            ("twin", n, line, orjson.loads(line)) for n, line in enumerate(self.pending)
        ]
        self.pending.clear()
        if items:
            self.runtime.ingest(items)

    def tick(self) -> None:
        """Simulate one more day, take in its events, then dispatch what is due."""
        with self.runtime.lock:
            self.day += 1
            self.twin.sim.run(until=self.twin.t0 + self.day * DAY)
            self.twin.emitter.flush()
            self._feed()
        self.dispatch()

    def dispatch(self) -> None:
        """Send the due actions (to the twin, under the lock)."""
        with self.runtime.lock:
            self.delivered += self.runtime.dispatch(limit=100_000).delivered

    def view(self, top: int = 12) -> DemoTick:
        with self.runtime.lock:
            return _tick(self.runtime.session, self.day, max(self.days_expected, self.day),
                         self.date, top, self.delivered)  # fmt: skip

    def finish(self) -> IngestReport:
        """What the systems report after the last simulated day; checkpoint."""
        with self.runtime.lock:
            self.twin.emitter.flush(everything=True)
            self._feed()
            self.runtime.checkpoint()
            return self.runtime.session.report


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
    live: LiveTwin | None = None,
    stop_after: int | None = None,
) -> IngestReport:
    """Simulate ``days`` of orders (and their aftermath) into ``store``, a day at a time,
    resolving cases through the twin where the policy lets the playbooks act. Pass
    ``live`` to run a twin you keep (to serve it afterwards), and ``stop_after`` to
    return after that many simulated days with the twin still going."""
    with batch_gc():
        owned = live is None
        if live is None:
            live = LiveTwin(store, policy, days=days, orders_per_day=orders_per_day,
                            seed=seed, config=config)  # fmt: skip
        while live.running and (stop_after is None or live.day < stop_after):
            live.tick()
            if on_day is not None:
                on_day(live.view(top))
        if stop_after is not None and live.running:
            live.runtime.checkpoint()
            return live.runtime.session.report
        report = live.finish()
        if owned:
            live.runtime.close()
        return report
