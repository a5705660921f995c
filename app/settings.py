"""User settings (non-secret), kept in the ``setting`` table as JSON, with defaults in one place."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import Actor, record
from app.clock import Clock
from app.db.models import Setting


@dataclass(frozen=True, slots=True)
class Schedule:
    """An APScheduler cron or interval trigger, editable in Settings."""

    job: str
    description: str
    trigger: str  # "cron" or "interval"
    args: dict[str, Any]


DEFAULT_SCHEDULES: tuple[Schedule, ...] = (
    Schedule(
        "insurer_sftp_poll",
        "SFTP insurers: send queued claims, collect acknowledgements and remittances",
        "cron",
        {"hour": "6-22", "minute": 0, "timezone": "Europe/London"},
    ),
    Schedule(
        "insurer_portal_nightly",
        "Portal insurers: nightly queue",
        "cron",
        {"hour": 23, "minute": 30, "timezone": "Europe/London"},
    ),
    Schedule(
        "clearinghouse_poll",
        "X12 clearinghouse: send queued 837P, collect 999/277CA and 835",
        "cron",
        {"minute": 15, "hour": "6-22", "timezone": "Europe/London"},
    ),
    Schedule("classpass_catch_up", "ClassPass payouts (catch-up for the webhook)", "interval", {"hours": 1}),
    Schedule(
        "treatwell_daily",
        "Treatwell settlement download",
        "cron",
        {"hour": 5, "minute": 0, "timezone": "UTC"},
    ),
    Schedule("stripe_poll", "Stripe takings, payouts and disputes", "interval", {"hours": 2}),
    Schedule("square_poll", "Square takings, payouts and disputes", "interval", {"hours": 1}),
    Schedule("remittance_collect", "Apply remittances collected from insurers", "interval", {"minutes": 15}),
    Schedule("sla_check", "Claims without adjudication after 48 h", "interval", {"hours": 1}),
    Schedule("outbox_dispatch", "Send everything queued while offline", "interval", {"minutes": 1}),
)

DEFAULTS: dict[str, Any] = {
    "clinic.currency": "GBP",
    "claims.risk_threshold": "0.60",
    "claims.sla_hours": 48,
    "refunds.manager_limit_minor": 50_000,
    "refunds.duplicate_window_minutes": 30,
    "cash.writeoff_limit_minor": 5_000,
    "cash.tolerance": {},
    "accounting.account_map": None,
    "accounting.external_map": {},
    "endpoints": {},  # provider -> base URL (non-secret)
    "schedules": {s.job: {"trigger": s.trigger, **s.args} for s in DEFAULT_SCHEDULES},
}


def get_setting(session: Session, key: str) -> Any:
    row = session.get(Setting, key)
    if row is None:
        return DEFAULTS.get(key)
    return json.loads(row.value_json)


def set_setting(session: Session, clock: Clock, actor: Actor, key: str, value: Any) -> None:
    if key.startswith("audit."):
        raise ValueError("audit settings are maintained by the audit log itself")
    row = session.get(Setting, key)
    before = None if row is None else json.loads(row.value_json)
    text = json.dumps(value, sort_keys=True)
    if row is None:
        session.add(Setting(key=key, value_json=text, updated_at=clock.now()))
    else:
        row.value_json = text
        row.updated_at = clock.now()
    record(session, clock, actor, "setting.change", "setting", key, {"value": before}, {"value": value})


def all_settings(session: Session) -> dict[str, Any]:
    values = dict(DEFAULTS)
    for row in session.scalars(select(Setting).where(~Setting.key.startswith("audit."))):
        values[row.key] = json.loads(row.value_json)
    return values
