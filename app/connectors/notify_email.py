"""E-mail notifications over SMTP (smtplib), with attachments.

The Message-ID is derived from the idempotency key, so a resend of the same notification carries
the same Message-ID and mail clients and the clinic's mailbox recognise it as the same message.
SMTP failures are translated at the boundary: network trouble and 4xx replies are
:class:`TransientError`, refused logins and 5xx replies :class:`PermanentError`. The password is
never put into an error message.
"""

from __future__ import annotations

import hashlib
import mimetypes
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from app.connectors.base import Notification
from app.errors import PermanentError, TransientError

PROVIDER = "E-mail"


def message_id_for(idempotency_key: str, sender: str) -> str:
    """A stable Message-ID for a key: ``<sha256-prefix.clinic-billing@sender-domain>``."""
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:32]
    domain = sender.rpartition("@")[2] or "localhost"
    return f"<{digest}.clinic-billing@{domain}>"


class SmtpEmailNotifier:
    """Sends a :class:`Notification` as one e-mail through an SMTP server."""

    name = "email"

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout: float = 20.0,
    ) -> None:
        self._host = host
        self._port = port
        self._sender = sender
        self._username = username
        self._password = password
        self._starttls = starttls
        self._timeout = timeout

    def __repr__(self) -> str:  # never show the password
        return f"SmtpEmailNotifier(host={self._host!r}, port={self._port}, sender={self._sender!r})"

    def build_message(self, notification: Notification, idempotency_key: str) -> EmailMessage:
        """The e-mail exactly as it will be sent (attachments typed by their file name)."""
        msg = EmailMessage()
        msg["From"] = self._sender
        msg["To"] = notification.to
        msg["Subject"] = notification.subject
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = message_id_for(idempotency_key, self._sender)
        msg.set_content(notification.body)
        for filename, content in notification.attachments.items():
            kind = mimetypes.guess_type(filename)[0] or "application/octet-stream"
            maintype, _, subtype = kind.partition("/")
            msg.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
        return msg

    def send(self, notification: Notification, idempotency_key: str) -> str:
        """Deliver; return the Message-ID."""
        msg = self.build_message(notification, idempotency_key)
        where = f"the mail server {self._host}:{self._port}"
        try:
            with smtplib.SMTP(self._host, self._port, timeout=self._timeout) as smtp:
                if self._starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self._username is not None:
                    smtp.login(self._username, self._password or "")
                smtp.send_message(msg)
        except smtplib.SMTPAuthenticationError as exc:
            raise PermanentError(PROVIDER, f"{where} refused the user name or password ({exc.smtp_code})") from exc
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if codes and all(400 <= code < 500 for code in codes):
                raise TransientError(PROVIDER, f"{where} deferred the address {notification.to!r}; will retry") from exc
            raise PermanentError(PROVIDER, f"{where} refused the address {notification.to!r}") from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise PermanentError(PROVIDER, f"{where} does not offer the login or encryption set up") from exc
        except smtplib.SMTPResponseException as exc:
            if 400 <= exc.smtp_code < 500:
                raise TransientError(PROVIDER, f"{where} is busy ({exc.smtp_code}); will retry") from exc
            raise PermanentError(PROVIDER, f"{where} refused the message ({exc.smtp_code})") from exc
        except ssl.SSLError as exc:
            raise PermanentError(PROVIDER, f"cannot set up a secure connection to {where}") from exc
        except smtplib.SMTPServerDisconnected as exc:
            raise TransientError(PROVIDER, f"{where} hung up; will retry") from exc
        except smtplib.SMTPException as exc:  # smtplib's errors are OSErrors too: keep before OSError
            raise PermanentError(PROVIDER, f"{where} could not take the message ({type(exc).__name__})") from exc
        except OSError as exc:
            raise TransientError(PROVIDER, f"cannot reach {where} ({type(exc).__name__}); will retry") from exc
        return str(msg["Message-ID"])
