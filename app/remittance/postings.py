"""A remittance's postings: the rows in ledger_posting and the routine ones its lines imply.

Applying a line posts the cash applied to the claim (``<prefix>:1``) and one posting per CAS
group and reason (``<prefix>:a<n>``). When such a posting needs nobody's attention (not held for
approval or review) it says nothing the line does not already say, so it is not stored as a row:
the line keeps ``posting_prefix``, ``cash_minor`` and ``written_off_minor``, and
:func:`derived_entries` rebuilds those postings exactly as the matcher made them. Everything a
person must look at (held write-offs, overpayments, takebacks, unapplied cash, provider-level
adjustments) stays a ledger_posting row. A 100,000-claim remittance thereby writes a few rows
instead of 300,000, and :func:`remittance_postings` still lists every posting.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Claim, LedgerPosting, Patient, RemittanceLine
from app.remittance.entries import Entry, derived_entries
from app.remittance.fastpath import LINE_IN_COLUMNS, LineIn, line_in


class PostingRecord(NamedTuple):
    """A posting as stored (or as it would be stored): ledger_posting's columns but the id."""

    posting_key: str
    source_kind: str
    source_id: int
    kind: str
    claim_id: int | None
    patient_id: int | None
    amount_minor: int
    currency: str
    reason_code: str
    memo: str
    status: str
    decided_by_id: int | None
    created_at: datetime
    needs_approval: bool
    needs_review: bool


_STORED = (
    LedgerPosting.posting_key,
    LedgerPosting.source_kind,
    LedgerPosting.source_id,
    LedgerPosting.kind,
    LedgerPosting.claim_id,
    LedgerPosting.patient_id,
    LedgerPosting.amount_minor,
    LedgerPosting.currency,
    LedgerPosting.reason_code,
    LedgerPosting.memo,
    LedgerPosting.status,
    LedgerPosting.decided_by_id,
    LedgerPosting.created_at,
    LedgerPosting.needs_approval,
    LedgerPosting.needs_review,
)
LINE_COLUMNS = (
    *LINE_IN_COLUMNS,
    RemittanceLine.posting_prefix,
    RemittanceLine.cash_minor,
    RemittanceLine.applied_at,
    RemittanceLine.currency,
    RemittanceLine.claim_id,
    RemittanceLine.outcome,
    RemittanceLine.rule,
    RemittanceLine.score,
    RemittanceLine.explanation,
    RemittanceLine.match_rule,
    Claim.number,
    Claim.patient_id,
    Patient.ref,
)


class StoredLine(NamedTuple):
    """A line as read back for its postings and its cash-application.csv rows."""

    line: LineIn
    row: Any  # the LINE_COLUMNS row


def stored_lines(session: Session, remittance_id: int) -> list[StoredLine]:
    """Every line of a remittance in file order, with its claim's number and patient."""
    q = (
        select(*LINE_COLUMNS)
        .outerjoin(Claim, Claim.id == RemittanceLine.claim_id)
        .outerjoin(Patient, Patient.id == Claim.patient_id)
        .where(RemittanceLine.remittance_id == remittance_id)
        .order_by(RemittanceLine.id)
    )
    return [StoredLine(line_in(i, r[: len(LINE_IN_COLUMNS)], r.currency), r) for i, r in enumerate(session.execute(q))]


def line_entries(stored: StoredLine, rows: set[str]) -> list[Entry]:
    """The derived postings of one line (none when it is not applied under a prefix)."""
    r = stored.row
    if not r.applied or not r.posting_prefix or r.number is None:
        return []
    return derived_entries(stored.line.adjustments, r.posting_prefix, r.number, r.ref, r.cash_minor, rows)


def remittance_postings(
    session: Session, remittance_id: int, lines: list[StoredLine] | None = None
) -> list[PostingRecord]:
    """Every posting of a remittance: its ledger_posting rows and the routine ones derived from
    its lines (``lines``: as :func:`stored_lines` read them, if already read), ordered by key."""
    q = select(*_STORED).where(LedgerPosting.source_kind == "remittance", LedgerPosting.source_id == remittance_id)
    out = [PostingRecord._make(r) for r in session.execute(q.order_by(LedgerPosting.id))]
    keys = {p.posting_key for p in out}
    for stored in stored_lines(session, remittance_id) if lines is None else lines:
        r = stored.row
        for e in line_entries(stored, keys):
            out.append(
                PostingRecord(
                    e.posting_id,
                    "remittance",
                    remittance_id,
                    str(e.kind),
                    r.claim_id,
                    r.patient_id,
                    e.amount,
                    r.currency,
                    e.reason_code[:20],
                    e.memo,
                    "posted",
                    None,
                    r.applied_at,
                    False,
                    False,
                )
            )
    return sorted(out, key=lambda p: p.posting_key)
