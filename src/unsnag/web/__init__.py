"""The dashboard: server-rendered pages (Jinja2) enhanced by htmx, served by the API's app.

See docs/dashboard.md. Pages work with plain links and forms; htmx (vendored by
``scripts/assets``) only adds live refresh.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

    from unsnag.api.deps import Services


def mount(app: FastAPI, svc: Services) -> None:
    """Add the dashboard's routes, static files and HTML error pages to ``app``."""
    from unsnag.web.routes import install

    install(app, svc)
