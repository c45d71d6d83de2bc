"""Notifications by e-mail through a real SMTP server (aiosmtpd on a free local port)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from unsnag.connectors import build_connectors
from unsnag.connectors.smtp import SmtpSender
from unsnag.dispatch import Dispatcher
from unsnag.policy.resolution import Resolution, SmtpConnector
from unsnag.resolve.model import OutboxItem
from unsnag.store import open_store
from unsnag.store.port import StoredAction

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)


@dataclass
class Mailbox:
    """An aiosmtpd handler: keeps what it accepts; refuses with ``rcpt``/``data`` replies."""

    rcpt: str | None = None
    data: str | None = None
    messages: list[tuple[list[str], Message]] = field(default_factory=list)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.rcpt:
            return self.rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data:
            return self.data
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, SmtpConnector]]:
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    config = SmtpConnector(
        kind="smtp",
        host="127.0.0.1",
        port=controller.port,
        sender="unsnag@dist.example",
        timeout_s=5,
        backoff_s=0.001,
        max_backoff_s=0.01,
    )
    yield mailbox, config
    controller.stop()


def notification(key: str = "C-1.n1", **params: Any) -> StoredAction:
    given = {
        "to": "team:warehouse",
        "address": "dc-east@dist.example",
        "subject": "[pick.short] SO-1: case (C-1)",
        "body": "picked 6, short 10 of MTR-2713",
    }
    return StoredAction(
        key=key,
        case_id="C-1",
        kind="notify",
        connector="mail",
        params=given | params,
        created_at=T0,
        requested_by="unsnag",
        status="pending",
        attempts=1,
        next_attempt_at=T0,
    )


def test_a_notification_arrives_with_its_recipient_subject_and_body(
    smtp: tuple[Mailbox, SmtpConnector],
) -> None:
    mailbox, config = smtp
    outcome = SmtpSender(config).send(notification())
    assert outcome.status == "delivered"
    assert outcome.detail == "accepted for dc-east@dist.example"
    [(recipients, message)] = mailbox.messages
    assert recipients == ["dc-east@dist.example"]
    assert message["To"] == "dc-east@dist.example"
    assert message["From"] == "unsnag@dist.example"
    assert message["Subject"] == "[pick.short] SO-1: case (C-1)"
    assert message["X-Unsnag-Key"] == "C-1.n1"
    assert message["Message-ID"].endswith("@unsnag>")
    assert message.get_payload(decode=True).decode().strip() == "picked 6, short 10 of MTR-2713"


def test_several_addresses_and_a_summary_when_there_is_no_body(
    smtp: tuple[Mailbox, SmtpConnector],
) -> None:
    mailbox, config = smtp
    action = notification(address=None, to=["a@dist.example", "b@dist.example"], body=None)
    assert SmtpSender(config).send(action).status == "delivered"
    [(recipients, message)] = mailbox.messages
    assert recipients == ["a@dist.example", "b@dist.example"]
    body = message.get_payload(decode=True).decode()
    assert body.startswith("Case C-1: notify") and "action key C-1.n1" in body


def test_the_same_action_is_the_same_message_id(smtp: tuple[Mailbox, SmtpConnector]) -> None:
    mailbox, config = smtp
    sender = SmtpSender(config)
    sender.send(notification())
    sender.send(notification())
    sender.send(notification(key="C-1.n2"))
    ids = [message["Message-ID"] for _, message in mailbox.messages]
    assert ids[0] == ids[1] != ids[2]


def test_a_permanent_refusal_fails(smtp: tuple[Mailbox, SmtpConnector]) -> None:
    mailbox, config = smtp
    mailbox.rcpt = "550 5.1.1 no such mailbox"
    outcome = SmtpSender(config).send(notification())
    assert outcome.status == "fail"
    assert "dc-east@dist.example (550 5.1.1 no such mailbox)" in (outcome.detail or "")


def test_a_refused_message_fails(smtp: tuple[Mailbox, SmtpConnector]) -> None:
    mailbox, config = smtp
    mailbox.data = "554 5.7.1 message refused"
    outcome = SmtpSender(config).send(notification())
    assert (outcome.status, outcome.detail) == ("fail", "SMTP 554 5.7.1 message refused")


def test_a_temporary_refusal_is_retried(smtp: tuple[Mailbox, SmtpConnector]) -> None:
    mailbox, config = smtp
    mailbox.data = "451 4.3.0 try again later"
    outcome = SmtpSender(config).send(notification())
    assert (outcome.status, outcome.detail) == ("retry", "SMTP 451 4.3.0 try again later")


def test_a_server_that_is_not_there_is_retried() -> None:
    config = SmtpConnector(kind="smtp", host="127.0.0.1", port=free_port(), timeout_s=2)
    outcome = SmtpSender(config).send(notification())
    assert outcome.status == "retry" and "ConnectionRefusedError" in (outcome.detail or "")


def test_a_recipient_without_an_address_fails() -> None:
    config = SmtpConnector(kind="smtp")
    outcome = SmtpSender(config).send(notification(address=None))
    assert (outcome.status, outcome.detail) == ("fail", "no e-mail address for team:warehouse")


def test_through_the_outbox_a_refusal_becomes_a_failed_action_reported_once(
    smtp: tuple[Mailbox, SmtpConnector], sqlite_url: str
) -> None:
    mailbox, config = smtp
    resolution = Resolution(connectors={"mail": config}, routes={"notify": "mail"})
    ok = OutboxItem("C-1.n1", "C-1", "notify", "mail", notification().params, T0)
    refused = OutboxItem("C-2.n1", "C-2", "notify", "mail", {"address": "nobody@x.example"}, T0)
    mailbox_refuses = {"nobody@x.example"}

    async def handle_RCPT(server: Any, session: Any, envelope: Any, address: str, _: Any) -> str:
        if address in mailbox_refuses:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    mailbox.handle_RCPT = handle_RCPT  # type: ignore[method-assign]
    reports: list[dict[str, Any]] = []
    with open_store(sqlite_url) as store:
        store.save_decisions([], [ok, refused], [])
        now = T0 + timedelta(seconds=1)
        dispatcher = Dispatcher(
            store, build_connectors(resolution), resolution, lambda: now, reports.append
        )
        done = dispatcher.run_until_idle(max_seconds=0)
        assert (done.delivered, done.failed, done.idle) == (1, 1, True)
        assert [a.status for a in store.list_actions()] == ["delivered", "failed"]
    assert [(r["type"], r["data"]["key"]) for r in reports] == [
        ("action.delivered", "C-1.n1"),
        ("action.failed", "C-2.n1"),
    ]
    assert len(mailbox.messages) == 1
