"""The dashboard's plumbing: templates, cookies, who is signed in, CSRF, flash messages
and the HTML error pages. Routes (``routes.py``) stay thin on top of it."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.responses import HTMLResponse, RedirectResponse, Response

from unsnag import __version__
from unsnag.api.auth import READ, allowed
from unsnag.api.deps import Services
from unsnag.web import session as sess
from unsnag.web.format import FILTERS

LOG = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
HTMX = STATIC / "vendor" / "htmx.min.js"


class SignInRequired(Exception):
    """No valid session: go to the sign-in page (and come back to ``next``)."""

    def __init__(self, next_url: str = "/queue") -> None:
        self.next_url = next_url


class Refused(Exception):
    """A request the dashboard will not serve: an HTML error page with the reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class Site:
    """The state the dashboard's routes share (one per app)."""

    def __init__(self, svc: Services) -> None:
        self.svc = svc
        self.signer = sess.Signer(svc.settings.session_secret)
        self.env = Environment(
            loader=PackageLoader("unsnag.web", "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(FILTERS)
        self.has_htmx = HTMX.is_file()
        if not self.has_htmx:
            LOG.warning(
                "dashboard: %s is missing (run scripts/assets); pages work without live refresh",
                HTMX,
            )

    # --- who is calling ---------------------------------------------------------------

    def session_of(self, request: Request) -> sess.Session | None:
        cookie = request.cookies.get(sess.SESSION_COOKIE)
        return sess.read_session(self.signer, self.svc.runtime.store, cookie)

    def require(self, request: Request, permission: str | None = READ) -> sess.Session:
        """The signed-in session whose role grants ``permission``; else sign in / 403."""
        found = self.session_of(request)
        if found is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise SignInRequired(target)
        request.state.principal = found.principal
        wait = self.svc.limiter.take(found.principal.id)
        if wait > 0:
            raise Refused(429, f"too many requests; try again in {int(wait) + 1} s")
        if permission is not None and not allowed(found.principal, permission):
            raise Refused(403, f"role {found.principal.role} may not open this page")
        return found

    def check_csrf(self, request: Request, found: sess.Session, form: Any) -> None:
        token = request.headers.get("x-csrf-token") or form.get("csrf")
        if not self.signer.csrf_ok(found.nonce, token):
            raise Refused(
                403, "the form's security token is missing or wrong; reload the page and try again"
            )

    # --- answers ----------------------------------------------------------------------

    def render(
        self,
        request: Request,
        template: str,
        context: dict[str, Any],
        status: int = 200,
        found: sess.Session | None = None,
    ) -> HTMLResponse:
        flash = sess.read_flash(self.signer, request.cookies.get(sess.FLASH_COOKIE))
        page = self.env.get_template(template).render(
            request=request,
            path=request.url.path,
            me=found.principal if found else None,
            csrf=found.csrf if found else "",
            flash=flash,
            has_htmx=self.has_htmx,
            version=__version__,
            **context,
        )
        response = HTMLResponse(page, status_code=status)
        if flash is not None:
            response.delete_cookie(sess.FLASH_COOKIE, path="/")
        return response

    def redirect(
        self, request: Request, url: str, flash: tuple[str, str] | None = None
    ) -> RedirectResponse:
        """303 to ``url`` (Post/Redirect/Get), with a message for the next page."""
        response = RedirectResponse(url, status_code=303)
        if flash is not None:
            self.set_cookie(
                request,
                response,
                sess.FLASH_COOKIE,
                sess.flash_cookie(self.signer, *flash),
                sess.FLASH_MAX_AGE_S,
            )
        return response

    def set_cookie(
        self, request: Request, response: Response, name: str, value: str, max_age: int
    ) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path="/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )

    def sign_in_redirect(self, request: Request, next_url: str) -> Response:
        target = "/login" if next_url in ("/", "/queue") else f"/login?next={quote(next_url)}"
        if request.headers.get("hx-request"):
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    def error_page(self, request: Request, status: int, reason: str) -> HTMLResponse:
        found = self.session_of(request)
        return self.render(
            request,
            "error.html.j2",
            {"status": status, "reason": reason},
            status=status,
            found=found,
        )


def safe_next(url: str | None, default: str) -> str:
    """A local path to go back to (never another site)."""
    if url and url.startswith("/") and not url.startswith("//") and "\\" not in url:
        return url
    return default
