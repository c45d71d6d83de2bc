"""Outbound connectors: where the dispatcher sends the outbox's actions.

Each connector takes one :class:`~unsnag.store.port.StoredAction` and says what became of
it as an :class:`Outcome`: delivered, worth retrying, or failed for good. Connectors do
not retry, back off or record anything themselves; the dispatcher does, so every
connector gets the same retry rules, and the store keeps every verdict.
"""

from __future__ import annotations

from unsnag.connectors.base import Connector, Outcome
from unsnag.connectors.registry import build_connectors, close_connectors

__all__ = ["Connector", "Outcome", "build_connectors", "close_connectors"]
