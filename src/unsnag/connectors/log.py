"""The log connector: records each action and reports it delivered.

For dry runs and the demo, where actions should be decided, audited and seen, but reach
no real system. The actions are kept on the object (``sent``) and logged at INFO.
"""

from __future__ import annotations

import logging

from unsnag.connectors.base import Outcome
from unsnag.store.port import StoredAction

LOG = logging.getLogger("unsnag.actions")


class LogSender:
    """Delivers every action to a list and the ``unsnag.actions`` logger."""

    def __init__(self) -> None:
        self.sent: list[StoredAction] = []

    def send(self, action: StoredAction) -> Outcome:
        self.sent.append(action)
        LOG.info(
            "action %s for case %s: %s %s", action.key, action.case_id, action.kind, action.params
        )
        return Outcome.delivered("logged")
