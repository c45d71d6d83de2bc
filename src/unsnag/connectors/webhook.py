"""The generic HTTP webhook connector: one signed JSON POST per action.

The request::

    POST <url>
    Content-Type: application/json
    Idempotency-Key: <outbox key>
    X-Unsnag-Timestamp: <unix seconds>
    X-Unsnag-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">   (with a secret)

    {"key": ..., "case_id": ..., "kind": ..., "params": {...},
     "requested_by": ..., "created_at": "2026-05-04T08:00:00Z"}

The body of a given action is the same bytes on every attempt, and its key never
changes, so a receiver that remembers keys it has processed drops repeats: every action
is processed exactly once even though the network makes us send some twice.

2xx is delivered. 408, 429, 5xx, timeouts and broken connections are retried (a
``Retry-After`` in seconds or as a date is passed on to the dispatcher). Any other
status — a 4xx is the receiver refusing this request on purpose, a 3xx a URL that moved
— fails at once with the status and the start of the response body.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from collections.abc import Callable, Mapping
from datetime import UTC
from email.utils import parsedate_to_datetime

import httpx
import orjson

from unsnag.connectors.base import Outcome, clip
from unsnag.errors import ConnectorError
from unsnag.policy.resolution import WebhookConnector
from unsnag.store.port import StoredAction

RETRYABLE = frozenset({408, 429})
USER_AGENT = "unsnag-webhook/1"


def body_of(action: StoredAction) -> bytes:
    """The JSON body for ``action``: the same bytes on every attempt."""
    document = {
        "key": action.key,
        "case_id": action.case_id,
        "kind": action.kind,
        "params": action.params,
        "requested_by": action.requested_by,
        "created_at": action.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
    }
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """The ``X-Unsnag-Signature`` value: ``sha256=`` + hex HMAC of ``timestamp.body``."""
    digest = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class WebhookSender:
    """Sends actions to one URL. The secret is read from the environment once, here."""

    def __init__(
        self,
        config: WebhookConnector,
        *,
        client: httpx.Client | None = None,
        environ: Mapping[str, str] | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._url = config.url
        self._secret = _secret(config, os.environ if environ is None else environ)
        self._client = client or httpx.Client(timeout=config.timeout_s, follow_redirects=False)
        self._timeout = config.timeout_s
        self._wall_clock = wall_clock

    def send(self, action: StoredAction) -> Outcome:
        body = body_of(action)
        try:
            response = self._client.post(
                self._url, content=body, headers=self._headers(action.key, body)
            )
        except httpx.TimeoutException as exc:
            return Outcome.retry(f"no answer within {self._timeout:g} s ({_name(exc)})")
        except httpx.UnsupportedProtocol as exc:
            return Outcome.fail(f"cannot send to {self._url}: {exc}")
        except httpx.TransportError as exc:
            return Outcome.retry(f"connection failed ({_name(exc)}): {exc}")
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            return Outcome.fail(f"cannot send to {self._url}: {exc}")
        return self._judge(response)

    def _headers(self, key: str, body: bytes) -> dict[str, str]:
        timestamp = str(int(self._wall_clock()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "Idempotency-Key": key,
            "X-Unsnag-Timestamp": timestamp,
        }
        if self._secret is not None:
            headers["X-Unsnag-Signature"] = sign(self._secret, timestamp, body)
        return headers

    def _judge(self, response: httpx.Response) -> Outcome:
        status = response.status_code
        said = f"HTTP {status} {response.reason_phrase}".rstrip()
        text = clip(response.text.strip())
        if 200 <= status < 300:
            return Outcome.delivered(f"{said}: {text}" if text else said)
        error = f"{said}: {text}" if text else said
        if status in RETRYABLE or status >= 500:
            after = _retry_after(response.headers.get("Retry-After"), self._wall_clock())
            return Outcome.retry(error, after)
        if 300 <= status < 400:
            error += f" (redirect to {response.headers.get('Location', '?')} not followed)"
        return Outcome.fail(error)

    def close(self) -> None:
        self._client.close()


def _secret(config: WebhookConnector, environ: Mapping[str, str]) -> bytes | None:
    if config.secret_env is None:
        return None
    value = environ.get(config.secret_env)
    if not value:
        raise ConnectorError(
            f"webhook {config.url}: environment variable {config.secret_env} "
            "(the signing secret) is not set"
        )
    return value.encode()


def _retry_after(value: str | None, now: float) -> float | None:
    """Seconds from a ``Retry-After`` header (delta seconds or an HTTP date)."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


def _name(exc: Exception) -> str:
    return type(exc).__name__
