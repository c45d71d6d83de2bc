"""The connector port: one action in, one :class:`Outcome` out.

``retry`` is only for what a later attempt may cure (a timeout, a dropped connection, a
503, a 4xx SMTP reply); anything the receiver refused on purpose is ``fail``, because
sending it again would only be refused again. The dispatcher turns a ``fail``, or a
``retry`` past the connector's ``max_attempts``, into a failed action a person takes up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, Protocol

from unsnag.store.port import StoredAction

DELIVERED: Final = "delivered"
RETRY: Final = "retry"
FAIL: Final = "fail"
DETAIL_LIMIT = 2000
"""Characters of a receiver's answer kept with the action (answers can be pages long)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one attempt to send an action."""

    status: Literal["delivered", "retry", "fail"]
    detail: str | None = None
    """The receiver's answer when delivered; the error otherwise."""
    retry_after: float | None = None
    """Seconds the receiver asked us to wait (``Retry-After``), when it said."""

    @classmethod
    def delivered(cls, response: str | None = None) -> Outcome:
        return cls(DELIVERED, clip(response))

    @classmethod
    def retry(cls, error: str, retry_after: float | None = None) -> Outcome:
        return cls(RETRY, clip(error), retry_after)

    @classmethod
    def fail(cls, error: str) -> Outcome:
        return cls(FAIL, clip(error))


class Connector(Protocol):
    """Sends actions to one outside system."""

    def send(self, action: StoredAction) -> Outcome:
        """Try once; never raise for what the receiver or the network did."""
        ...


def clip(text: str | None, limit: int = DETAIL_LIMIT) -> str | None:
    """``text`` cut to ``limit`` characters, marked when cut."""
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 1] + "…"
