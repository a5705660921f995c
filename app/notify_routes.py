"""The outbox routes of staff and patient notifications, shared by every runbook that queues them.

``notify.email`` through the SMTP server of Settings → Providers (``smtp``) with Settings
``notify.email`` (``sender``, optional ``username``, ``starttls``; the password is the keyring's
``smtp.password``); ``notify.sms`` through the SMS provider (``sms``) with Settings ``notify.sms``
(``account_sid``, ``sender``; keyring ``sms.auth_token``); ``notify.webhook`` to the staff webhook
(``staff_webhook``). Each is there only when its provider is set up; settings and secrets are read
when a message is sent, so a change in Settings applies to the next message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.connectors.base import Notification
from app.connectors.http import make_client, translate_errors
from app.connectors.notify_email import SmtpEmailNotifier
from app.connectors.notify_sms import TwilioSmsNotifier
from app.context import AppContext
from app.errors import ConfigurationError
from app.outbox import Route
from app.settings import get_setting


def _settings(ctx: AppContext, key: str) -> Mapping[str, Any]:
    with ctx.db.read() as s:
        value = get_setting(s, key)
    return value if isinstance(value, Mapping) else {}


def notification(payload: Mapping[str, Any]) -> Notification:
    """The notification an outbox payload (``to``, ``subject``, ``body``) holds."""
    return Notification(str(payload["to"]), str(payload.get("subject", "")), str(payload["body"]))


def email_notifier(ctx: AppContext, address: str) -> SmtpEmailNotifier:
    """The SMTP server at ``host:port`` as Settings ``notify.email`` describes the account."""
    host, _, port = address.rpartition(":")
    conf = _settings(ctx, "notify.email")
    sender = str(conf.get("sender") or "")
    if not sender:
        raise ConfigurationError("No sender address for e-mail: set it in Settings (notify.email).")
    user = conf.get("username")
    return SmtpEmailNotifier(
        host or address,
        int(port or 25),
        sender,
        username=str(user) if user else None,
        password=ctx.secret("smtp.password") if user else None,
        starttls=bool(conf.get("starttls", False)),
    )


def routes(ctx: AppContext, endpoints: Mapping[str, str]) -> dict[str, Route]:
    """The notification routes whose provider has an address in ``endpoints``."""
    found: dict[str, Route] = {}
    smtp, sms, webhook = endpoints.get("smtp"), endpoints.get("sms"), endpoints.get("staff_webhook")
    if smtp:
        address = smtp

        def send_email(payload: Mapping[str, Any], key: str) -> Mapping[str, Any]:
            return {"message_id": email_notifier(ctx, address).send(notification(payload), key)}

        found["notify.email"] = Route(send_email, owner_role="admin")
    if sms:
        base = sms

        def send_sms(payload: Mapping[str, Any], key: str) -> Mapping[str, Any]:
            conf = _settings(ctx, "notify.sms")
            sid, sender = str(conf.get("account_sid") or ""), str(conf.get("sender") or "")
            if not sid or not sender:
                raise ConfigurationError("SMS is not set up: set the account SID and sender in Settings (notify.sms).")
            with make_client(base) as http:
                sent = TwilioSmsNotifier(http, sid, ctx.secret("sms.auth_token"), sender)
                return {"sid": sent.send(notification(payload), key)}

        found["notify.sms"] = Route(send_sms, owner_role="admin")
    if webhook:
        url = webhook

        def send_webhook(payload: Mapping[str, Any], key: str) -> Mapping[str, Any]:
            with make_client("") as client, translate_errors("staff webhook"):
                resp = client.post(url, json=dict(payload), headers={"Idempotency-Key": key})
                resp.raise_for_status()
                return {"status": resp.status_code, "body": resp.text[:200]}

        found["notify.webhook"] = Route(send_webhook, owner_role="admin")
    return found
