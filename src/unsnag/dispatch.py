"""The outbox dispatcher: sends due actions through their connectors, with retries.

One round (:meth:`Dispatcher.run_once`) claims the due actions, sends each once and
settles it: delivered; due again after a backoff; or failed, for a person to take up.
Delivered and failed outcomes are *reported* as ``action.delivered`` /
``action.failed`` events (``report``, wired to the ingest service), which is how the
engine learns what became of the actions it decided.

Crash windows, and why the order is claim → send → report → mark:

- A claim leases the row (``next_attempt_at = now + lease_s``) and counts the attempt.
  A dispatcher that dies at any point after it leaves the row pending, so the action
  is due again when the lease runs out and another round sends it again. Nothing is
  lost; the price is a repeat, which the receiver drops by the idempotency key.
- The outcome is reported *before* the row is marked final. Dying between the two
  repeats the send and the report; outcome events have ids derived from the key, so
  the event log stores the second report as a duplicate of the first. Marking first
  would risk the opposite — a final row whose outcome never reached the log, a case
  waiting forever for an answer that is never coming again.
- If ``report`` itself raises (the event log is down), the error propagates and the
  row stays leased: it is sent and reported again after the lease. A retry is only a
  row update, and needs no report.

Leases are in the injected clock's time and must outlast one send (the connector's
timeout); the default of five minutes does for the shipped connectors.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from unsnag.connectors.base import DELIVERED, FAIL, RETRY, Connector, Outcome
from unsnag.errors import ConnectorError
from unsnag.policy.resolution import Resolution
from unsnag.resolve.events import outcome_event
from unsnag.store.port import PENDING, StoredAction, StorePort

LOG = logging.getLogger(__name__)
LEASE_S = 300.0
IDLE_POLL_S = 0.05


@dataclass(slots=True)
class DispatchReport:
    """What a round (or a run of rounds) did."""

    claimed: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    idle: bool = False
    """Set by :meth:`Dispatcher.run_until_idle`: nothing was left pending."""

    def add(self, other: DispatchReport) -> None:
        self.claimed += other.claimed
        self.delivered += other.delivered
        self.retried += other.retried
        self.failed += other.failed

    def to_dict(self) -> dict[str, Any]:
        return {
            "claimed": self.claimed,
            "delivered": self.delivered,
            "retried": self.retried,
            "failed": self.failed,
            "idle": self.idle,
        }


def backoff_s(attempts: int, base_s: float, max_s: float) -> float:
    """The delay after the ``attempts``-th failed attempt: base, doubling, capped."""
    return min(max_s, base_s * 2.0 ** max(attempts - 1, 0))


class Dispatcher:
    """Sends the outbox of one store through the policy's connectors."""

    def __init__(
        self,
        store: StorePort,
        connectors: Mapping[str, Connector],
        resolution: Resolution,
        clock: Callable[[], datetime],
        report: Callable[[dict[str, Any]], None],
        *,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] | None = None,
        lease_s: float = LEASE_S,
    ) -> None:
        """``jitter``, if given, returns a number in [0, 1) that scales each backoff
        ("full jitter", e.g. ``random.Random(seed).random``); without it backoffs are
        exact, so runs are deterministic."""
        self.store = store
        self.connectors = connectors
        self.resolution = resolution
        self.clock = clock
        self.report = report
        self.sleep = sleep
        self.jitter = jitter
        self.lease_s = lease_s

    def run_once(self, limit: int = 100) -> DispatchReport:
        """Claim up to ``limit`` due actions and send each once."""
        claimed = self.store.claim_actions(self.clock(), limit, self.lease_s)
        done = DispatchReport(claimed=len(claimed))
        for action in claimed:
            verdict = self._settle(action, self._send(action))
            if verdict == DELIVERED:
                done.delivered += 1
            elif verdict == RETRY:
                done.retried += 1
            else:
                done.failed += 1
        return done

    def run_until_idle(self, max_seconds: float, limit: int = 100) -> DispatchReport:
        """Rounds until nothing is pending (``idle``) or ``max_seconds`` have passed on
        the clock, sleeping until the next action is due in between."""
        deadline = self.clock() + timedelta(seconds=max_seconds)
        total = DispatchReport()
        while True:
            done = self.run_once(limit)
            total.add(done)
            upcoming = self.store.list_actions(status=PENDING, limit=1, by_due=True)
            if not upcoming:
                total.idle = True
                return total
            now = self.clock()
            if now >= deadline:
                return total
            wait = (min(upcoming[0].next_attempt_at, deadline) - now).total_seconds()
            if wait <= 0 and not done.claimed:  # due, yet another dispatcher holds it
                wait = min(IDLE_POLL_S, (deadline - now).total_seconds())
            if wait > 0:
                self.sleep(wait)

    def _send(self, action: StoredAction) -> Outcome:
        connector = self.connectors.get(action.connector)
        if connector is None or action.connector not in self.resolution.connectors:
            return Outcome.fail(f"no connector named {action.connector!r}")
        try:
            return connector.send(action)
        except ConnectorError as exc:
            return Outcome.fail(str(exc))
        except Exception as exc:  # a connector bug must not lose the action: retry it
            LOG.exception("connector %s raised on action %s", action.connector, action.key)
            return Outcome.retry(f"connector {action.connector} raised {exc!r}")

    def _settle(self, action: StoredAction, outcome: Outcome) -> str:
        """Record the outcome: report first, then mark (see the module docstring)."""
        now = self.clock()
        if outcome.status == DELIVERED:
            self._report(action, True, now, outcome.detail)
            self.store.mark_delivered(action.key, now, outcome.detail)
            return DELIVERED
        error = outcome.detail or outcome.status
        config = self.resolution.connectors.get(action.connector)
        if outcome.status == RETRY and config is not None and action.attempts < config.max_attempts:
            delay = backoff_s(action.attempts, config.backoff_s, config.max_backoff_s)
            if self.jitter is not None:
                delay *= self.jitter()
            if outcome.retry_after is not None:
                delay = max(delay, min(outcome.retry_after, config.max_backoff_s))
            self.store.mark_retry(action.key, now + timedelta(seconds=delay), error)
            return RETRY
        if outcome.status == RETRY:
            tries = f"{action.attempts} attempt{'' if action.attempts == 1 else 's'}"
            error = f"gave up after {tries}: {error}"
        self._report(action, False, now, error)
        self.store.mark_failed(action.key, now, error)
        return FAIL

    def _report(
        self, action: StoredAction, delivered: bool, at: datetime, detail: str | None
    ) -> None:
        event = outcome_event(
            action.key, action.case_id, action.kind, delivered, action.attempts, at, detail
        )
        self.report(event)
