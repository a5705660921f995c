"""Text messages through Twilio's Messages API.

``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` with form fields ``To``, ``From`` (or
``MessagingServiceSid`` when the sender starts with ``MG``) and ``Body``, HTTP basic auth with the
Account SID and auth token; the answer's ``sid`` (``SM…``) is the message id. Twilio has no
idempotency key for messages: the caller's outbox must record the returned sid before retrying.
SMS carries no files, so attachments are not sent.
"""

from __future__ import annotations

from typing import Any

import httpx

from app.connectors.base import Notification
from app.connectors.http import translate_errors
from app.errors import PermanentError, TransientError

PROVIDER = "Twilio SMS"
SMS_BODY_LIMIT = 1600  # Twilio refuses longer bodies (error 21617)


class TwilioSmsNotifier:
    """Sends a notification's subject and body as one text message."""

    name = "sms"

    def __init__(self, client: httpx.Client, account_sid: str, auth_token: str, sender: str) -> None:
        self._client = client
        self._account_sid = account_sid
        self._auth = httpx.BasicAuth(account_sid, auth_token)
        self._sender = sender

    def __repr__(self) -> str:  # never show the token
        return f"TwilioSmsNotifier(account_sid={self._account_sid!r}, sender={self._sender!r})"

    def form(self, notification: Notification) -> dict[str, str]:
        """The form fields posted for ``notification``."""
        text = f"{notification.subject}: {notification.body}" if notification.subject else notification.body
        if len(text) > SMS_BODY_LIMIT:
            text = text[: SMS_BODY_LIMIT - 1] + "…"
        sender_field = "MessagingServiceSid" if self._sender.startswith("MG") else "From"
        return {"To": notification.to, sender_field: self._sender, "Body": text}

    def send(self, notification: Notification, idempotency_key: str) -> str:
        """Send; return Twilio's message sid. ``idempotency_key`` is not supported by Twilio."""
        path = f"/2010-04-01/Accounts/{self._account_sid}/Messages.json"
        with translate_errors(PROVIDER):
            response = self._client.post(path, data=self.form(notification), auth=self._auth)
        status = response.status_code
        if status in (401, 403):
            raise PermanentError(PROVIDER, "the Account SID or auth token was refused; check the SMS settings")
        if status >= 500 or status == 429:
            raise TransientError(PROVIDER, f"server answered {status}; will retry")
        if status >= 400:
            raise PermanentError(PROVIDER, f"message refused ({status}): {_twilio_reason(response)}")
        sid = _json(response).get("sid")
        if not isinstance(sid, str) or not sid:
            raise TransientError(PROVIDER, "the answer had no message id; will check and retry")
        return sid


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _twilio_reason(response: httpx.Response) -> str:
    """Twilio's own error code and message (``{"code": 21211, "message": ...}``), never raw bodies."""
    data = _json(response)
    code, message = data.get("code"), data.get("message")
    if isinstance(message, str):
        return f"Twilio error {code}: {message[:200]}"
    return "no reason given"
