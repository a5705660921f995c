"""Settlement verification: each provider payout against the bank statement.

A payout's expected deposit is what the provider says it sends after fees, checked against the
sum of its entries (gross - fee = net, per payment). Each payout is matched to one bank line
(same amount, the provider named in the line, booked within the settlement window); a deposit of
another amount from the same provider in the window is a variance. ``settlement-diff.csv`` lists
every payout with expected, received and the difference. A deposit missing past its window opens
a "settlement delay" task (cash-flow lane) carrying what a provider support case needs.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit import Actor, record, snapshot
from app.clock import Clock
from app.db.models import BankLine, Payment, Payout, PayoutLine
from app.domain.status import PayoutStatus, TaskPriority, advance
from app.money import Money
from app.settings import get_setting
from app.tasks import open_task

CARD_SOURCES = ("stripe", "square")
WINDOW_SETTING = "shifts.settlement_window_days"
DEFAULT_WINDOW_DAYS = 3
BANK_LINE_PREFIX = "bank_line:"


def window_days(session: Session) -> int:
    return int(get_setting(session, WINDOW_SETTING) or DEFAULT_WINDOW_DAYS)


@dataclass(frozen=True, slots=True)
class SettlementRow:
    provider: str
    payout_ref: str
    payout_date: date
    expected: Money
    entries_net: Money
    received: Money | None
    bank_line: str
    payments: int
    status: str
    note: str

    @property
    def difference(self) -> Money | None:
        return None if self.received is None else self.received - self.expected


def _used_lines(session: Session) -> set[int]:
    refs = session.scalars(select(Payout.bank_line_ref).where(Payout.bank_line_ref.startswith(BANK_LINE_PREFIX)))
    return {int(r[len(BANK_LINE_PREFIX) :]) for r in refs}


def _names(line: BankLine, provider: str) -> bool:
    return provider.lower() in f"{line.description} {line.reference}".lower()


def match_deposits(session: Session, clock: Clock, actor: Actor) -> int:
    """Match every card payout still awaiting its deposit to a bank line; returns how many matched."""
    window = timedelta(days=window_days(session))
    used = _used_lines(session)
    matched = 0
    waiting = session.scalars(
        select(Payout)
        .where(Payout.source.in_(CARD_SOURCES), Payout.status == PayoutStatus.EXPECTED)
        .order_by(Payout.payout_date, Payout.id)
    ).all()
    for payout in waiting:
        lines = session.scalars(
            select(BankLine)
            .where(
                BankLine.booked_on >= payout.payout_date - timedelta(days=1),
                BankLine.booked_on <= payout.payout_date + window,
                BankLine.currency == payout.currency,
                BankLine.amount_minor > 0,
            )
            .order_by(BankLine.booked_on, BankLine.id)
        ).all()
        candidates = [ln for ln in lines if ln.id not in used and _names(ln, payout.source)]
        by_ref = [ln for ln in candidates if payout.provider_ref.lower() in f"{ln.description} {ln.reference}".lower()]
        exact = [ln for ln in candidates if ln.amount_minor == payout.expected_minor]
        chosen = by_ref or exact or candidates
        if not chosen:
            continue
        line = chosen[0]
        before = snapshot(payout)
        used.add(line.id)
        payout.received_minor = line.amount_minor
        payout.bank_line_ref = f"{BANK_LINE_PREFIX}{line.id}"
        payout.status = advance("Payout", payout.status, PayoutStatus.RECEIVED)
        target = PayoutStatus.MATCHED if line.amount_minor == payout.expected_minor else PayoutStatus.VARIANCE
        payout.status = advance("Payout", payout.status, target)
        record(session, clock, actor, f"payout.{target.value}", "payout", payout.id, before, snapshot(payout))
        if target is PayoutStatus.VARIANCE:
            diff = Money(line.amount_minor - payout.expected_minor, payout.currency)
            open_task(
                session,
                clock,
                actor,
                kind="payout_variance",
                title=f"{payout.source.capitalize()} payout {payout.provider_ref}: bank received {diff} different",
                detail=f"Expected {Money(payout.expected_minor, payout.currency)}, the bank line of "
                f"{line.booked_on:%d %b %Y} shows {Money(line.amount_minor, line.currency)}.",
                recommended_fix="Compare the payout's entries with the bank line; ask the provider about the gap.",
                owner_role="finance",
                entity_type="payout",
                entity_id=payout.id,
                dedupe_key=f"payout-variance:{payout.id}",
            )
        matched += 1
    return matched


def flag_settlement_delays(session: Session, clock: Clock, actor: Actor) -> int:
    """Open a settlement-delay task for each card payout whose deposit is overdue; returns how many."""
    today = clock.now().date()
    window = timedelta(days=window_days(session))
    late = session.scalars(
        select(Payout).where(
            Payout.source.in_(CARD_SOURCES),
            Payout.status == PayoutStatus.EXPECTED,
            Payout.payout_date < today - window,
        )
    ).all()
    for payout in late:
        refs = session.scalars(select(Payment.provider_ref).where(Payment.payout_id == payout.id).limit(5)).all()
        amount = Money(payout.expected_minor, payout.currency)
        open_task(
            session,
            clock,
            actor,
            kind="settlement_delay",
            title=f"{payout.source.capitalize()} deposit {amount} overdue (payout {payout.provider_ref})",
            detail=(
                f"Provider: {payout.source}. Payout id: {payout.provider_ref}. Amount: {amount}. "
                f"Expected arrival: {payout.payout_date:%d %b %Y}; nothing on the bank statement by "
                f"{today:%d %b %Y}. Payments in it (first {len(refs)}): {', '.join(refs) or 'none linked'}."
            ),
            recommended_fix=(
                f"Import the latest bank statement; if the deposit is still missing, open a support case with "
                f"{payout.source.capitalize()} quoting payout id {payout.provider_ref}."
            ),
            owner_role="finance",
            priority=TaskPriority.HIGH,
            due_at=clock.now(),
            entity_type="payout",
            entity_id=payout.id,
            dedupe_key=f"settlement-delay:{payout.id}",
        )
    return len(late)


def settlement_rows(session: Session, payout_ids: list[int] | None = None) -> list[SettlementRow]:
    """Every card payout (or the given ones) with expected vs received and what differs."""
    q = select(Payout).where(Payout.source.in_(CARD_SOURCES)).order_by(Payout.payout_date, Payout.id)
    if payout_ids is not None:
        q = q.where(Payout.id.in_(payout_ids))
    rows = []
    for payout in session.scalars(q):
        entries_net, unmatched = session.execute(
            select(
                func.coalesce(func.sum(PayoutLine.net_minor), 0),
                func.count().filter(PayoutLine.status == "unmatched"),
            ).where(PayoutLine.payout_id == payout.id)
        ).one()
        paid = int(session.scalar(select(func.count()).where(Payment.payout_id == payout.id)) or 0)
        expected = Money(payout.expected_minor, payout.currency)
        received = None if payout.received_minor is None else Money(payout.received_minor, payout.currency)
        notes = []
        if int(entries_net) != payout.expected_minor:
            notes.append(f"entries add up to {Money(int(entries_net), payout.currency)}")
        if unmatched:
            notes.append(f"{unmatched} entr(y/ies) not matched to our payments")
        if received is None:
            notes.append(f"deposit awaited from {payout.payout_date:%d %b %Y}")
        elif received != expected:
            notes.append(f"bank received {received - expected} different")
        rows.append(
            SettlementRow(
                payout.source,
                payout.provider_ref,
                payout.payout_date,
                expected,
                Money(int(entries_net), payout.currency),
                received,
                payout.bank_line_ref,
                paid,
                payout.status.value,
                "; ".join(notes),
            )
        )
    return rows


def settlement_diff_csv(rows: list[SettlementRow]) -> bytes:
    """``settlement-diff.csv``: one line per payout, amounts in major units with 2 decimals."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "provider",
            "payout_ref",
            "payout_date",
            "expected",
            "entries_net",
            "received",
            "difference",
            "status",
            "bank_line",
            "payments",
            "note",
        ]
    )
    for r in rows:
        diff = r.difference
        writer.writerow(
            [
                r.provider,
                r.payout_ref,
                r.payout_date.isoformat(),
                str(r.expected.amount),
                str(r.entries_net.amount),
                "" if r.received is None else str(r.received.amount),
                "" if diff is None else str(diff.amount),
                r.status,
                r.bank_line,
                r.payments,
                r.note,
            ]
        )
    return out.getvalue().encode("utf-8")
