"""Who is calling, and what they may do.

**API keys** look like ``usk_<id>_<secret>``: the id is public (it names the key in logs,
rate limits and the audit trail), the secret is shown once when the key is made and only
its SHA-256 is stored. A key is sent as ``Authorization: Bearer <key>`` or
``X-API-Key: <key>``. **OIDC** bearer tokens (JWTs) are accepted when the settings name a
JWKS: the signature, issuer, audience and expiry are checked, and the role and team come
from claims (``unsnag_role``, ``unsnag_team`` by default). The dashboard signs people in
with a key and keeps them in a signed, HttpOnly session cookie (see ``web``).

**Roles**: ``viewer`` reads; ``integrator`` pushes events and works dead letters; every
role of the policy's ``resolution.roles`` that is not read-only works cases (``agent``,
the approver roles ``planner``, ``credit_analyst``… whose approvals the policy's rules
name, the escalation roles); ``admin`` does everything. A principal with a team works only
that team's cases. Which approvals a role may give is the policy's business, checked by
the same code the CLI uses (:mod:`unsnag.resolve.commands`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from unsnag.errors import Conflict, NotFound
from unsnag.policy import Policy
from unsnag.store.port import ApiKey, StorePort

PREFIX = "usk_"
VIEWER, INTEGRATOR, ADMIN = "viewer", "integrator", "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller."""

    id: str
    """``key:<id>`` for an API key, ``oidc:<sub>`` for a token."""
    role: str
    team: str | None = None
    name: str | None = None
    via: str = "key"

    @property
    def actor(self) -> str:
        """The name recorded in the log and the audit trail for this caller's commands."""
        return self.name or self.id

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "role": self.role,
            "team": self.team,
            "name": self.name,
            "via": self.via,
        }


def known_roles(policy: Policy) -> list[str]:
    """The roles a key may be given: the policy's, plus ``integrator``."""
    return sorted({*policy.resolution.roles, VIEWER, INTEGRATOR, ADMIN})


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(
    store: StorePort,
    policy: Policy,
    role: str,
    team: str | None = None,
    name: str | None = None,
    now: datetime | None = None,
) -> tuple[ApiKey, str]:
    """Make a key; returns the stored record and the token (shown once, never stored)."""
    roles = known_roles(policy)
    if role not in roles:
        raise Conflict(f"unknown role {role!r}; known: {', '.join(roles)}")
    teams = sorted(policy.teams)
    if team is not None and team not in teams:
        raise Conflict(f"unknown team {team!r}; known: {', '.join(teams)}")
    key_id = "k" + secrets.token_hex(5)
    secret = secrets.token_urlsafe(32)
    record = ApiKey(key_id, hash_secret(secret), role, team, name, now or datetime.now(UTC))
    store.add_api_key(record)
    return record, f"{PREFIX}{key_id}_{secret}"


def split_token(token: str) -> tuple[str, str] | None:
    """``(id, secret)`` of an API key token, or None if it does not look like one."""
    if not token.startswith(PREFIX):
        return None
    rest = token[len(PREFIX) :]
    key_id, sep, secret = rest.partition("_")
    if not sep or not key_id or not secret:
        return None
    return key_id, secret


class KeyRing:
    """Checks API keys against the store, remembering answers for a few seconds (a
    revoked key stops working within ``ttl_s``)."""

    def __init__(self, store: StorePort, ttl_s: float = 10.0) -> None:
        self.store = store
        self.ttl_s = ttl_s
        self._cache: dict[str, tuple[float, ApiKey | None]] = {}
        self._lock = threading.Lock()

    def _lookup(self, key_id: str) -> ApiKey | None:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key_id)
        if hit is not None and now - hit[0] < self.ttl_s:
            return hit[1]
        try:
            record: ApiKey | None = self.store.get_api_key(key_id)
        except NotFound:
            record = None
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key_id] = (now, record)
        return record

    def knows(self, token: str) -> bool:
        """Whether checking ``token`` needs no store read (its key id is fresh in the
        cache, or the token is malformed)."""
        parts = split_token(token)
        if parts is None:
            return True
        with self._lock:
            hit = self._cache.get(parts[0])
        return hit is not None and time.monotonic() - hit[0] < self.ttl_s

    def check(self, token: str) -> Principal | None:
        """The principal of a valid, unrevoked key; None otherwise."""
        parts = split_token(token)
        if parts is None:
            return None
        record = self._lookup(parts[0])
        if record is None or record.revoked_at is not None:
            return None
        if not hmac.compare_digest(record.hash, hash_secret(parts[1])):
            return None
        return Principal(
            f"key:{record.id}", record.role, record.team, record.name or f"key:{record.id}", "key"
        )

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()


class OidcVerifier:
    """Verifies OIDC bearer tokens (JWTs) against a JWKS (fetched and cached by PyJWT)."""

    def __init__(
        self,
        jwks_url: str,
        issuer: str | None,
        audience: str | None,
        role_claim: str = "unsnag_role",
        team_claim: str = "unsnag_team",
        default_role: str | None = None,
    ) -> None:
        import jwt

        self._jwt = jwt
        self.client = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=300)
        self.issuer = issuer
        self.audience = audience
        self.role_claim = role_claim
        self.team_claim = team_claim
        self.default_role = default_role

    def check(self, token: str) -> Principal | None:
        jwt = self._jwt
        try:
            key = self.client.get_signing_key_from_jwt(token)
            claims = jwt.decode(
                token,
                key.key,
                algorithms=["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"],
                issuer=self.issuer,
                audience=self.audience,
                options={"require": ["exp", "sub"], "verify_aud": self.audience is not None},
            )
        except (jwt.PyJWTError, jwt.PyJWKClientError, ValueError):
            return None
        role = claims.get(self.role_claim) or self.default_role
        if not isinstance(role, str) or not role:
            return None
        team = claims.get(self.team_claim)
        name = claims.get("preferred_username") or claims.get("email") or claims["sub"]
        return Principal(
            f"oidc:{claims['sub']}",
            role,
            team if isinstance(team, str) else None,
            str(name),
            "oidc",
        )


# --- what a role may do -------------------------------------------------------------------

READ, WORK, INGEST, DEAD_LETTERS, ADMINISTER = "read", "work", "ingest", "dead_letters", "admin"


def allowed(principal: Principal, permission: str) -> bool:
    """Whether the principal's role grants ``permission``."""
    role = principal.role
    if role == ADMIN:
        return True
    if permission == READ:
        return role != INTEGRATOR
    if permission in (INGEST, DEAD_LETTERS):
        return role == INTEGRATOR
    if permission == WORK:
        return role not in (VIEWER, INTEGRATOR)
    return False


def may_work_case(principal: Principal, case: dict[str, Any]) -> str | None:
    """None if the principal may work the case; else the reason it may not."""
    if not allowed(principal, WORK):
        return f"role {principal.role} cannot work cases"
    if principal.team is not None and principal.role != ADMIN:
        owner = case.get("owner_team")
        if owner != principal.team:
            return f"case {case.get('id')} belongs to team {owner}, not {principal.team}"
    return None
