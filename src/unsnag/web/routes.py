"""The dashboard's routes: each checks who is calling, calls one helper, renders."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from unsnag.api.auth import DEAD_LETTERS, INTEGRATOR, READ, allowed
from unsnag.api.deps import Services
from unsnag.errors import NotFound, UnsnagError
from unsnag.web import session as sess
from unsnag.web.casepage import case_page, timeline_page
from unsnag.web.commands import run_case_command
from unsnag.web.queue import bulk_assign, queue_page, read_filter
from unsnag.web.reports import (
    ReportFilter,
    integrations_page,
    overview_page,
    pretty_json,
    process_map_svg,
    replay,
)
from unsnag.web.site import STATIC, Refused, SignInRequired, Site, safe_next

router = APIRouter(include_in_schema=False)


async def _site(request: Request) -> Site:
    site: Site = request.app.state.unsnag_web
    return site


SiteDep = Annotated[Site, Depends(_site)]


async def _reader(request: Request, site: SiteDep) -> sess.Session:
    return site.require(request, READ)


async def _anyone(request: Request, site: SiteDep) -> sess.Session:
    return site.require(request, None)


async def _poster(request: Request, site: SiteDep) -> sess.Session:
    """A signed-in person posting a form with the right CSRF token."""
    found = site.require(request, None)
    site.check_csrf(request, found, await request.form())
    return found


Reader = Annotated[sess.Session, Depends(_reader)]
Anyone = Annotated[sess.Session, Depends(_anyone)]
Poster = Annotated[sess.Session, Depends(_poster)]


# --- signing in -----------------------------------------------------------------------


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/queue", status_code=303)


@router.get("/login")
def login_form(request: Request, site: SiteDep, next: str = "") -> Response:
    """The sign-in form (with a pre-session CSRF cookie)."""
    if site.session_of(request) is not None:
        return RedirectResponse(safe_next(next, "/queue"), status_code=303)
    return _login_page(request, site, next, None, 200)


def _login_page(
    request: Request, site: Site, next: str, error: str | None, status: int
) -> Response:
    cookie, token = sess.new_pre_cookie(site.signer)
    response = site.render(
        request, "login.html.j2", {"next": next, "error": error, "login_csrf": token}, status
    )
    site.set_cookie(request, response, sess.PRE_COOKIE, cookie, sess.PRE_MAX_AGE_S)
    return response


@router.post("/login")
async def login(request: Request, site: SiteDep) -> Response:
    """Check the key, start a session, go to the queue (or where the person was going)."""
    form = await request.form()
    who = f"login:{request.client.host if request.client else '?'}"
    next_url = str(form.get("next") or "")
    if site.svc.limiter.take(who, 5.0) > 0:
        return _login_page(
            request, site, next_url, "Too many sign-in attempts; wait a minute.", 429
        )
    nonce = sess.pre_nonce(site.signer, request.cookies.get(sess.PRE_COOKIE))
    if nonce is None or not site.signer.csrf_ok(nonce, str(form.get("csrf") or "")):
        return _login_page(request, site, next_url, "The form expired; please try again.", 403)
    principal = await run_in_threadpool(site.svc.keys.check, str(form.get("key") or "").strip())
    if principal is None or principal.via != "key":
        site.svc.limiter.take(who, 20.0)
        return _login_page(
            request, site, next_url, "That key is not valid (unknown, revoked or mistyped).", 401
        )
    home = "/integrations" if principal.role == INTEGRATOR else "/queue"
    response = RedirectResponse(safe_next(next_url, home), status_code=303)
    key_id = principal.id.removeprefix("key:")
    site.set_cookie(
        request,
        response,
        sess.SESSION_COOKIE,
        sess.new_session_cookie(site.signer, key_id),
        sess.SESSION_MAX_AGE_S,
    )
    response.delete_cookie(sess.PRE_COOKIE, path="/")
    return response


@router.post("/logout")
def logout(found: Poster) -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(sess.SESSION_COOKIE, path="/")
    return response


# --- the queue ------------------------------------------------------------------------


@router.get("/queue")
def queue(request: Request, site: SiteDep, found: Reader) -> HTMLResponse:
    """My team's cases, highest priority first."""
    f = read_filter(request.query_params, found.principal)
    return site.render(request, "queue.html.j2", queue_page(site.svc, f), found=found)


@router.get("/queue/rows")
def queue_rows(request: Request, site: SiteDep, found: Reader) -> HTMLResponse:
    """The queue's table body alone (polled by the page for live updates)."""
    f = read_filter(request.query_params, found.principal)
    context = {**queue_page(site.svc, f), "partial": True}
    return site.render(request, "_queue_rows.html.j2", context, found=found)


@router.post("/queue/assign")
async def queue_assign(request: Request, site: SiteDep, found: Poster) -> Response:
    form = await request.form()
    ids = [str(v) for v in form.getlist("case_ids")][:500]
    assignee = str(form.get("assignee") or "").strip()[:200]
    back = safe_next(str(form.get("next") or ""), "/queue")
    if not ids or not assignee:
        return site.redirect(request, back, ("error", "Tick some cases and name an assignee."))
    done, refused = await run_in_threadpool(bulk_assign, site.svc, found.principal, ids, assignee)
    text = f"Assigned {len(done)} case(s) to {assignee}."
    if refused:
        text += f" Refused {len(refused)}: " + "; ".join(refused[:5])
    return site.redirect(request, back, ("error" if refused else "ok", text))


