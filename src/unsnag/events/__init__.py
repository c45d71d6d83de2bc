"""Canonical event model: the CloudEvents envelope, typed payloads and the catalog."""

from unsnag.events.catalog import CATALOG, SOURCE_SYSTEMS, Payload
from unsnag.events.envelope import CloudEvent, Event, parse_event, parse_line
from unsnag.events.types import parse_instant

__all__ = [
    "CATALOG",
    "SOURCE_SYSTEMS",
    "CloudEvent",
    "Event",
    "Payload",
    "parse_event",
    "parse_instant",
    "parse_line",
]
