"""Who is signed in to the dashboard, and the tokens that keep forms honest.

A person signs in with an API key once; the dashboard then keeps only the key's *id* in a
signed (HMAC-SHA256), HttpOnly, ``SameSite=Strict`` cookie and looks the key up again on
every request, so revoking the key ends the session at once. Each session has a random
nonce; its CSRF token is an HMAC of that nonce, sent back in a hidden ``csrf`` field or
the ``X-CSRF-Token`` header (htmx). The sign-in form itself is covered by a short-lived
pre-session cookie the same way. Flash messages ride in a signed cookie for one redirect.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

import orjson

from unsnag.api.auth import Principal
from unsnag.errors import NotFound
from unsnag.store.port import StorePort

SESSION_COOKIE = "unsnag_session"
PRE_COOKIE = "unsnag_pre"
FLASH_COOKIE = "unsnag_flash"
SESSION_MAX_AGE_S = 12 * 3600
PRE_MAX_AGE_S = 3600
FLASH_MAX_AGE_S = 120


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    """Signs small JSON documents for cookies (``payload.mac``), with an issue time."""

    def __init__(self, secret: str | None) -> None:
        raw = secret.encode() if secret else secrets.token_bytes(32)
        self._key = hashlib.sha256(b"unsnag-web|" + raw).digest()

    def mac(self, purpose: str, text: str) -> str:
        digest = hmac.new(self._key, f"{purpose}|{text}".encode(), hashlib.sha256).digest()
        return _b64(digest)

    def sign(self, purpose: str, payload: dict[str, Any]) -> str:
        body = _b64(orjson.dumps({**payload, "iat": int(time.time())}))
        return f"{body}.{self.mac(purpose, body)}"

    def unsign(self, purpose: str, value: str | None, max_age_s: float) -> dict[str, Any] | None:
        """The payload if the signature holds and it is younger than ``max_age_s``."""
        if not value or "." not in value:
            return None
        body, _, mac = value.rpartition(".")
        if not hmac.compare_digest(mac, self.mac(purpose, body)):
            return None
        try:
            payload = orjson.loads(_unb64(body))
        except (ValueError, orjson.JSONDecodeError):
            return None
        if not isinstance(payload, dict) or time.time() - payload.get("iat", 0) > max_age_s:
            return None
        return payload

    def csrf(self, nonce: str) -> str:
        return self.mac("csrf", nonce)

    def csrf_ok(self, nonce: str, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf(nonce), str(token))


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in person: their principal and this session's CSRF token."""

    principal: Principal
    nonce: str
    csrf: str


def new_session_cookie(signer: Signer, key_id: str) -> str:
    return signer.sign("session", {"k": key_id, "n": secrets.token_urlsafe(16)})


def principal_of_key(store: StorePort, key_id: str) -> Principal | None:
    """The key's principal if it exists and is not revoked (looked up every request)."""
    try:
        record = store.get_api_key(key_id)
    except NotFound:
        return None
    if record.revoked_at is not None:
        return None
    name = record.name or f"key:{record.id}"
    return Principal(f"key:{record.id}", record.role, record.team, name, "key")


def read_session(signer: Signer, store: StorePort, cookie: str | None) -> Session | None:
    payload = signer.unsign("session", cookie, SESSION_MAX_AGE_S)
    if payload is None or not isinstance(payload.get("k"), str):
        return None
    principal = principal_of_key(store, payload["k"])
    if principal is None:
        return None
    nonce = str(payload.get("n", ""))
    return Session(principal, nonce, signer.csrf(nonce))


def new_pre_cookie(signer: Signer) -> tuple[str, str]:
    """A pre-session cookie for the sign-in form, and the form's CSRF token."""
    nonce = secrets.token_urlsafe(16)
    return signer.sign("pre", {"n": nonce}), signer.csrf(nonce)


def pre_nonce(signer: Signer, cookie: str | None) -> str | None:
    payload = signer.unsign("pre", cookie, PRE_MAX_AGE_S)
    return str(payload["n"]) if payload and "n" in payload else None


def flash_cookie(signer: Signer, kind: str, text: str) -> str:
    return signer.sign("flash", {"kind": kind, "text": text[:1000]})


def read_flash(signer: Signer, cookie: str | None) -> dict[str, str] | None:
    payload = signer.unsign("flash", cookie, FLASH_MAX_AGE_S)
    if payload is None:
        return None
    return {"kind": str(payload.get("kind", "info")), "text": str(payload.get("text", ""))}