# --- one case -------------------------------------------------------------------------


@router.get("/cases/{case_id}")
def case(case_id: str, request: Request, site: SiteDep, found: Reader) -> HTMLResponse:
    """The case: timeline, context, recommendations, approvals, audit."""
    try:
        context = case_page(site.svc, found.principal, case_id)
    except NotFound as exc:
        raise Refused(404, str(exc)) from None
    return site.render(request, "case.html.j2", context, found=found)


@router.get("/cases/{case_id}/timeline")
def case_timeline(case_id: str, request: Request, site: SiteDep, found: Reader) -> HTMLResponse:
    try:
        context = timeline_page(site.svc, case_id)
    except NotFound as exc:
        raise Refused(404, str(exc)) from None
    return site.render(request, "_timeline.html.j2", context, found=found)


@router.post("/cases/{case_id}/{command}")
async def case_command(
    case_id: str, command: str, request: Request, site: SiteDep, found: Poster
) -> Response:
    """Approve, reject, act, comment, assign or resolve; back to the case with a message."""
    form = await request.form()
    kind, text = await run_in_threadpool(
        run_case_command, site.svc, found.principal, case_id, command, form
    )
    return site.redirect(request, f"/cases/{quote(case_id)}", (kind, text))


# --- overview and integrations ------------------------------------------------------------


def _report_filter(request: Request) -> ReportFilter:
    q = request.query_params
    return ReportFilter(*(str(q.get(n) or "")[:40] for n in ("from", "to", "team", "type")))


@router.get("/overview")
def overview(request: Request, site: SiteDep, found: Reader) -> HTMLResponse:
    """KPIs, Paretos, incidents, trend and the process map."""
    f = _report_filter(request)
    try:
        context = overview_page(site.svc, f)
    except UnsnagError as exc:
        raise Refused(422, str(exc)) from None
    return site.render(request, "overview.html.j2", context, found=found)


@router.get("/overview/process-map")
def process_map(request: Request, site: SiteDep, found: Reader) -> HTMLResponse:
    f = _report_filter(request)
    try:
        svg = process_map_svg(site.svc, f)
    except UnsnagError as exc:
        raise Refused(422, str(exc)) from None
    partial = bool(request.headers.get("hx-request"))
    template = "_process_map.html.j2" if partial else "process_map.html.j2"
    return site.render(request, template, {"svg": svg, "filter": f}, found=found)


@router.get("/integrations")
def integrations(
    request: Request,
    site: SiteDep,
    found: Anyone,
    hours: int = 24,
    cursor: int = 0,
    replayed: str = "no",
) -> HTMLResponse:
    """Events per source per hour, refusals, dead letters with fix-and-replay."""
    shown = {"no": False, "yes": True}.get(replayed)
    context = integrations_page(site.svc, max(1, min(hours, 24 * 31)), max(0, cursor), shown)
    context["may_replay"] = allowed(found.principal, DEAD_LETTERS)
    context["replayed_filter"] = replayed
    context["pretty"] = pretty_json
    return site.render(request, "integrations.html.j2", context, found=found)


@router.post("/integrations/dead-letters/{dead_letter_id}/replay")
async def replay_dead_letter(
    dead_letter_id: int, request: Request, site: SiteDep, found: Poster
) -> Response:
    back = "/integrations"
    if not allowed(found.principal, DEAD_LETTERS):
        return site.redirect(
            request,
            back,
            ("error", f"Refused: role {found.principal.role} may not replay dead letters"),
        )
    form = await request.form()
    raw = str(form.get("raw") or "")
    ok, text = await run_in_threadpool(replay, site.svc, dead_letter_id, raw)
    return site.redirect(request, back, ("ok" if ok else "error", text))


# --- wiring ---------------------------------------------------------------------------


def install(app: FastAPI, svc: Services) -> None:
    """Serve the dashboard from ``app``: routes, static files, HTML error pages."""
    site = Site(svc)
    app.state.unsnag_web = site
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    async def sign_in(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SignInRequired)
        return site.sign_in_redirect(request, exc.next_url)

    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Refused)
        return await run_in_threadpool(site.error_page, request, exc.status, exc.reason)

    app.add_exception_handler(SignInRequired, sign_in)
    app.add_exception_handler(Refused, refused)
    app.include_router(router)

    # A browser asking for a page that is not there gets an HTML page, not the API's
    # problem+json (which stays the answer under /v1 and for every non-browser client).
    api_handler = app.exception_handlers[StarletteHTTPException]

    async def not_found(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        wants_html = "text/html" in request.headers.get("accept", "")
        if wants_html and exc.status_code == 404 and not request.url.path.startswith("/v1"):
            return await run_in_threadpool(
                site.error_page, request, 404, f"There is no page at {request.url.path}."
            )
        return await api_handler(request, exc)  # type: ignore[no-any-return, misc]

    app.add_exception_handler(StarletteHTTPException, not_found)
