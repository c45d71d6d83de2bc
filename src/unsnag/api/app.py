"""The composition of ``unsnag serve``: the /v1 API, the dashboard, health and metrics.

One :class:`~unsnag.runtime.Runtime` (the engine in memory) serves every request; the
app is built around it, so tests build apps over a store of their own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from unsnag import __version__
from unsnag.api import problems
from unsnag.api.analytics import Analytics
from unsnag.api.auth import KeyRing, OidcVerifier
from unsnag.api.deps import Services, authenticate
from unsnag.api.edge import EdgeMiddleware, LiveCollector, Metrics, RateLimiter
from unsnag.api.v1 import router
from unsnag.runtime import Runtime
from unsnag.settings import Settings

DESCRIPTION = """\
The exception control tower's API: send events in, work the cases, read the numbers.

Authenticate with an API key (`unsnag keys create --role R [--team T]`) sent as
`Authorization: Bearer <key>` or `X-API-Key: <key>`, or with an OIDC bearer token when the
deployment configures a JWKS. Every error is an RFC 9457 problem
(`application/problem+json`).
"""


def create_app(
    runtime: Runtime,
    settings: Settings,
    *,
    web: bool = True,
    start_background: bool = False,
    analytics_max_age_s: float | None = None,
) -> FastAPI:
    """The app over ``runtime``. ``start_background`` runs the runtime's dispatcher for
    the app's lifetime (``unsnag serve`` does; tests drive it themselves)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if start_background:
            runtime.start()
        yield

    app = FastAPI(
        title="unsnag",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/v1/openapi.json",
        docs_url=None,  # Swagger UI and ReDoc load their assets from a CDN: not served
        redoc_url=None,
        lifespan=lifespan,
    )
    metrics = Metrics()
    oidc = None
    if settings.oidc_jwks_url:
        oidc = OidcVerifier(
            settings.oidc_jwks_url,
            settings.oidc_issuer,
            settings.oidc_audience,
            settings.oidc_role_claim,
            settings.oidc_team_claim,
        )
    svc = Services(
        runtime=runtime,
        settings=settings,
        keys=KeyRing(runtime.store),
        oidc=oidc,
        limiter=RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst),
        metrics=metrics,
        analytics=Analytics(
            runtime.store,
            runtime.policy,
            lambda: runtime.changes,
            settings.analytics_max_age_s if analytics_max_age_s is None else analytics_max_age_s,
        ),
    )
    app.state.unsnag = svc
    metrics.add(LiveCollector(lambda: _live(svc)))
    problems.install(app)
    app.include_router(router)
    _ops(app, svc)
    if web:
        from unsnag.web import mount

        mount(app, svc)
    app.add_middleware(EdgeMiddleware, metrics=metrics, max_body_bytes=settings.max_body_bytes)
    return app


def _live(svc: Services) -> dict[str, Any]:
    store = svc.runtime.store
    report = svc.runtime.dispatched
    return {
        "open_by_type": store.case_counts("type", ("open", "in_progress")),
        "dead_letters": store.dead_letter_count(),
        "actions": {
            "delivered": report.delivered,
            "retried": report.retried,
            "failed": report.failed,
        },
        "last_seq": store.last_seq(),
    }


def _ops(app: FastAPI, svc: Services) -> None:
    @app.get("/healthz", tags=["operations"], summary="The process is up")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["operations"],
        summary="The store answers; the engine is loaded",
        responses={503: problems.PROBLEM_RESPONSES[409] | {"description": "not ready"}},
    )
    def readyz() -> Response:
        try:
            last = svc.runtime.store.last_seq()
        except Exception as exc:
            return problems.problem(503, f"the store does not answer: {exc}", slug="not-ready")
        body: dict[str, Any] = {
            "status": "ready",
            "last_seq": last,
            "engine_changes": svc.runtime.changes,
        }
        if svc.runtime.last_dispatch_error:
            body["dispatch_error"] = svc.runtime.last_dispatch_error
        return JSONResponse(body)

    @app.get(
        "/metrics",
        tags=["operations"],
        summary="Prometheus metrics (text format)",
        response_class=Response,
    )
    async def metrics_route(request: Request) -> Response:
        if not svc.settings.metrics_public:
            await authenticate(request, svc)
        return Response(generate_latest(svc.metrics.registry), media_type=CONTENT_TYPE_LATEST)
