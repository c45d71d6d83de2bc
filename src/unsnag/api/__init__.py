"""The REST API (``/v1``), health and metrics of ``unsnag serve``; see docs/api.md."""

from __future__ import annotations

from unsnag.api.app import create_app

__all__ = ["create_app"]
