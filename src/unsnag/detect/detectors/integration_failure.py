"""integration.failure — a system interface failed and business events may be missing.

An *outage* of an endpoint runs from its first ``integration.failed`` to the next
``integration.recovered``. The case (key and subject: the endpoint) opens:

- at once, on the failure whose ``attempt`` — or the outage's count of consecutive
  failures — reaches ``detectors.integration_failure.min_attempts``;
- otherwise at the first failure's time plus ``open_after_minutes`` (a timer), unless
  the endpoint recovered by then, judged on the recovery's event time.

Every further failure of an open outage updates the case (signals count; refs gather
the operations and payload refs). root_cause is the first failure's ``operation``, or
``interface_down``. No customer and no revenue: priority comes from the type's severity.
Look-alike it deliberately ignores: a failure (or a few, under ``min_attempts``) that
recovers within ``open_after_minutes`` — a routine retry.
Resolved by ``integration.recovered``; an outage found still down at its timer but
recovered later shows the case opened at the timer's time and resolved at the recovery.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from unsnag.detect.base import Detector, Output, Timer, refs
from unsnag.events import Event
from unsnag.policy.model import Policy
from unsnag.state.model import State

# An outage in memory: [recovered_at, signalled, timer_pending, operation, payload_ref, error]
RECOVERED, SIGNALLED, PENDING, OPERATION, PAYLOAD, ERROR = range(6)


class IntegrationFailure(Detector):
    rule = "integration-failure"
    case_type = "integration.failure"
    events = frozenset({"integration.failed", "integration.recovered"})
    config_name = "integration_failure"

    def __init__(self, policy: Policy) -> None:
        super().__init__(policy)
        self.memory["outages"] = {}  # endpoint -> {first failure time -> outage}
        self.memory["current"] = {}  # endpoint -> first failure time of the running outage

    def observe(self, event: Event, state: State) -> Iterable[Output]:
        if event.type == "integration.failed":
            yield from self._failed(event, state)
        else:
            yield from self._recovered(event)

    def _failed(self, event: Event, state: State) -> Iterable[Output]:
        d = event.data
        endpoint: str = d.endpoint
        status = state.integrations[endpoint]
        since = status.failing_since or event.time
        self.memory["current"][endpoint] = since
        outages: dict[datetime, list[Any]] = self.memory["outages"].setdefault(endpoint, {})
        outage = outages.get(since)
        if outage is None:
            outage = outages[since] = [None, False, False, d.operation, d.payload_ref, d.error]
        window_end = since + timedelta(minutes=self.cfg.open_after_minutes)
        attempts = max(status.attempts, int(d.attempt or 0))
        if attempts < self.cfg.min_attempts and event.time < window_end:
            if not outage[PENDING]:
                outage[PENDING] = True
                yield self.timer(window_end, endpoint, since)
            return
        if not outage[SIGNALLED] and window_end < event.time:
            # the timer would have opened the case already: say so with its time first
            yield self._signal(endpoint, window_end, since, outage, attempts=None)
        outage[SIGNALLED] = True
        yield self._signal(
            endpoint, event.time, since, outage, attempts, d.operation, d.payload_ref, d.error
        )

    def _recovered(self, event: Event) -> Iterable[Output]:
        endpoint: str = event.data.endpoint
        since: datetime | None = self.memory["current"].pop(endpoint, None)
        outages: dict[datetime, list[Any]] = self.memory["outages"].get(endpoint, {})
        outage = outages.get(since) if since is not None else None
        if since is None or outage is None:
            return
        outage[RECOVERED] = event.time
        if not outage[PENDING]:
            self._forget(endpoint, since)
        if outage[SIGNALLED]:
            yield self.clear(endpoint, event.time, "interface recovered")

    def fire(self, timer: Timer, state: State) -> Iterable[Output]:
        endpoint = timer.key
        since: datetime = timer.data[0]
        outage = self.memory["outages"].get(endpoint, {}).get(since)
        if outage is None:
            return
        outage[PENDING] = False
        recovered: datetime | None = outage[RECOVERED]
        if recovered is not None:
            self._forget(endpoint, since)
        if outage[SIGNALLED] or (recovered is not None and recovered <= timer.at):
            return  # opened already by its attempts, or a routine retry
        outage[SIGNALLED] = True
        yield self._signal(endpoint, timer.at, since, outage, attempts=None)
        if recovered is not None:
            yield self.clear(endpoint, recovered, "interface recovered")

    def _forget(self, endpoint: str, since: datetime) -> None:
        outages: dict[datetime, list[Any]] = self.memory["outages"][endpoint]
        del outages[since]
        if not outages:
            del self.memory["outages"][endpoint]

    def _signal(
        self,
        endpoint: str,
        when: datetime,
        since: datetime,
        outage: list[Any],
        attempts: int | None,
        operation: str | None = None,
        payload_ref: str | None = None,
        error: str | None = None,
    ) -> Output:
        operation = operation or outage[OPERATION]
        payload_ref = payload_ref or outage[PAYLOAD]
        error = error or outage[ERROR]
        if attempts is None:
            what = f"{endpoint} down since {since:%Y-%m-%d %H:%M}Z, not recovered within "
            what += f"{self.cfg.open_after_minutes:g} min"
        else:
            what = f"{endpoint} failing since {since:%Y-%m-%d %H:%M}Z ({attempts} attempts)"
        if operation:
            what += f"; {operation}"
        if error:
            what += f": {error}"
        return self.signal(
            endpoint,
            endpoint,
            when,
            refs=refs(endpoint=endpoint, operation=operation, payload_ref=payload_ref),
            root_cause=outage[OPERATION] or "interface_down",
            summary=what,
        )


DETECTOR = IntegrationFailure
