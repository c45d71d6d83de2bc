"""The one error tree of unsnag.

Every error a user can catch derives from :class:`UnsnagError`. Adapters translate
driver errors (SQLAlchemy, psycopg, NATS, HTTP clients) into this tree at the edge; the
API renders it as RFC 9457 problem details in one place, the CLI as one red line.

    UnsnagError
    ├── ContractViolation   an input breaks the event contract (EVENTS.md)
    ├── PolicyError         a policy file is malformed or inconsistent
    ├── NotFound            a case, event or key does not exist
    ├── Forbidden           the caller lacks the role for an action
    ├── Conflict            the action conflicts with the current state
    ├── ConnectorError      an outbound connector failed
    └── StoreError          the event log or case store failed
"""

from __future__ import annotations


class UnsnagError(Exception):
    """Root of every error unsnag raises on purpose."""

    title = "unsnag error"


class ContractViolation(UnsnagError):
    """An input breaks the event contract.

    ``reason`` says what was wrong, ``field`` names the offending field as a dotted path
    (``data.lines.0.qty``) when there is one.
    """

    title = "event contract violation"

    def __init__(self, reason: str, field: str | None = None) -> None:
        self.reason = reason
        self.field = field
        prefixed = field is None or reason.startswith(f"{field}:")
        super().__init__(reason if prefixed else f"{field}: {reason}")


class PolicyError(UnsnagError):
    """A policy file is malformed, or refers to something that does not exist."""

    title = "invalid policy"


class NotFound(UnsnagError):
    title = "not found"


class Forbidden(UnsnagError):
    title = "forbidden"


class Conflict(UnsnagError):
    title = "conflict"


class ConnectorError(UnsnagError):
    title = "connector failed"


class StoreError(UnsnagError):
    title = "store failed"
