"""Actions leave through the outbox and reach a real HTTP receiver exactly once.

The receiver is a real local server that misbehaves on purpose, chosen per request by a
seeded random source: it drops the connection halfway through reading the request; it
processes the action and then drops the connection before answering (the case that
tempts a sender to double-fire); it answers 503; or it answers 200. It remembers the
idempotency keys it has processed, as a well-behaved receiver does. Whatever happens,
every action must be processed once, none lost, and each outcome reported once.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import orjson
import pytest

from unsnag.connectors import Outcome, build_connectors, close_connectors
from unsnag.connectors.webhook import WebhookSender, body_of
from unsnag.dispatch import Dispatcher, backoff_s
from unsnag.errors import ConnectorError
from unsnag.policy.resolution import LogConnector, Resolution, WebhookConnector
from unsnag.resolve.events import outcome_event
from unsnag.resolve.model import OutboxItem
from unsnag.store import MemoryStore, StorePort, open_store
from unsnag.store.port import StoredAction

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
SECRET = "s3cret-for-tests"
SECRET_ENV = "UNSNAG_TEST_WEBHOOK_SECRET"

# --- the receiver -----------------------------------------------------------------------

DROP_MID_REQUEST = "drop mid-request"
DROP_AFTER_PROCESSING = "process, then drop"
UNAVAILABLE = "503"
OK = "200"
MISBEHAVING = {DROP_MID_REQUEST: 0.15, DROP_AFTER_PROCESSING: 0.15, UNAVAILABLE: 0.2, OK: 0.5}


def signature_is_valid(
    secret: bytes, headers: Mapping[str, str], body: bytes, tolerance_s: float = 300
) -> bool:
    """What a receiver runs (docs/resolution.md shows the same code)."""
    timestamp = headers.get("X-Unsnag-Timestamp", "")
    signature = headers.get("X-Unsnag-Signature", "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > tolerance_s:
        return False
    mac = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256)
    return hmac.compare_digest(f"sha256={mac.hexdigest()}", signature)


@dataclass
class Receiver:
    """The receiving system's memory: what it processed, and what it was sent."""

    seed: int = 7
    weights: dict[str, float] = field(default_factory=lambda: dict(MISBEHAVING))
    lock: threading.Lock = field(default_factory=threading.Lock)
    processed: Counter[str] = field(default_factory=Counter)
    first_body: dict[str, bytes] = field(default_factory=dict)
    repeats: Counter[str] = field(default_factory=Counter)
    repeat_bodies_differ: list[str] = field(default_factory=list)
    behaviours: Counter[str] = field(default_factory=Counter)
    requests: int = 0
    signed: int = 0
    bad_signatures: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def choose(self) -> str:
        with self.lock:
            self.requests += 1
            [behaviour] = self.rng.choices(list(self.weights), list(self.weights.values()))
            self.behaviours[behaviour] += 1
            return behaviour

    def check(self, headers: Mapping[str, str], body: bytes) -> None:
        valid = signature_is_valid(SECRET.encode(), headers, body)
        with self.lock:
            self.signed += 1
            self.bad_signatures += not valid

    def process(self, key: str, body: bytes) -> bool:
        """Apply the action unless its key was processed before; True when applied."""
        with self.lock:
            if key in self.processed:
                self.repeats[key] += 1
                if body != self.first_body[key]:
                    self.repeat_bodies_differ.append(key)
                return False
            self.processed[key] += 1
            self.first_body[key] = body
            return True


