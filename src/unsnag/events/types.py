"""Field types shared by the payload models of the catalog.

They are strict where the contract is (a number is a JSON number, never text) and
forgiving where real systems differ harmlessly (an id may arrive as ``2`` or ``"2"``;
a date may be a calendar date or an RFC 3339 instant).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, Strict


def parse_instant(value: Any) -> datetime:
    """Parse an RFC 3339 instant or an ISO calendar date into an aware UTC datetime.

    A bare date means "by the end of that day": ``2026-05-06`` is ``2026-05-06T23:59:59Z``.
    A naive timestamp is taken as UTC.
    """
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        return datetime.combine(value, time(23, 59, 59), UTC)
    elif isinstance(value, str):
        text = value.strip()
        if len(text) == 10:
            try:
                day = date.fromisoformat(text)
            except ValueError:
                raise ValueError(f"not an RFC 3339 date or instant: {value!r}") from None
            return datetime.combine(day, time(23, 59, 59), UTC)
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"not an RFC 3339 date or instant: {value!r}") from None
    else:
        raise ValueError(f"expected an RFC 3339 date or instant, got {type(value).__name__}")
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    if parsed.utcoffset() != timedelta(0):
        return parsed.astimezone(UTC)
    return parsed


Id = Annotated[str, Field(min_length=1, pattern=r"\S")]
"""A business key: non-blank text. Models using it set ``coerce_numbers_to_str`` so an
integer id from an older system is taken as its decimal text (validated in Rust: a
Python validator here cost ~1 µs per field, several fields per event)."""

Text = Annotated[str, Strict()]
Number = Annotated[float, Strict()]
"""A JSON number (integers accepted); text is refused even when it looks numeric."""

Quantity = Annotated[float, Strict(), Field(ge=0)]
Money = Annotated[float, Strict()]


def parse_start(value: Any) -> datetime:
    """Like :func:`parse_instant`, but a bare date means the *start* of that day."""
    if isinstance(value, str) and len(value.strip()) == 10:
        return parse_instant(value).replace(hour=0, minute=0, second=0)
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime.combine(value, time(0, 0), UTC)
    return parse_instant(value)


Instant = Annotated[datetime, BeforeValidator(parse_instant)]
"""An aware UTC datetime from an RFC 3339 instant or an ISO date (end of that day): for
deadlines such as a promised date or a due date, and for the end of a validity."""

StartInstant = Annotated[datetime, BeforeValidator(parse_start)]
"""As :data:`Instant`, but an ISO date means the start of that day: for the beginning of
a validity (a contract price valid from 2026-05-04 applies to that day's orders)."""
