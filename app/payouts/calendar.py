"""Missing payouts: what each marketplace's settlement calendar says should have arrived by now.

Settings ``payouts.calendar`` (editable), by default: ClassPass pays each month's sales by the
15th of the next month; Treatwell issues statements on the 1st and 16th (covering the half month
before) and pays 3–5 days later. A period with sales and no payout by its last expected day opens
a ``missing_payout`` task (cash-flow lane) with the identifiers to quote to the marketplace.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit import Actor
from app.context import AppContext
from app.db.models import Payment, Payout
from app.domain.status import PaymentStatus, TaskPriority
from app.money import Money
from app.settings import get_setting
from app.tasks import open_task

DEFAULT_CALENDAR: dict[str, dict[str, Any]] = {
    "classpass": {"kind": "monthly", "pay_by_day": 15},
    "treatwell": {"kind": "statements", "statement_days": [1, 16], "paid_after_days": [3, 5]},
}
LOOKBACK_DAYS = 62


@dataclass(frozen=True, slots=True)
class ExpectedPayout:
    source: str
    period_start: date
    period_end: date
    window_start: date  # the payout_date of the payout we expect falls in [window_start, due]
    due: date

    @property
    def key(self) -> str:
        return f"{self.source}:{self.period_start.isoformat()}:{self.period_end.isoformat()}"


def _month_start(day: date, back: int = 0) -> date:
    y, m = day.year, day.month - back
    while m < 1:
        y, m = y - 1, m + 12
    return date(y, m, 1)


def expected_payouts(
    source: str, rule: dict[str, Any], today: date, lookback: int = LOOKBACK_DAYS
) -> list[ExpectedPayout]:
    """Payouts the calendar says were due in the ``lookback`` days up to ``today``."""
    found: list[ExpectedPayout] = []
    if rule.get("kind") == "monthly":
        pay_by = int(rule.get("pay_by_day", 15))
        for back in range(0, lookback // 28 + 2):
            month = _month_start(today, back)
            period_start = _month_start(month, 1)
            due = month.replace(day=pay_by)
            found.append(ExpectedPayout(source, period_start, month - timedelta(days=1), month, due))
    else:
        days = sorted(int(d) for d in rule.get("statement_days", [1, 16]))
        first_after, last_after = (int(x) for x in rule.get("paid_after_days", [3, 5]))
        for back in range(0, lookback // 28 + 2):
            month = _month_start(today, back)
            statements = [month.replace(day=d) for d in days]
            for n, statement in enumerate(statements):
                start = statements[n - 1] if n else _month_start(month, 1).replace(day=days[-1])
                found.append(
                    ExpectedPayout(
                        source,
                        start,
                        statement - timedelta(days=1),
                        statement + timedelta(days=first_after),
                        statement + timedelta(days=last_after),
                    )
                )
    window = today - timedelta(days=lookback)
    return sorted((e for e in found if window <= e.due < today), key=lambda e: (e.due, e.source))


def _sales(s: Session, e: ExpectedPayout) -> tuple[int, dict[str, int]]:
    q = (
        select(Payment.currency, func.count(), func.sum(Payment.gross_minor))
        .where(Payment.provider == e.source, Payment.status != PaymentStatus.FAILED)
        .where(Payment.taken_at >= _utc(e.period_start), Payment.taken_at < _utc(e.period_end + timedelta(days=1)))
        .group_by(Payment.currency)
    )
    rows = list(s.execute(q))
    return sum(int(n) for _, n, _ in rows), {c: int(v or 0) for c, _, v in rows}


def _utc(day: date) -> datetime:
    return datetime.combine(day, time(0), UTC)


def check_missing_payouts(ctx: AppContext, actor: Actor, sources: tuple[str, ...] | None = None) -> list[int]:
    """Open a ``missing_payout`` task per overdue payout (one per period); returns the task ids."""
    today = ctx.clock.now().date()
    opened: list[int] = []
    with ctx.db.unit_of_work() as s:
        calendar: dict[str, dict[str, Any]] = {**DEFAULT_CALENDAR, **(get_setting(s, "payouts.calendar") or {})}
        accounts: dict[str, dict[str, str]] = get_setting(s, "payouts.accounts") or {}
        for source, rule in sorted(calendar.items()):
            if sources and source not in sources:
                continue
            for e in expected_payouts(source, rule, today):
                count, totals = _sales(s, e)
                arrived = s.scalar(
                    select(func.count())
                    .select_from(Payout)
                    .where(Payout.source == source, Payout.payout_date.between(e.window_start, e.due))
                )
                if not count or arrived:
                    continue
                account = ", ".join(f"{k} {v}" for k, v in sorted(accounts.get(source, {}).items())) or "not set up"
                amount = ", ".join(str(Money(v, c)) for c, v in sorted(totals.items()))
                task = open_task(
                    s,
                    ctx.clock,
                    actor,
                    kind="missing_payout",
                    title=f"{source} payout for {e.period_start:%d %b} – {e.period_end:%d %b %Y} not received",
                    detail=(
                        f"Expected between {e.window_start} and {e.due}. Quote: account {account}; "
                        f"sales period {e.period_start} to {e.period_end}; {count} booking(s), {amount} gross."
                    ),
                    recommended_fix=f"Contact {source} partner support with the identifiers above.",
                    owner_role="finance",
                    priority=TaskPriority.HIGH,
                    due_at=None,
                    dedupe_key=f"missing_payout:{e.key}",
                )
                opened.append(task.id)
    return opened
