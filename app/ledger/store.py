"""Journal entries in the database: posting is idempotent by entry id; exports read them back."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from app.audit import Actor, record
from app.clock import Clock
from app.db.models import JournalEntry as JournalRow
from app.db.models import JournalLine as JournalLineRow
from app.ledger.journals import JournalEntry, JournalLine
from app.money import Money


def post_entries(session: Session, clock: Clock, actor: Actor, entries: Iterable[JournalEntry]) -> list[str]:
    """Store balanced entries not stored before; returns the ids newly posted (re-running posts nothing)."""
    posted = []
    for entry in entries:
        if session.scalar(select(JournalRow.id).where(JournalRow.entry_key == entry.entry_id)) is not None:
            continue
        row = JournalRow(
            entry_key=entry.entry_id,
            entry_date=entry.date,
            description=entry.description[:300],
            source_kind=entry.source_kind,
            source_id=str(entry.source_id),
            posted_at=clock.now(),
        )
        session.add(row)
        session.flush()
        lines = [
            {
                "entry_id": row.id,
                "account": line.account,
                "debit_minor": line.debit.minor,
                "credit_minor": line.credit.minor,
                "currency": line.currency,
                "memo": line.memo[:300],
            }
            for line in entry.lines
        ]
        if lines:  # one bulk statement, not an ORM object per line
            session.execute(insert(JournalLineRow), lines)
        record(
            session,
            clock,
            actor,
            "journal.post",
            "journal_entry",
            row.id,
            None,
            {
                "entry": entry.entry_id,
                "source": f"{entry.source_kind}:{entry.source_id}",
                "total": str(entry.total_debits),
            },
        )
        posted.append(entry.entry_id)
    session.flush()
    return posted


def load_entries(
    session: Session, *, date_from: date | None = None, date_to: date | None = None, source_kind: str | None = None
) -> list[JournalEntry]:
    """Stored entries as ledger records (for journals.csv, Xero and QuickBooks exports)."""
    q = select(JournalRow).order_by(JournalRow.entry_date, JournalRow.id)
    if date_from:
        q = q.where(JournalRow.entry_date >= date_from)
    if date_to:
        q = q.where(JournalRow.entry_date <= date_to)
    if source_kind:
        q = q.where(JournalRow.source_kind == source_kind)
    rows = list(session.scalars(q))
    lines: dict[int, list[JournalLine]] = {r.id: [] for r in rows}
    if rows:
        for ln in session.scalars(
            select(JournalLineRow).where(JournalLineRow.entry_id.in_(lines)).order_by(JournalLineRow.id)
        ):
            lines[ln.entry_id].append(
                JournalLine(
                    ln.account, Money(ln.debit_minor, ln.currency), Money(ln.credit_minor, ln.currency), ln.memo
                )
            )
    return [
        JournalEntry(r.entry_key, r.entry_date, r.description, r.source_kind, r.source_id, tuple(lines[r.id]))
        for r in rows
    ]
