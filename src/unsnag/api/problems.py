"""RFC 9457 problem details: every error the API returns, in one place.

Routes raise :class:`~unsnag.errors.UnsnagError` (or :class:`ApiProblem` for what only
HTTP knows: 401, 413, 415, 429); the handlers here turn those, FastAPI's validation
errors and Starlette's own HTTP errors into ``application/problem+json`` with a stable
``type`` URI per kind of problem, the HTTP ``status``, a human ``title`` and ``detail``,
and for validation errors the list of offending fields (``errors``).
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from unsnag.errors import (
    Conflict,
    ContractViolation,
    Forbidden,
    NotFound,
    PolicyError,
    StoreError,
    UnsnagError,
)

LOG = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://unsnag.dev/problems/"

TITLES = {
    400: "bad request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not found",
    405: "method not allowed",
    406: "not acceptable",
    409: "conflict",
    413: "content too large",
    415: "unsupported media type",
    422: "invalid input",
    428: "precondition required",
    429: "too many requests",
    500: "internal error",
    503: "unavailable",
}
SLUGS = {
    400: "bad-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "conflict",
    413: "too-large",
    415: "unsupported-media-type",
    422: "invalid-input",
    428: "precondition-required",
    429: "rate-limited",
    500: "internal",
    503: "unavailable",
}


class ApiProblem(Exception):
    """An HTTP-level problem: status, detail, optional extra members and headers."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        slug: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.slug = slug or SLUGS.get(status, "error")
        self.headers = headers or {}
        self.extra = extra


def problem(
    status: int,
    detail: str,
    *,
    slug: str | None = None,
    title: str | None = None,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    """A problem+json response."""
    body: dict[str, Any] = {
        "type": TYPE_BASE + (slug or SLUGS.get(status, "error")),
        "title": title or TITLES.get(status, "error"),
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update(extra)
    return Response(
        orjson.dumps(body), status_code=status, media_type=PROBLEM_JSON, headers=headers
    )


STATUS_OF: list[tuple[type[UnsnagError], int, str]] = [
    (NotFound, 404, "not-found"),
    (Forbidden, 403, "forbidden"),
    (Conflict, 409, "conflict"),
    (ContractViolation, 422, "contract-violation"),
    (PolicyError, 422, "invalid-policy"),
    (StoreError, 503, "store-unavailable"),
]


def status_of(exc: UnsnagError) -> tuple[int, str]:
    for kind, status, slug in STATUS_OF:
        if isinstance(exc, kind):
            return status, slug
    return 500, "internal"


def _field_path(loc: Any) -> str:
    parts = [str(part) for part in loc if part not in ("body", "query", "path", "header")]
    where = str(loc[0]) if loc else ""
    return f"{where}:{'.'.join(parts)}" if where in ("query", "path", "header") else ".".join(parts)


def install(app: FastAPI) -> None:
    """Register the handlers that make every error a problem+json response."""

    @app.exception_handler(ApiProblem)
    async def _api_problem(request: Request, exc: ApiProblem) -> Response:
        return problem(
            exc.status,
            exc.detail,
            slug=exc.slug,
            instance=request.url.path,
            headers=exc.headers,
            **exc.extra,
        )

    @app.exception_handler(UnsnagError)
    async def _unsnag(request: Request, exc: UnsnagError) -> Response:
        status, slug = status_of(exc)
        if status >= 500:
            LOG.error("%s on %s: %s", type(exc).__name__, request.url.path, exc)
        extra: dict[str, Any] = {}
        if isinstance(exc, ContractViolation) and exc.field:
            extra["field"] = exc.field
        return problem(
            status, str(exc), slug=slug, title=exc.title, instance=request.url.path, **extra
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {"field": _field_path(err.get("loc", ())), "message": err.get("msg", "invalid")}
            for err in exc.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5]) or "invalid"
        return problem(422, detail, instance=request.url.path, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "")
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no route {request.url.path}"
        elif exc.status_code == 405 and detail == "Method Not Allowed":
            detail = f"{request.method} is not allowed on {request.url.path}"
        return problem(
            exc.status_code, detail, instance=request.url.path, headers=dict(exc.headers or {})
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        LOG.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(
            500, "an unexpected error occurred; it has been logged", instance=request.url.path
        )


def problem_response(status: int) -> dict[str, Any]:
    """The OpenAPI response object of a problem with ``status``."""
    return {
        "description": TITLES[status],
        "content": {
            PROBLEM_JSON: {
                "schema": {
                    "type": "object",
                    "properties": {
                        "type": {"type": "string"},
                        "title": {"type": "string"},
                        "status": {"type": "integer"},
                        "detail": {"type": "string"},
                        "instance": {"type": "string"},
                    },
                    "required": ["type", "title", "status", "detail"],
                }
            }
        },
    }


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: problem_response(status) for status in (400, 401, 403, 404, 409, 413, 422, 429)
}
"""The problem responses every /v1 route may give, for the OpenAPI document."""
