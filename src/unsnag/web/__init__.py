"""The dashboard, served by the API's app (filled in by the dashboard work)."""

from __future__ import annotations

from typing import Any


def mount(app: Any, svc: Any) -> None:
    """Add the dashboard's routes to ``app``."""