class Handler(BaseHTTPRequestHandler):
    server: ReceiverServer

    def do_POST(self) -> None:
        receiver = self.server.receiver
        length = int(self.headers["Content-Length"])
        if self.path == "/reject":
            self.rfile.read(length)
            return self._answer(400, b"unknown order SO-404")
        if self.path == "/slow":
            time.sleep(1.0)
            return self._kill()
        behaviour = receiver.choose()
        if behaviour == DROP_MID_REQUEST:
            self.rfile.read(length // 2)
            return self._kill()
        body = self.rfile.read(length)
        receiver.check(self.headers, body)
        if behaviour == UNAVAILABLE:
            return self._answer(503, b"try later")
        key = self.headers["Idempotency-Key"]
        fresh = receiver.process(key, body)
        if behaviour == DROP_AFTER_PROCESSING:
            return self._kill()
        self._answer(200, orjson.dumps({"key": key, "repeat": not fresh}))

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _kill(self) -> None:
        """Drop the connection without a word, as a crashing server would."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)
        self.connection.close()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


class ReceiverServer(ThreadingHTTPServer):
    daemon_threads = True
    receiver: Receiver


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    server = ReceiverServer(("127.0.0.1", 0), Handler)
    server.receiver = Receiver()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    yield server.receiver, f"http://{host!s}:{port}"
    server.shutdown()
    server.server_close()


# --- the sending side -------------------------------------------------------------------


class FakeClock:
    """Time that passes only when the dispatcher sleeps: a day of backoff in no time."""

    def __init__(self, start: datetime = T0 + timedelta(seconds=1)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def hook(url: str, **changes: Any) -> WebhookConnector:
    settings: dict[str, Any] = {
        "kind": "webhook",
        "url": url,
        "secret_env": SECRET_ENV,
        "timeout_s": 5,
        "max_attempts": 40,
        "backoff_s": 0.001,
        "max_backoff_s": 0.05,
    }
    return WebhookConnector(**(settings | changes))


def item(n: int, connector: str = "hook", kind: str = "release_hold") -> OutboxItem:
    return OutboxItem(
        key=f"C-{n % 17}.a{n}",
        case_id=f"C-{n % 17}",
        kind=kind,
        connector=connector,
        params={"order_id": f"SO-{1000 + n}", "note": "Zoë"},
        created_at=T0 + timedelta(milliseconds=n),
    )


@dataclass
class Run:
    store: StorePort
    clock: FakeClock
    dispatcher: Dispatcher
    reports: list[dict[str, Any]]


def dispatcher_for(
    store: StorePort, resolution: Resolution, report: Callable[[dict[str, Any]], None]
) -> tuple[Dispatcher, FakeClock]:
    clock = FakeClock()
    connectors = build_connectors(resolution, environ={SECRET_ENV: SECRET})
    dispatcher = Dispatcher(store, connectors, resolution, clock, report, sleep=clock.sleep)
    return dispatcher, clock


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest) -> Iterator[StorePort]:
    url = request.getfixturevalue("pg_url" if request.param == "postgres" else "sqlite_url")
    with open_store(url) as opened:
        yield opened


def outcomes(reports: list[dict[str, Any]], kind: str) -> Counter[str]:
    return Counter(r["data"]["key"] for r in reports if r["type"] == kind)


# --- the proof the issue asks for --------------------------------------------------------


def test_every_action_reaches_a_misbehaving_receiver_exactly_once(
    store: StorePort, receiver: tuple[Receiver, str]
) -> None:
    seen, url = receiver
    resolution = Resolution(
        connectors={"hook": hook(f"{url}/actions"), "strict": hook(f"{url}/reject")},
        routes={"*": "hook"},
    )
    items = [item(n) for n in range(200)]
    refused = item(999, connector="strict", kind="cancel_order")
    store.save_decisions([], [*items, refused], [])
    reports: list[dict[str, Any]] = []
    dispatcher, _ = dispatcher_for(store, resolution, reports.append)

    done = dispatcher.run_until_idle(max_seconds=3600)

    keys = {i.key for i in items}
    assert done.idle and done.delivered == 200 and done.failed == 1
    assert seen.processed == Counter(dict.fromkeys(keys, 1))  # each once, none lost
    assert set(seen.behaviours) == set(MISBEHAVING)  # every kind of trouble happened
    assert seen.repeats and not seen.repeat_bodies_differ  # repeats: same key, same bytes
    assert set(seen.repeats) <= keys
    delivered = store.list_actions(status="delivered")
    assert {a.key for a in delivered} == keys
    assert sum(a.attempts for a in delivered) == seen.requests  # no send went unseen
    assert outcomes(reports, "action.delivered") == Counter(dict.fromkeys(keys, 1))
    [failed] = store.list_actions(status="failed")
    assert failed.key == refused.key and failed.attempts == 1
    assert failed.last_error == "HTTP 400 Bad Request: unknown order SO-404"
    assert outcomes(reports, "action.failed") == Counter({refused.key: 1})
    [report] = [r for r in reports if r["type"] == "action.failed"]
    assert report["data"]["error"] == failed.last_error and report["subject"] == "C-13"
    assert seen.signed > 0 and seen.bad_signatures == 0


def test_a_dispatcher_that_dies_before_recording_an_outcome_loses_nothing(
    store: StorePort, receiver: tuple[Receiver, str]
) -> None:
    seen, url = receiver
    seen.weights = {OK: 1.0}
    resolution = Resolution(connectors={"hook": hook(f"{url}/actions")}, routes={"*": "hook"})
    store.save_decisions([], [item(1)], [])

    def event_log_down(_: dict[str, Any]) -> None:
        raise RuntimeError("event log unreachable")

    first, clock = dispatcher_for(store, resolution, event_log_down)
    with pytest.raises(RuntimeError):
        first.run_once()  # sent and processed, but neither reported nor marked
    assert seen.processed == Counter({item(1).key: 1})
    assert store.list_actions(status="pending")
    reports: list[dict[str, Any]] = []
    second, _ = dispatcher_for(store, resolution, reports.append)
    second.clock = clock
    assert second.run_once().claimed == 0  # still leased to the first
    clock.sleep(first.lease_s)
    assert second.run_once().delivered == 1
    assert seen.processed == Counter({item(1).key: 1}) and seen.repeats == Counter({item(1).key: 1})
    [report] = reports
    expected = outcome_event(item(1).key, "C-1", "release_hold", True, 2, clock(), "x")
    assert report["id"] == expected["id"]  # a second report would be the same event


def test_an_unanswered_request_times_out_and_is_retried(receiver: tuple[Receiver, str]) -> None:
    _, url = receiver
    sender = WebhookSender(hook(f"{url}/slow", timeout_s=0.2), environ={SECRET_ENV: SECRET})
    started = time.monotonic()
    outcome = sender.send(stored(item(1)))
    assert outcome.status == "retry" and "no answer within 0.2 s" in (outcome.detail or "")
    assert time.monotonic() - started < 0.9
    sender.close()


def test_a_closed_port_is_retried() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sender = WebhookSender(hook(f"http://127.0.0.1:{port}/x", secret_env=None))
    outcome = sender.send(stored(item(1)))
    assert outcome.status == "retry" and "ConnectError" in (outcome.detail or "")


# --- the webhook request, against a mock transport --------------------------------------


def stored(given: OutboxItem, attempts: int = 1) -> StoredAction:
    return StoredAction(
        key=given.key,
        case_id=given.case_id,
        kind=given.kind,
        connector=given.connector,
        params=given.params,
        created_at=given.created_at,
        requested_by=given.requested_by,
        status="pending",
        attempts=attempts,
        next_attempt_at=given.created_at,
    )


def mock_sender(
    answer: Callable[[httpx.Request], httpx.Response], **changes: Any
) -> tuple[WebhookSender, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(request)

    client = httpx.Client(transport=httpx.MockTransport(handle))
    config = hook("https://erp.example/hooks", **changes)
    environ = {SECRET_ENV: SECRET}
    sender = WebhookSender(config, client=client, environ=environ, wall_clock=lambda: 1778000000)
    return sender, seen


def test_the_request_carries_the_action_its_key_and_a_signature() -> None:
    sender, seen = mock_sender(lambda _: httpx.Response(200, text="ok"))
    action = stored(item(3))
    assert sender.send(action) == Outcome.delivered("HTTP 200 OK: ok")
    [request] = seen
    assert request.method == "POST" and str(request.url) == "https://erp.example/hooks"
    assert request.headers["Idempotency-Key"] == action.key
    assert request.headers["X-Unsnag-Timestamp"] == "1778000000"
    assert request.headers["Content-Type"] == "application/json"
    assert orjson.loads(request.content) == {
        "key": action.key,
        "case_id": "C-3",
        "kind": "release_hold",
        "params": {"order_id": "SO-1003", "note": "Zoë"},
        "requested_by": "unsnag",
        "created_at": "2026-05-04T08:00:00.003000Z",
    }
    mac = hmac.new(SECRET.encode(), b"1778000000." + request.content, hashlib.sha256)
    assert request.headers["X-Unsnag-Signature"] == f"sha256={mac.hexdigest()}"
    assert body_of(action) == request.content  # the same bytes on every attempt


def test_without_a_secret_nothing_is_signed() -> None:
    sender, seen = mock_sender(lambda _: httpx.Response(204), secret_env=None)
    assert sender.send(stored(item(1))).status == "delivered"
    assert "X-Unsnag-Signature" not in seen[0].headers


def test_a_secret_that_is_not_set_is_an_error_at_start_up() -> None:
    with pytest.raises(ConnectorError, match=SECRET_ENV):
        WebhookSender(hook("https://erp.example/hooks"), environ={})


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        (503, {}, Outcome.retry("HTTP 503 Service Unavailable: nope")),
        (500, {}, Outcome.retry("HTTP 500 Internal Server Error: nope")),
        (408, {}, Outcome.retry("HTTP 408 Request Timeout: nope")),
        (429, {"Retry-After": "30"}, Outcome.retry("HTTP 429 Too Many Requests: nope", 30.0)),
        (
            503,
            {"Retry-After": "Tue, 05 May 2026 16:53:50 GMT"},
            Outcome.retry("HTTP 503 Service Unavailable: nope", 30.0),
        ),
        (400, {}, Outcome.fail("HTTP 400 Bad Request: nope")),
        (404, {}, Outcome.fail("HTTP 404 Not Found: nope")),
        (409, {}, Outcome.fail("HTTP 409 Conflict: nope")),
        (
            301,
            {"Location": "https://elsewhere/"},
            Outcome.fail(
                "HTTP 301 Moved Permanently: nope (redirect to https://elsewhere/ not followed)"
            ),
        ),
    ],
)
def test_only_what_may_pass_is_retried(
    status: int, headers: dict[str, str], expected: Outcome
) -> None:
    sender, _ = mock_sender(lambda _: httpx.Response(status, headers=headers, text="nope"))
    assert sender.send(stored(item(1))) == expected


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (httpx.ReadTimeout("slow"), "retry"),
        (httpx.ConnectError("refused"), "retry"),
        (httpx.RemoteProtocolError("Server disconnected"), "retry"),
        (httpx.UnsupportedProtocol("ftp"), "fail"),
    ],
)
def test_network_trouble_is_retried(error: Exception, status: str) -> None:
    def broken(_: httpx.Request) -> httpx.Response:
        raise error

    sender, _ = mock_sender(broken)
    assert sender.send(stored(item(1))).status == status


# --- the dispatcher's rules, on the in-memory store -------------------------------------


class Scripted:
    """A connector that answers from a script, one outcome per attempt."""

    def __init__(self, *script: Outcome | Exception) -> None:
        self.script = list(script)
        self.sent: list[StoredAction] = []

    def send(self, action: StoredAction) -> Outcome:
        self.sent.append(action)
        answer = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def scripted(
    connector: Scripted, jitter: Callable[[], float] | None = None, **changes: Any
) -> tuple[Dispatcher, MemoryStore, FakeClock, list[dict[str, Any]]]:
    config = hook("https://x.example", secret_env=None, backoff_s=2, max_backoff_s=10)
    resolution = Resolution(connectors={"hook": config.model_copy(update=changes)})
    store, clock, reports = MemoryStore(), FakeClock(), []
    store.save_decisions([], [item(1)], [])
    dispatcher = Dispatcher(
        store,
        {"hook": connector},
        resolution,
        clock,
        reports.append,
        sleep=clock.sleep,
        jitter=jitter,
    )
    return dispatcher, store, clock, reports


def test_retries_back_off_exponentially_up_to_the_cap_then_fail() -> None:
    connector = Scripted(Outcome.retry("HTTP 503"))
    dispatcher, store, clock, reports = scripted(connector, max_attempts=6)
    delays = []
    while dispatcher.run_once().claimed:
        [pending] = store.list_actions(status="pending") or [None]
        if pending is None:
            break
        delays.append((pending.next_attempt_at - clock()).total_seconds())
        clock.now = pending.next_attempt_at
    assert delays == [2, 4, 8, 10, 10]
    assert [backoff_s(n, 2, 10) for n in range(1, 6)] == delays
    [failed] = store.list_actions(status="failed")
    assert failed.attempts == 6 and failed.last_error == "gave up after 6 attempts: HTTP 503"
    assert [r["type"] for r in reports] == ["action.failed"]
    assert reports[0]["data"]["attempts"] == 6


def test_a_refusal_fails_at_once_and_is_reported_once() -> None:
    dispatcher, store, _, reports = scripted(Scripted(Outcome.fail("HTTP 422: bad order")))
    done = dispatcher.run_once()
    assert (done.claimed, done.failed) == (1, 1)
    assert store.list_actions()[0].last_error == "HTTP 422: bad order"
    assert [(r["type"], r["data"]["error"]) for r in reports] == [
        ("action.failed", "HTTP 422: bad order")
    ]


def test_retry_after_is_honoured_up_to_the_cap() -> None:
    dispatcher, store, clock, _ = scripted(Scripted(Outcome.retry("busy", 7.0)))
    dispatcher.run_once()
    assert store.list_actions()[0].next_attempt_at == clock() + timedelta(seconds=7)
    dispatcher, store, clock, _ = scripted(Scripted(Outcome.retry("busy", 3600.0)))
    dispatcher.run_once()
    assert store.list_actions()[0].next_attempt_at == clock() + timedelta(seconds=10)


def test_jitter_scales_the_backoff() -> None:
    dispatcher, store, clock, _ = scripted(Scripted(Outcome.retry("busy")), jitter=lambda: 0.25)
    dispatcher.run_once()
    assert store.list_actions()[0].next_attempt_at == clock() + timedelta(seconds=0.5)


def test_the_outcome_is_reported_before_the_action_is_marked() -> None:
    dispatcher, store, _, _ = scripted(Scripted(Outcome.delivered("HTTP 200")))
    statuses: list[str] = []
    dispatcher.report = lambda _: statuses.append(store.list_actions()[0].status)
    dispatcher.run_once()
    assert statuses == ["pending"] and store.list_actions()[0].status == "delivered"
    assert store.list_actions()[0].response == "HTTP 200"


def test_a_connector_that_raises_is_retried_not_lost() -> None:
    connector = Scripted(ValueError("bug"), Outcome.delivered("ok"))
    dispatcher, _, _, reports = scripted(connector)
    assert dispatcher.run_until_idle(max_seconds=60).delivered == 1
    assert [r["type"] for r in reports] == ["action.delivered"] and len(connector.sent) == 2


def test_an_action_for_an_unknown_connector_fails() -> None:
    dispatcher, store, _, reports = scripted(Scripted(Outcome.delivered()))
    dispatcher.connectors = {}
    dispatcher.run_once()
    [failed] = store.list_actions(status="failed")
    assert failed.last_error == "no connector named 'hook'" and len(reports) == 1


def test_running_until_idle_stops_at_the_deadline() -> None:
    dispatcher, store, clock, _ = scripted(Scripted(Outcome.retry("busy")), max_attempts=99)
    start = clock()
    done = dispatcher.run_until_idle(max_seconds=30)
    assert not done.idle and clock() == start + timedelta(seconds=30)
    assert done.retried == 5  # at 0, 2, 6, 14 and 24 s (10 s cap); the next at 34 s
    assert store.list_actions()[0].status == "pending"


def test_the_log_connector_delivers_everything() -> None:
    resolution = Resolution(connectors={"log": LogConnector(kind="log")})
    store, clock, reports = MemoryStore(), FakeClock(), []
    store.save_decisions([], [item(n, connector="log") for n in range(3)], [])
    connectors = build_connectors(resolution)
    dispatcher = Dispatcher(store, connectors, resolution, clock, reports.append)
    assert dispatcher.run_until_idle(max_seconds=0).delivered == 3
    assert [a.key for a in connectors["log"].sent] == [item(n).key for n in range(3)]  # type: ignore[attr-defined]
    close_connectors(connectors)
