"""SmtpEmailNotifier against a real aiosmtpd server on loopback."""

from __future__ import annotations

import pytest

from app.connectors.base import Notification
from app.connectors.notify_email import SmtpEmailNotifier
from app.errors import PermanentError, TransientError
from tests.notify.conftest import SMTP_PASSWORD, SMTP_USER, SmtpServer, free_port

PDF = b"%PDF-1.4\n% shift report bytes\n%%EOF\n"
NOTE = Notification(
    to="manager@clinic.example",
    subject="Shift SH-2026-11-23-A closed: cash £2.50 short",
    body="The shift report is attached.\nCash drawer: -£2.50.",
    attachments={"shift-SH-2026-11-23-A.pdf": PDF},
)


def notifier(server: SmtpServer, password: str = SMTP_PASSWORD) -> SmtpEmailNotifier:
    return SmtpEmailNotifier(
        server.host, server.port, "billing@clinic.example", username=SMTP_USER, password=password, timeout=5
    )


def test_email_arrives_with_subject_body_and_attachment(smtp_server: SmtpServer) -> None:
    message_id = notifier(smtp_server).send(NOTE, "notify:shift:SH-2026-11-23-A")
    assert len(smtp_server.mailbox.messages) == 1
    got = smtp_server.mailbox.messages[0]
    assert got["Subject"] == NOTE.subject
    assert got["To"] == "manager@clinic.example" and got["From"] == "billing@clinic.example"
    assert got["Message-ID"] == message_id
    body = got.get_body(preferencelist=("plain",))
    assert body is not None and "Cash drawer: -£2.50." in body.get_content()
    attachments = list(got.iter_attachments())
    assert [a.get_filename() for a in attachments] == ["shift-SH-2026-11-23-A.pdf"]
    assert attachments[0].get_content_type() == "application/pdf"
    assert attachments[0].get_payload(decode=True) == PDF
    assert smtp_server.mailbox.envelopes[0].rcpt_tos == ["manager@clinic.example"]


def test_resend_with_same_key_has_same_message_id(smtp_server: SmtpServer) -> None:
    sender = notifier(smtp_server)
    first = sender.send(NOTE, "notify:42")
    again = sender.send(NOTE, "notify:42")
    other = sender.send(NOTE, "notify:43")
    assert first == again != other
    assert first.endswith("@clinic.example>")
    ids = [m["Message-ID"] for m in smtp_server.mailbox.messages]
    assert ids == [first, first, other]


def test_wrong_password_is_permanent_and_secret_free(smtp_server: SmtpServer) -> None:
    with pytest.raises(PermanentError) as caught:
        notifier(smtp_server, password="wrong-pw-123").send(NOTE, "k1")
    assert "user name or password" in str(caught.value)
    assert "wrong-pw-123" not in str(caught.value) and "wrong-pw-123" not in repr(notifier(smtp_server))
    assert smtp_server.mailbox.messages == []


def test_refused_recipient_is_permanent(smtp_server: SmtpServer) -> None:
    smtp_server.mailbox.rcpt_reply = "550 5.1.1 No such mailbox"
    with pytest.raises(PermanentError, match="refused the address"):
        notifier(smtp_server).send(NOTE, "k2")


def test_busy_server_is_transient(smtp_server: SmtpServer) -> None:
    smtp_server.mailbox.data_reply = "451 4.3.0 Try again later"
    with pytest.raises(TransientError, match="busy"):
        notifier(smtp_server).send(NOTE, "k3")


def test_dead_port_is_transient() -> None:
    dead = SmtpEmailNotifier("127.0.0.1", free_port(), "billing@clinic.example", timeout=2)
    with pytest.raises(TransientError, match="cannot reach"):
        dead.send(NOTE, "k4")
