"""Real servers on loopback for the notifier tests: aiosmtpd, the Twilio sandbox, the webhook sink."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from app.connectors.http import make_client
from sandboxes.sms import TwilioSandbox
from sandboxes.webhook_sink import WebhookSink

SMTP_USER, SMTP_PASSWORD = "desk@clinic.example", "smtp-secret-pw"


def free_port() -> int:
    """A loopback port nothing listens on (also used as the 'dead' port)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class MailBox:
    """aiosmtpd handler that keeps what it receives; ``reply`` can make it refuse."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[Any] = field(default_factory=list)
    data_reply: str | None = None
    rcpt_reply: str | None = None

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_reply:
            return self.data_reply
        self.envelopes.append(envelope)
        parsed = message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 Message accepted for delivery"


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == SMTP_USER.encode()
        and auth_data.password == SMTP_PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)


@dataclass
class SmtpServer:
    host: str
    port: int
    mailbox: MailBox


@contextmanager
def running_smtp() -> Iterator[SmtpServer]:
    """A loopback SMTP server that takes AUTH LOGIN/PLAIN (SMTP_USER/SMTP_PASSWORD) and keeps what it gets."""
    mailbox = MailBox()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=_authenticate,
        auth_require_tls=False,  # loopback test server without TLS; AUTH offered, not required
    )
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", controller.port, mailbox)
    finally:
        controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with running_smtp() as server:
        yield server


@pytest.fixture
def twilio() -> Iterator[TwilioSandbox]:
    with TwilioSandbox(account_sid="AC" + "1" * 32, auth_token="tw-secret-token") as sandbox:
        yield sandbox


@pytest.fixture
def twilio_client(twilio: TwilioSandbox) -> Iterator[httpx.Client]:
    with make_client(twilio.url) as client:
        yield client


@pytest.fixture
def sink() -> Iterator[WebhookSink]:
    with WebhookSink() as running:
        yield running


@pytest.fixture
def sink_client(sink: WebhookSink) -> Iterator[httpx.Client]:
    with make_client(sink.url) as client:
        yield client


@pytest.fixture
def dead_client() -> Iterator[httpx.Client]:
    """A client whose base URL is a loopback port nobody listens on."""
    timeout = httpx.Timeout(2.0)
    with make_client(f"http://127.0.0.1:{free_port()}", timeout=timeout) as client:
        yield client
