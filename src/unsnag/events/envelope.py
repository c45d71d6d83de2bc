"""The CloudEvents 1.0 envelope and the canonical :class:`Event` the core works on.

:func:`parse_event` is the single gate every inbound adapter goes through: it returns an
:class:`Event` or raises :class:`~unsnag.errors.ContractViolation` naming the field and
what was wrong with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError, create_model

from unsnag.errors import ContractViolation
from unsnag.events.catalog import CATALOG, SOURCE_SYSTEMS, Payload
from unsnag.events.own import OWN_CATALOG, OWN_SOURCE
from unsnag.events.types import Id, Text


class CloudEvent(BaseModel):
    """The envelope in structured JSON mode. Extension attributes are kept."""

    model_config = ConfigDict(extra="allow", frozen=True, coerce_numbers_to_str=True)

    specversion: Literal["1.0"]
    id: Id
    source: Id
    type: Id
    time: AwareDatetime
    subject: Text | None = None
    datacontenttype: Text | None = None
    dataschema: Text | None = None
    data: Any = None


def _typed_envelope(event_type: str, payload: type[Payload]) -> type[CloudEvent]:
    name = "".join(part.title() for part in event_type.replace("_", ".").split(".")) + "Event"
    return create_model(name, __base__=CloudEvent, data=(payload, ...))


# One model per catalog type, envelope and payload together: a single validation pass
# in Rust per event, and errors in ``data`` come out with their full path.
TYPED_ENVELOPES: dict[str, type[CloudEvent]] = {
    event_type: _typed_envelope(event_type, payload)
    for event_type, payload in (CATALOG | OWN_CATALOG).items()
}


@dataclass(frozen=True, slots=True)
class Event:
    """A validated business event.

    ``data`` is the typed payload for a catalog type, or the plain dict for a type the
    catalog does not know. ``raw`` is the envelope exactly as received (a dict), which
    the event log stores and policy rules read.
    """

    id: str
    source: str
    type: str
    time: datetime
    subject: str | None
    data: Any
    raw: dict[str, Any]

    @property
    def key(self) -> tuple[str, str]:
        """The identity of an event: the same (source, id) delivered twice is one event."""
        return (self.source, self.id)

    @property
    def system(self) -> str:
        """The system part of ``source``: ``wms`` for ``wms/dc-east``."""
        return self.source.split("/", 1)[0]

    @property
    def known(self) -> bool:
        return isinstance(self.data, Payload)


def _describe(error: Any, prefix: str) -> tuple[str, str]:
    loc = ".".join(str(part) for part in error["loc"])
    field = f"{prefix}{loc}" if loc else prefix.rstrip(".") or "event"
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] not in ("missing", "value_error") and "input" in error:
        shown = repr(error["input"])
        message += f" (got {shown if len(shown) <= 60 else shown[:57] + '...'})"
    return field, message


def _violation(exc: ValidationError, prefix: str) -> ContractViolation:
    described = [_describe(err, prefix) for err in exc.errors()]
    reason = "; ".join(f"{field}: {msg}" for field, msg in described)
    return ContractViolation(reason, described[0][0])


def parse_event(raw: Any, extra_systems: frozenset[str] = frozenset(), own: bool = False) -> Event:
    """Validate one structured-mode CloudEvent (a dict) against the contract.

    ``own=True`` also admits unsnag's own events (source ``unsnag``: case work and
    action outcomes): for the event log and replays, never for inbound adapters."""
    if not isinstance(raw, dict):
        raise ContractViolation(f"a CloudEvent is a JSON object, got {type(raw).__name__}")
    event_type = raw.get("type")
    model = TYPED_ENVELOPES.get(event_type) if isinstance(event_type, str) else None
    try:
        envelope = (model or CloudEvent).model_validate(raw)
    except ValidationError as exc:
        raise _violation(exc, "") from None
    system = envelope.source.split("/", 1)[0]
    if system == OWN_SOURCE or envelope.type in OWN_CATALOG:
        if not (own and system == OWN_SOURCE and envelope.type in OWN_CATALOG):
            raise ContractViolation(
                f"source {OWN_SOURCE!r} and the types {', '.join(sorted(OWN_CATALOG))} are "
                "unsnag's own: work cases through the CLI or API, not as inbound events",
                "source" if system == OWN_SOURCE else "type",
            )
    elif system not in SOURCE_SYSTEMS and system not in extra_systems:
        raise ContractViolation(
            f"unknown source system {system!r}; expected one of "
            f"{', '.join(sorted(SOURCE_SYSTEMS | extra_systems))} or one the policy declares",
            "source",
        )
    content_type = envelope.datacontenttype
    if model is not None and content_type and "json" not in content_type:
        raise ContractViolation(
            f"data of {envelope.type} must be JSON, not {content_type}", "datacontenttype"
        )
    when = envelope.time
    if when.utcoffset():
        when = when.astimezone(UTC)
    return Event(
        id=envelope.id,
        source=envelope.source,
        type=envelope.type,
        time=when,
        subject=envelope.subject,
        data=envelope.data,
        raw=raw,
    )


def parse_line(line: str | bytes, extra_systems: frozenset[str] = frozenset()) -> Event:
    """Parse one line of JSON Lines into an :class:`Event`."""
    try:
        raw = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise ContractViolation(f"not JSON: {exc}") from None
    return parse_event(raw, extra_systems)
