"""Scheduled marketplace polls (finance summaries go out by app.notify_routes).

``POLLS["classpass"]`` is the hourly catch-up for the webhook a desktop app cannot receive;
``POLLS["treatwell"]`` the daily settlement download. Each fetches what is new since its last
successful run, imports every file (duplicates change nothing), reconciles, and checks the
settlement calendar for missing payouts. Non-secret account ids come from Settings
``payouts.accounts``; credentials from the keyring (``classpass.api_key``, ``treatwell.password``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from app.audit import SYSTEM
from app.connectors.base import MarketplaceSource, RawSettlement
from app.connectors.classpass import ClassPassSource
from app.connectors.http import make_client
from app.connectors.treatwell import TreatwellSource
from app.context import AppContext
from app.errors import ConfigurationError
from app.payouts.calendar import check_missing_payouts
from app.payouts.ledger_match import reconcile_received
from app.payouts.service import import_settlement
from app.routes import endpoint
from app.settings import get_setting, set_setting

FIRST_LOOKBACK = timedelta(days=45)


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
        source = ClassPassSource(client, partner, ctx.secret("classpass.api_key"), clock=ctx.clock)
        return sync_source(ctx, source)


def poll_treatwell(ctx: AppContext) -> str:
    url = endpoint(ctx, "treatwell")
    if url is None:
        raise ConfigurationError("Treatwell is not set up: add its address in Settings → Providers.")
    user = _account(ctx, "treatwell", "username")
    with make_client(url) as client:
        source = TreatwellSource(client, user, ctx.secret("treatwell.password"), clock=ctx.clock)
        return sync_source(ctx, source)


POLLS: dict[str, Callable[[AppContext], str]] = {"classpass": poll_classpass, "treatwell": poll_treatwell}
