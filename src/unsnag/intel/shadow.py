"""Shadow mode: a candidate policy runs beside the live one on the incoming stream.

The shadow is a second :class:`~unsnag.engine.Engine`, under the candidate policy, fed
the same events in the same order as the live one. It opens, updates and closes its own
cases, but acts on nothing: its outbox items and audit entries are dropped as soon as
they are decided, and its cases never reach the ``cases`` table, so no queue, KPI,
dashboard or connector ever sees them. ``unsnag shadow diff`` compares them with the
live cases through :func:`unsnag.intel.backtest.compare`.

Everything the shadow needs lives in two rows of the store's ``checkpoints`` table, so
no table or port changes:

- ``shadow.policy`` — the candidate policy and when watching started (JSON); a stopped
  shadow keeps the row with ``active: false``;
- ``shadow`` — the shadow engine's snapshot (cases included) as of ``last_seq``, like
  the live engine's ``engine`` checkpoint. When it is missing or behind the log, the
  shadow is rebuilt by replaying the log under the candidate, exactly as the live engine
  is.

:class:`ShadowSession` is what an ingest process wraps around each batch: ``open``
(None when no shadow runs), ``feed`` the batch the live engine just took, ``close``
to save the checkpoint.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import orjson

from unsnag.engine import Engine
from unsnag.errors import ContractViolation, NotFound
from unsnag.events import Event, parse_event, parse_instant
from unsnag.intel.backtest import DEFAULT_THRESHOLDS, admits, compare
from unsnag.policy import Policy, policy_from_mapping
from unsnag.store.port import StorePort

SHADOW = "shadow"
SHADOW_POLICY = "shadow.policy"
LABELS = ("live", "shadow")


@dataclass(frozen=True, slots=True)
class ShadowInfo:
    """The candidate policy in shadow mode and when watching started."""

    policy: Policy
    active: bool
    started_seq: int
    started_at: datetime | None
    """Event time of the log's newest event when the shadow started (None: empty log)."""
    stopped_seq: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "active": self.active,
            "policy_version": self.policy.version,
            "policy_name": self.policy.name,
            "started_seq": self.started_seq,
            "started_at": _iso(self.started_at),
            "stopped_seq": self.stopped_seq,
        }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _save_info(store: StorePort, info: ShadowInfo) -> None:
    document = {**info.to_dict(), "policy": info.policy.model_dump(mode="json")}
    store.save_checkpoint(
        SHADOW_POLICY, store.last_seq(), info.policy.version, orjson.dumps(document)
    )


def shadow_info(store: StorePort) -> ShadowInfo | None:
    """The shadow's candidate and state; None when no shadow was ever started."""
    saved = store.load_checkpoint(SHADOW_POLICY)
    if saved is None:
        return None
    document = orjson.loads(saved[2])
    started = document.get("started_at")
    return ShadowInfo(
        policy=policy_from_mapping(document["policy"], "shadow policy"),
        active=bool(document["active"]),
        started_seq=int(document["started_seq"]),
        started_at=parse_instant(started) if started else None,
        stopped_seq=document.get("stopped_seq"),
    )


def _rebuild(store: StorePort, policy: Policy) -> tuple[Engine, int]:
    """The shadow engine from the whole log; events the candidate refuses are skipped."""
    engine = Engine(policy)
    extra = frozenset(policy.systems)
    count = 0
    for _, raw in store.iter_events():
        try:
            engine.step(parse_event(raw, extra, own=True))
        except ContractViolation:  # a source system only the live policy declares
            continue
        count += 1
    engine.advance()
    _discard_effects(engine)
    return engine, count


def _discard_effects(engine: Engine) -> None:
    """Shadow cases act on nothing: drop decided actions and audit entries."""
    engine.take_effects()
    engine.changed_cases()


def _load(store: StorePort, policy: Policy) -> tuple[Engine, int | None]:
    saved = store.load_checkpoint(SHADOW)
    if saved is not None:
        seq, version, blob = saved
        if seq == store.last_seq() and version == policy.version and blob:
            try:
                return Engine.restore(policy, blob), None
            except Exception:  # an unreadable checkpoint is rebuilt, never trusted
                pass
    return _rebuild(store, policy)


