"""What every request passes through: size limits, security headers, metrics, and the
per-key rate limiter.

The middleware is plain ASGI (no ``BaseHTTPMiddleware``): it wraps ``receive`` to count
body bytes — refusing a body over the limit with 413 even when ``Content-Length`` lies or
is absent — and ``send`` to add the security headers and time the response.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson
from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from unsnag.api.problems import PROBLEM_JSON, TYPE_BASE

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy", CSP.encode()),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
]
NO_STORE = (b"cache-control", b"no-store")

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    """The Prometheus metrics of one app (its own registry, so tests can make many)."""

    def __init__(self) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]  # *_created: noise
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "unsnag_http_requests",
            "HTTP requests by route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "unsnag_http_request_duration_seconds",
            "Server time per request",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.events = Counter(
            "unsnag_events_received",
            "Inbound events by verdict (accepted, duplicate, refused)",
            ["status"],
            registry=self.registry,
        )
        self.rejected = Counter(
            "unsnag_requests_refused",
            "Requests refused before reaching a route, by reason",
            ["reason"],
            registry=self.registry,
        )
        self.commands = Counter(
            "unsnag_case_commands",
            "Case commands by command and result",
            ["command", "result"],
            registry=self.registry,
        )

    def add(self, collector: Collector) -> None:
        self.registry.register(collector)


class LiveCollector(Collector):
    """Gauges read at scrape time: open cases by type, dead letters, action outcomes."""

    def __init__(self, read: Callable[[], dict[str, Any]]) -> None:
        self.read = read

    def collect(self) -> Any:
        values = self.read()
        open_cases = GaugeMetricFamily("unsnag_cases_open", "Open cases by type", labels=["type"])
        for case_type, count in sorted(values.get("open_by_type", {}).items()):
            open_cases.add_metric([case_type], count)
        yield open_cases
        dead = GaugeMetricFamily("unsnag_dead_letters", "Dead letters kept")
        dead.add_metric([], values.get("dead_letters", 0))
        yield dead
        outcomes = GaugeMetricFamily(
            "unsnag_action_outcomes", "Outbound action outcomes since start", labels=["outcome"]
        )
        for outcome, count in sorted(values.get("actions", {}).items()):
            outcomes.add_metric([outcome], count)
        yield outcomes
        seq = GaugeMetricFamily(
            "unsnag_event_log_last_seq", "Sequence number of the newest event in the log"
        )
        seq.add_metric([], values.get("last_seq", 0))
        yield seq


class RateLimiter:
    """A token bucket per caller: ``per_minute`` sustained, ``burst`` at once."""

    def __init__(self, per_minute: int, burst: int) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, who: str, cost: float = 1.0) -> float:
        """0 if allowed; else the seconds until it would be."""
        now = time.monotonic()
        with self._lock:
            tokens, at = self._buckets.get(who, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            if tokens >= cost:
                self._buckets[who] = (tokens - cost, now)
                return 0.0
            self._buckets[who] = (tokens, now)
            if len(self._buckets) > 100_000:
                self._buckets.clear()
            return (cost - tokens) / self.rate


def _problem_body(status: int, slug: str, title: str, detail: str, path: str) -> bytes:
    return orjson.dumps(
        {
            "type": TYPE_BASE + slug,
            "title": title,
            "status": status,
            "detail": detail,
            "instance": path,
        }
    )


class TooLarge(Exception):
    pass


class EdgeMiddleware:
    """Body size limit, security headers, request metrics."""

    def __init__(self, app: ASGIApp, metrics: Metrics, max_body_bytes: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        started = time.perf_counter()
        status_seen: list[int] = [0]
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > self.max_body
            except ValueError:
                too_big = False
            if too_big:
                self.metrics.rejected.labels("too_large").inc()
                await self._reject(send, 413, path, declared.decode())
                return
        received = [0]

        async def limited_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                received[0] += len(message.get("body", b""))
                if received[0] > self.max_body:
                    raise TooLarge
            return message

        sensitive = not path.startswith("/static/")

        async def wrapped_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_seen[0] = message["status"]
                extra = list(SECURITY_HEADERS)
                names = {name.lower() for name, _ in message.get("headers", [])}
                if sensitive and b"cache-control" not in names:
                    extra.append(NO_STORE)
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        try:
            await self.app(scope, limited_receive, wrapped_send)
        except TooLarge:
            self.metrics.rejected.labels("too_large").inc()
            if not status_seen[0]:
                await self._reject(send, 413, path, None)
            return
        finally:
            route = scope.get("route")
            label = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "GET")
            elapsed = time.perf_counter() - started
            if status_seen[0]:
                self.metrics.requests.labels(method, label, str(status_seen[0])).inc()
                self.metrics.latency.labels(method, label).observe(elapsed)

    async def _reject(self, send: Send, status: int, path: str, declared: str | None) -> None:
        detail = (
            f"request body of {declared} bytes is over the limit of {self.max_body}"
            if declared
            else f"request body is over the limit of {self.max_body} bytes"
        )
        body = _problem_body(status, "too-large", "content too large", detail, path)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", PROBLEM_JSON.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                    *SECURITY_HEADERS,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def retry_after(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
