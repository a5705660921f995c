"""Scheduled marketplace polls and the e-mail route for finance summaries.

``POLLS["classpass"]`` is the hourly catch-up for the webhook a desktop app cannot receive;
``POLLS["treatwell"]`` the daily settlement download. Each fetches what is new since its last
successful run, imports every file (duplicates change nothing), reconciles, and checks the
settlement calendar for missing payouts. Non-secret account ids come from Settings
``payouts.accounts``; credentials from the keyring (``classpass.api_key``, ``treatwell.password``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from app.audit import SYSTEM
from app.connectors.base import MarketplaceSource, Notification, RawSettlement
from app.connectors.classpass import ClassPassSource
from app.connectors.http import make_client
from app.connectors.notify_email import SmtpEmailNotifier
from app.connectors.treatwell import TreatwellSource
from app.context import AppContext
from app.errors import ConfigurationError
from app.outbox import Route
from app.payouts.calendar import check_missing_payouts
from app.payouts.ledger_match import reconcile_received
from app.payouts.service import import_settlement
from app.routes import endpoint
from app.settings import get_setting, set_setting

FIRST_LOOKBACK = timedelta(days=45)


def _secret(ctx: AppContext, name: str) -> str:
    if ctx.secrets is None:
        raise ConfigurationError(f"No keyring is available for {name!r}: add it in Settings → Credentials.")
    return ctx.secrets.require(name)


def _account(ctx: AppContext, source: str, key: str) -> str:
    with ctx.db.read() as s:
        accounts: Mapping[str, Mapping[str, str]] = get_setting(s, "payouts.accounts") or {}
    value = accounts.get(source, {}).get(key)
    if not value:
        raise ConfigurationError(f"No {source} {key.replace('_', ' ')}: set payouts.accounts in Settings.")
    return str(value)


def sync_source(ctx: AppContext, source: MarketplaceSource) -> str:
    """Fetch since the last successful run, import, reconcile, check the calendar; a one-line report."""
    cursor_key = f"payouts.sync.{source.name}.since"
    with ctx.db.read() as s:
        saved = get_setting(s, cursor_key)
    started = ctx.clock.now()
    since = datetime.fromisoformat(saved) if saved else started - FIRST_LOOKBACK
    settlements: list[RawSettlement] = source.fetch_settlements(since)
    new = 0
    for raw in settlements:
        new += 0 if import_settlement(ctx, SYSTEM, source.name, raw.name, raw.content).duplicate else 1
    run = reconcile_received(ctx, SYSTEM)
    missing = check_missing_payouts(ctx, SYSTEM, (source.name,))
    with ctx.db.unit_of_work() as s:
        set_setting(s, ctx.clock, SYSTEM, cursor_key, (started - timedelta(hours=1)).isoformat())
    return (
        f"{source.name}: {len(settlements)} file(s), {new} new; {run.payouts} payout(s) reconciled "
        f"({run.matched} matched, {run.variance + run.unmatched} variance); {len(missing)} missing payout task(s)"
    )


def poll_classpass(ctx: AppContext) -> str:
    url = endpoint(ctx, "classpass")
    if url is None:
        raise ConfigurationError("ClassPass is not set up: add its address in Settings → Providers.")
    partner = _account(ctx, "classpass", "partner_id")
    with make_client(url) as client:
        source = ClassPassSource(client, partner, _secret(ctx, "classpass.api_key"), clock=ctx.clock)
        return sync_source(ctx, source)


def poll_treatwell(ctx: AppContext) -> str:
    url = endpoint(ctx, "treatwell")
    if url is None:
        raise ConfigurationError("Treatwell is not set up: add its address in Settings → Providers.")
    user = _account(ctx, "treatwell", "username")
    with make_client(url) as client:
        source = TreatwellSource(client, user, _secret(ctx, "treatwell.password"), clock=ctx.clock)
        return sync_source(ctx, source)


POLLS: dict[str, Callable[[AppContext], str]] = {"classpass": poll_classpass, "treatwell": poll_treatwell}


def email_notifier(ctx: AppContext, address: str) -> SmtpEmailNotifier:
    """The SMTP server ``host:port`` (Settings → Providers ``smtp``) with Settings ``notify.email``
    (``sender``, optional ``username``, ``starttls``) — the convention every runbook's e-mail route shares;
    the password comes from the keyring (``smtp.password``)."""
    host, _, port = address.rpartition(":")
    with ctx.db.read() as s:
        conf: Mapping[str, Any] = get_setting(s, "notify.email") or {}
    sender = str(conf.get("sender") or "")
    if not sender:
        raise ConfigurationError("No sender address for e-mail: set it in Settings (notify.email).")
    user = conf.get("username")
    return SmtpEmailNotifier(
        host or address,
        int(port or 25),
        sender,
        username=str(user) if user else None,
        password=_secret(ctx, "smtp.password") if user else None,
        starttls=bool(conf.get("starttls", False)),
    )


def routes(ctx: AppContext) -> dict[str, Route]:
    """``notify.email`` through the SMTP server set up in Settings → Providers (``smtp``)."""
    address = endpoint(ctx, "smtp")
    if address is None:
        return {}

    def send_email(payload: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        notification = Notification(str(payload["to"]), str(payload.get("subject", "")), str(payload["body"]))
        return {"message_id": email_notifier(ctx, address).send(notification, key)}

    return {"notify.email": Route(send_email, owner_role="admin")}
