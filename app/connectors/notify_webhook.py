"""Chat notifications through an incoming webhook (Slack ``{"text"}`` or Teams MessageCard).

The webhook URL is a secret (whoever has it can post): it is never put into error messages.
Webhooks carry no files, so attachments are listed by name in the text instead.
"""

from __future__ import annotations

import hashlib
from typing import Any

import httpx

from app.connectors.base import Notification
from app.connectors.http import translate_errors

PROVIDER = "Chat webhook"


class WebhookNotifier:
    """Posts a notification to a Slack-style webhook, or with ``teams=True`` as a Teams MessageCard."""

    name = "webhook"

    def __init__(self, client: httpx.Client, url: str, *, teams: bool = False) -> None:
        self._client = client
        self._url = url
        self._teams = teams

    def __repr__(self) -> str:  # never show the URL
        return f"WebhookNotifier(teams={self._teams})"

    def payload(self, notification: Notification) -> dict[str, Any]:
        """The JSON body posted for ``notification``."""
        body = notification.body
        if notification.attachments:
            body += "\n\n(Attachments not sent by chat: " + ", ".join(sorted(notification.attachments)) + ")"
        if self._teams:
            return {
                "@type": "MessageCard",
                "@context": "https://schema.org/extensions",
                "summary": notification.subject,
                "title": notification.subject,
                "text": body,
            }
        return {"text": f"*{notification.subject}*\n{body}"}

    def send(self, notification: Notification, idempotency_key: str) -> str:
        """Post; return a message id derived from the key (webhooks return none of their own)."""
        with translate_errors(PROVIDER):
            response = self._client.post(
                self._url, json=self.payload(notification), headers={"Idempotency-Key": idempotency_key}
            )
            response.raise_for_status()
        return "webhook-" + hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:24]
