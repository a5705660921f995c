"""The runbook settings a manager may edit (Settings → Runbooks): what each means, and its check.

Values are JSON. Saving checks the JSON and the key's own rules and lists every problem at once;
nothing is saved when there is one. Changes are audit-logged by :func:`app.settings.set_setting`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from app.audit import Actor
from app.clock import Clock
from app.errors import ValidationFailed
from app.settings import get_setting, set_setting
from app.users import Permission, UserRow, list_users, require

Check = Callable[[Any], list[str]]


def _object(value: Any) -> list[str]:
    return [] if isinstance(value, dict) else ['must be an object like {"key": value}']


def _whole_number(value: Any) -> list[str]:
    return (
        []
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0
        else ["must be a whole number of at least 0 (amounts are in pence)"]
    )


def _text_fields(*names: str) -> Check:
    def check(value: Any) -> list[str]:
        if not isinstance(value, dict):
            return [f"must be an object with {', '.join(names)}"]
        return [f"{k!r} is not one of {', '.join(names)}" for k in value if k not in names] + [
            f"{k!r} must be text" for k, v in value.items() if not isinstance(v, str)
        ]

    return check


def _shift_schedule(value: Any) -> list[str]:
    from app.shifts.schedule import parse_slots

    if not isinstance(value, dict):
        return ['must be {"<clinic id>": [{"desk", "start", "end", "terminals", "opening_float_minor"}]}']
    problems: list[str] = []
    for clinic, entries in value.items():
        if not str(clinic).isdigit() or not isinstance(entries, list):
            problems.append(f"clinic {clinic!r}: needs a clinic id and a list of shifts")
            continue
        try:
            parse_slots(entries, int(clinic))
        except ValidationFailed as exc:
            problems.extend(exc.problems)
    return problems


def _decimal_text(value: Any) -> list[str]:
    from decimal import Decimal, InvalidOperation

    try:
        ok = 0 <= Decimal(str(value)) <= 1
    except InvalidOperation:
        ok = False
    return [] if ok and isinstance(value, str) else ['must be a decimal between 0 and 1 written as text, e.g. "0.60"']


@dataclass(frozen=True)
class RunbookSetting:
    key: str
    description: str
    check: Check


CATALOGUE: tuple[RunbookSetting, ...] = (
    RunbookSetting("shifts.schedule", "Cash-drawer schedule: shifts per day per desk and terminal", _shift_schedule),
    RunbookSetting(
        "shifts.settlement_window_days", "Days a card payout may take before a settlement-delay alert", _whole_number
    ),
    RunbookSetting("claims.risk_threshold", "Denial-risk score above which a claim waits for review", _decimal_text),
    RunbookSetting(
        "claims.sla_hours", "Hours after submission before a claim without adjudication escalates", _whole_number
    ),
    RunbookSetting("cash.tolerance", "Cash application tolerance per payer: {absolute_minor, percent}", _object),
    RunbookSetting(
        "cash.writeoff_limit_minor", "Write-offs above this need a manager's approval (pence)", _whole_number
    ),
    RunbookSetting(
        "refunds.manager_limit_minor", "A manager approves refunds up to this; finance above (pence)", _whole_number
    ),
    RunbookSetting(
        "refunds.duplicate_window_minutes", "Same amount and card within this many minutes = duplicate", _whole_number
    ),
    RunbookSetting(
        "templates.refund_email",
        "Patient refund e-mail: subject and body ($patient, $amount, …)",
        _text_fields("subject", "body"),
    ),
    RunbookSetting(
        "templates.refund_sms", "Patient refund text message: body ($clinic, $amount, …)", _text_fields("body")
    ),
    RunbookSetting("payouts.tolerance", "Marketplace payout tolerance per clinic: {absolute_minor, percent}", _object),
    RunbookSetting(
        "payouts.batch_variance_limit_minor", "Variance per payout above which its journal is held", _whole_number
    ),
    RunbookSetting("payouts.calendar", "When marketplaces pay out (missing-payout alerts)", _object),
    RunbookSetting("notify.email", "Outgoing e-mail: {sender, username, starttls}", _object),
    RunbookSetting("notify.sms", "Text messages: {account_sid, sender}", _object),
)
BY_KEY = {s.key: s for s in CATALOGUE}


def current_values(session: Session) -> dict[str, str]:
    """Each catalogued setting as pretty JSON text (its default where never set)."""
    return {s.key: json.dumps(get_setting(session, s.key), indent=1, sort_keys=True) for s in CATALOGUE}


def settings_snapshot(session: Session) -> tuple[dict[str, Any], list[UserRow], dict[str, str]]:
    """Everything the Settings view shows: all settings, the users, the runbook settings as JSON text."""
    from app.settings import all_settings

    return all_settings(session), list_users(session), current_values(session)


def save_runbook_setting(session: Session, clock: Clock, actor: Actor, key: str, text: str) -> None:
    require(actor, Permission.MANAGE_SETTINGS)
    setting = BY_KEY.get(key)
    if setting is None:
        raise ValidationFailed(f"{key!r} is not a setting that can be edited here.")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationFailed(f"{key}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}).") from exc
    problems = setting.check(value)
    if problems:
        raise ValidationFailed(f"{key} was not saved", problems)
    set_setting(session, clock, actor, key, value)
