"""The e-mail connector: notifications through an SMTP server (stdlib ``smtplib``).

The message is built from the action's params: the recipients from ``address`` (what the
policy's recipients resolved ``to`` into) or else ``to`` itself when it is an address;
``subject``; and ``body``, or a summary of the case and action when there is none. The
``Message-ID`` is derived from the outbox key, so a message sent twice (a connection that
dropped after the server took it) is recognisably the same message.

4xx replies ("try again later") and connection trouble are retried; 5xx replies (no such
mailbox, relaying denied, message refused) fail at once.
"""

from __future__ import annotations

import hashlib
import os
import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from unsnag.connectors.base import Outcome
from unsnag.errors import ConnectorError
from unsnag.policy.resolution import SmtpConnector
from unsnag.store.port import StoredAction


class SmtpSender:
    """Sends notifications through one SMTP server; credentials are read here, once."""

    def __init__(self, config: SmtpConnector, *, environ: Mapping[str, str] | None = None):
        env = os.environ if environ is None else environ
        self._config = config
        self._username = _from_env(env, config.username_env, "username")
        self._password = _from_env(env, config.password_env, "password")

    def send(self, action: StoredAction) -> Outcome:
        recipients = recipients_of(action.params)
        if not recipients:
            wanted = action.params.get("to") or "nobody"
            return Outcome.fail(f"no e-mail address for {wanted}")
        message = render(action, self._config.sender, recipients)
        try:
            refused = self._deliver(message)
        except smtplib.SMTPRecipientsRefused as exc:
            return _refused(exc.recipients)
        except smtplib.SMTPResponseException as exc:
            return _reply(exc.smtp_code, exc.smtp_error)
        except smtplib.SMTPServerDisconnected as exc:
            return Outcome.retry(f"SMTP {self._where()} disconnected: {exc}")
        except smtplib.SMTPException as exc:  # no STARTTLS, no usable login method …
            return Outcome.fail(f"SMTP {self._where()}: {exc}")
        except ssl.SSLCertVerificationError as exc:
            return Outcome.fail(f"TLS certificate of the SMTP server refused: {exc}")
        except OSError as exc:  # connection refused or dropped, timeouts, TLS trouble
            return Outcome.retry(f"SMTP {self._where()}: {type(exc).__name__}: {exc}")
        accepted = [r for r in recipients if r not in refused]
        note = f"; refused {_describe(refused)}" if refused else ""
        return Outcome.delivered(f"accepted for {', '.join(accepted)}{note}")

    def _deliver(self, message: EmailMessage) -> dict[str, tuple[int, bytes]]:
        c = self._config
        with smtplib.SMTP(c.host, c.port, timeout=c.timeout_s) as smtp:
            if c.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self._username is not None:
                smtp.login(self._username, self._password or "")
            return smtp.send_message(message)

    def _where(self) -> str:
        return f"{self._config.host}:{self._config.port}"


def recipients_of(params: Mapping[str, Any]) -> list[str]:
    """The e-mail addresses to send to: ``address`` if given, else ``to`` if addresses."""
    for name in ("address", "to"):
        value = params.get(name)
        values = value if isinstance(value, list | tuple) else [value]
        found = [str(v).strip() for v in values if isinstance(v, str) and "@" in v]
        if found:
            return found
    return []


def render(action: StoredAction, sender: str, recipients: list[str]) -> EmailMessage:
    """The message for ``action``."""
    params = action.params
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = str(params.get("subject") or f"[unsnag] {action.kind} {action.case_id}")
    message["Date"] = formatdate(action.created_at.timestamp(), usegmt=True)
    message["Message-ID"] = f"<{_digest(action.key)}@unsnag>"
    message["X-Unsnag-Key"] = action.key
    message["X-Unsnag-Case"] = action.case_id
    message.set_content(str(params.get("body") or summary(action)))
    return message


def summary(action: StoredAction) -> str:
    """A plain-text body when the action carries none: the case, the action, its params."""
    lines = [f"Case {action.case_id}: {action.kind}", ""]
    shown = {k: v for k, v in action.params.items() if k not in ("to", "address", "subject")}
    lines += [f"{name}: {value}" for name, value in sorted(shown.items()) if value is not None]
    lines += ["", f"requested by {action.requested_by}, action key {action.key}"]
    return "\n".join(lines)


def _reply(code: int, error: bytes | str) -> Outcome:
    text = error.decode(errors="replace") if isinstance(error, bytes) else str(error)
    said = f"SMTP {code} {text}".strip()
    return Outcome.retry(said) if 400 <= code < 500 else Outcome.fail(said)


def _refused(recipients: Mapping[str, tuple[int, bytes]]) -> Outcome:
    """Every recipient was refused: retry if any refusal was temporary."""
    error = f"every recipient refused: {_describe(recipients)}"
    temporary = any(400 <= code < 500 for code, _ in recipients.values())
    return Outcome.retry(error) if temporary else Outcome.fail(error)


def _describe(refused: Mapping[str, tuple[int, bytes]]) -> str:
    return "; ".join(
        f"{who} ({code} {text.decode(errors='replace')})" for who, (code, text) in refused.items()
    )


def _from_env(env: Mapping[str, str], name: str | None, what: str) -> str | None:
    if name is None:
        return None
    value = env.get(name)
    if value is None:
        raise ConnectorError(f"SMTP {what}: environment variable {name} is not set")
    return value


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:32]
