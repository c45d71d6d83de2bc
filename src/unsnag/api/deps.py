"""The services a route needs, and who is calling (``Annotated`` aliases for routes)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool

from unsnag.api.analytics import Analytics
from unsnag.api.auth import PREFIX, KeyRing, OidcVerifier, Principal, allowed
from unsnag.api.edge import Metrics, RateLimiter, retry_after
from unsnag.api.problems import ApiProblem
from unsnag.runtime import Runtime
from unsnag.settings import Settings


@dataclass
class Services:
    """Everything one app serves from: built once by :func:`unsnag.api.app.create_app`."""

    runtime: Runtime
    settings: Settings
    keys: KeyRing
    oidc: OidcVerifier | None
    limiter: RateLimiter
    metrics: Metrics
    analytics: Analytics
    extra: dict[str, Any] = field(default_factory=dict)


async def services(request: Request) -> Services:
    svc: Services = request.app.state.unsnag
    return svc


Svc = Annotated[Services, Depends(services)]

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="unsnag"'}


def presented_token(request: Request) -> str | None:
    """The key or token from ``Authorization: Bearer`` or ``X-API-Key``."""
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise ApiProblem(
                401, "Authorization must be 'Bearer <key or token>'", headers=CHALLENGE
            )
        return value.strip()
    key = request.headers.get("x-api-key")
    return key.strip() if key else None


def check_token(svc: Services, token: str) -> Principal | None:
    if token.startswith(PREFIX):
        return svc.keys.check(token)
    if svc.oidc is not None:
        return svc.oidc.check(token)
    return None


def limit(svc: Services, who: str) -> None:
    """Spend one request of ``who``'s rate limit, or 429."""
    wait = svc.limiter.take(who)
    if wait > 0:
        svc.metrics.rejected.labels("rate_limited").inc()
        per_minute = svc.settings.rate_limit_per_minute
        raise ApiProblem(
            429,
            f"rate limit of {per_minute} requests a minute reached for "
            f"{who}; retry in {retry_after(wait)} s",
            headers={"Retry-After": retry_after(wait)},
        )


async def authenticate(request: Request, svc: Svc) -> Principal:
    """The caller, from their key or token; 401 without a valid one, 429 over the limit.

    Async, so FastAPI runs it on the event loop rather than handing it to a worker
    thread (a thread hop per dependency cost ~0.5 ms a request); the store is read —
    in a worker thread — only when the key is not fresh in the key ring's cache."""
    return (
        await run_in_threadpool(_authenticate, request, svc)
        if _needs_store(request, svc)
        else _authenticate(request, svc)
    )


def _needs_store(request: Request, svc: Services) -> bool:
    try:
        token = presented_token(request)
    except ApiProblem:
        return False
    if token is None:
        return False
    return not token.startswith(PREFIX) or not svc.keys.knows(token)


def _authenticate(request: Request, svc: Services) -> Principal:
    token = presented_token(request)
    if token is None:
        limit(svc, f"ip:{request.client.host if request.client else '?'}")
        raise ApiProblem(
            401,
            "no credentials: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
            headers=CHALLENGE,
        )
    principal = check_token(svc, token)
    if principal is None:
        svc.metrics.rejected.labels("bad_credentials").inc()
        limit(svc, f"ip:{request.client.host if request.client else '?'}")
        raise ApiProblem(
            401,
            "the key or token is not valid (unknown, revoked, expired or malformed)",
            headers=CHALLENGE,
        )
    limit(svc, principal.id)
    request.state.principal = principal
    return principal


def requires(permission: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency: the caller, if their role grants ``permission``; else 403."""

    async def dependency(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if not allowed(principal, permission):
            raise ApiProblem(403, f"role {principal.role} may not {DESCRIBE[permission]}")
        return principal

    return dependency


DESCRIBE = {
    "read": "read cases and reports",
    "work": "work cases",
    "ingest": "send events",
    "dead_letters": "work dead letters",
    "admin": "administer",
}