class ShadowSession:
    """The shadow engine of one ingest process (see the module docstring)."""

    def __init__(self, store: StorePort, info: ShadowInfo) -> None:
        self.store = store
        self.info = info
        self.engine, self.rebuilt_from = _load(store, info.policy)
        self.stepped = 0
        self.failed: str | None = None

    @classmethod
    def open(cls, store: StorePort) -> ShadowSession | None:
        """The running shadow of ``store``, or None when no shadow is active.

        A shadow that cannot be loaded is skipped, never in the live ingest's way:
        ``unsnag shadow status`` and ``diff`` report why."""
        try:
            info = shadow_info(store)
            return cls(store, info) if info is not None and info.active else None
        except Exception:
            return None

    def feed(self, items: Iterable[object]) -> int:
        """Step the shadow with the events of a batch the live engine took (anything
        that is not an :class:`Event` is skipped; events the shadow has seen are
        ignored by the engine), fire its due timers, drop its effects.

        Should the shadow engine fail, it stops for this session and its checkpoint is
        not saved (the next session rebuilds it); the live ingest goes on."""
        if self.failed is not None:
            return 0
        engine, policy = self.engine, self.info.policy
        stepped = 0
        try:
            for item in items:
                if isinstance(item, Event) and admits(policy, item) and engine.step(item):
                    stepped += 1
            engine.advance()
        except Exception as exc:
            self.failed = f"{type(exc).__name__}: {exc}"
        _discard_effects(engine)
        self.stepped += stepped
        return stepped

    def close(self) -> None:
        """Fire due timers and save the shadow's checkpoint at the log's end."""
        if self.failed is not None:
            return
        self.engine.advance()
        _discard_effects(self.engine)
        self.store.save_checkpoint(
            SHADOW, self.store.last_seq(), self.info.policy.version, self.engine.snapshot()
        )

    def cases(self) -> list[dict[str, Any]]:
        return [case.to_dict() for case in self.engine.cases()]


def start_shadow(store: StorePort, policy: Policy) -> ShadowSession:
    """Run ``policy`` in shadow from now on (replacing any candidate running before).

    The shadow engine replays the log first, so it knows every order, stock position
    and open problem the live engine knows; the diff then counts what opens from here."""
    store.save_checkpoint(SHADOW, 0, "", b"")  # the old candidate's engine is stale
    session = ShadowSession(store, ShadowInfo(policy, True, store.last_seq(), None))
    session.info = replace(session.info, started_at=session.engine.watermark)
    _save_info(store, session.info)
    session.close()
    return session


def stop_shadow(store: StorePort) -> ShadowInfo:
    """Stop the shadow; its checkpoint is emptied, the record of what ran is kept."""
    info = shadow_info(store)
    if info is None or not info.active:
        raise NotFound("no shadow policy is running")
    stopped = ShadowInfo(
        info.policy, False, info.started_seq, info.started_at, stopped_seq=store.last_seq()
    )
    _save_info(store, stopped)
    store.save_checkpoint(SHADOW, 0, "", b"")
    return stopped


def since(cases: Iterable[dict[str, Any]], start: datetime | None) -> list[dict[str, Any]]:
    """Cases opened after ``start`` (all of them when it is None). Strictly after: what
    the log's newest event at the start opened was there before watching began."""
    if start is None:
        return list(cases)
    return [c for c in cases if parse_instant(c["opened_at"]) > start]


def shadow_diff(
    store: StorePort,
    include_history: bool = False,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
) -> dict[str, Any]:
    """Live cases against shadow cases, from when the shadow started (or all)."""
    session = ShadowSession.open(store)
    if session is None:
        raise NotFound("no shadow policy is running: unsnag shadow start --policy FILE")
    if session.rebuilt_from is not None:
        session.close()  # caught up with the log: save it for the next diff
    start = None if include_history else session.info.started_at
    live = since(store.list_cases(), start)
    shadow = since(session.cases(), start)
    report = compare(live, shadow, labels=LABELS, thresholds=thresholds)
    report["shadow"] = {
        **session.info.to_dict(),
        "log_seq": store.last_seq(),
        "since": _iso(start),
        "rebuilt_from_log": session.rebuilt_from,
    }
    return report
