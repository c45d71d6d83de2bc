"""Options for ``integration.failure``: an interface failed and events may be missing.

The last error says whether a replay can work:

- transient (timeouts, HTTP 5xx, connection resets, throttling — :data:`TRANSIENT`):
  ``retry_interface`` 0.85;
- authentication (401/403, expired credentials or certificates — :data:`AUTH`): 0.15,
  and ``notify`` integration to renew the credentials (0.8);
- rejected content (400/422, schema, mapping, validation — :data:`CONTENT`): 0.2, and
  ``notify`` integration to fix the mapping (0.75);
- anything else: 0.5.

0.2 less from :data:`MANY_ATTEMPTS` attempts on (the retries so far did not help). An
endpoint that recovered already is replayed to recover what was missed: 0.7. The
payload refs seen go with the retry (``params.payload_refs``). No money is at stake.
"""

from __future__ import annotations

import re

from unsnag.cases.desk import Case
from unsnag.policy.model import Policy
from unsnag.resolve.model import Option
from unsnag.resolve.options._common import clamp, grounded, rank, refs, tell
from unsnag.state.model import State

TRANSIENT = ("timeout", "timed out", "unavailable", "reset", "refused", "throttl", "429")
AUTH = ("401", "403", "unauthor", "forbidden", "credential", "certificate", "expired", "auth")
CONTENT = ("400", "422", "schema", "mapping", "invalid", "validation", "parse", "malformed")
HTTP_5XX = re.compile(r"\b5\d\d\b")
MANY_ATTEMPTS = 10


def classify(error: str | None) -> str:
    text = (error or "").lower()
    if any(word in text for word in AUTH):
        return "auth"
    if any(word in text for word in CONTENT):
        return "content"
    if HTTP_5XX.search(text) or any(word in text for word in TRANSIENT):
        return "transient"
    return "unknown"


RETRY_CONFIDENCE = {"transient": 0.85, "auth": 0.15, "content": 0.2, "unknown": 0.5}
HUMAN_FIX = {
    "auth": ("renew the credentials", 0.8),
    "content": ("fix the message mapping", 0.75),
}


def options(case: Case, state: State, policy: Policy) -> list[Option]:
    endpoint = case.key
    status = state.integrations.get(endpoint)
    error = status.last_error if status else None
    kind = classify(error)
    attempts = status.attempts if status else 0
    recovered = status is not None and status.failing_since is None
    confidence = 0.7 if recovered else RETRY_CONFIDENCE[kind]
    if attempts >= MANY_ATTEMPTS and not recovered:
        confidence -= 0.2
    payloads = refs(case, "payload_ref")
    facts = [
        f"{endpoint}: "
        + (
            "recovered"
            if recovered
            else f"failing since {status.failing_since:%Y-%m-%d %H:%M}Z"
            if status and status.failing_since
            else "status unknown"
        )
        + f", {attempts} attempts, last error '{error or 'none recorded'}' ({kind})",
        f"operations: {', '.join(refs(case, 'operation')) or 'unknown'}; payloads: "
        f"{', '.join(payloads) or 'none named'}",
    ]
    found = [
        Option(
            action="retry_interface",
            params={"endpoint": endpoint, "payload_refs": payloads},
            summary=f"replay the failed messages of {endpoint}"
            + (" (it is back up)" if recovered else f" ({kind} error)"),
            confidence=clamp(confidence, 0.05, 1.0),
        )
    ]
    if kind in HUMAN_FIX and not recovered:
        what, sure = HUMAN_FIX[kind]
        found.append(tell("integration", f"{endpoint}: {what} ({error})", (), confidence=sure))
    found.append(tell(case.owner_team, f"{endpoint}: {case.summary}", ()))
    return rank(grounded(found, facts))
