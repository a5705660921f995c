"""Named counters (X12 control numbers, document numbers), safe for several desks at once."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import SequenceCounter


def next_value(session: Session, name: str, start: int = 1) -> int:
    """The next number of ``name``, in the caller's transaction (row-locked on PostgreSQL)."""
    row = session.scalar(select(SequenceCounter).where(SequenceCounter.name == name).with_for_update())
    if row is None:
        row = SequenceCounter(name=name, value=start)
        session.add(row)
        session.flush()
        return start
    row.value += 1
    return row.value
