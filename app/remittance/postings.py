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

from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Claim, LedgerPosting, Patient, RemittanceLine
from app.ledger.postings import PostingKind
from app.ledger.remittance import AdjustmentGroup
from app.remittance.fastpath import Entry, LineIn, line_in

# what a CAS group becomes (as app.ledger.cash_application and the fast path book it)
GROUP_KIND = {
    AdjustmentGroup.CONTRACTUAL.value: PostingKind.CONTRACTUAL_WRITE_OFF,
    AdjustmentGroup.PATIENT_RESPONSIBILITY.value: PostingKind.PATIENT_RESPONSIBILITY,
    AdjustmentGroup.OTHER.value: PostingKind.OTHER_ADJUSTMENT,
    AdjustmentGroup.PAYER_INITIATED.value: PostingKind.OTHER_ADJUSTMENT,
    AdjustmentGroup.CORRECTION.value: PostingKind.CORRECTION,
}
_ADJUSTMENT_KINDS = frozenset(GROUP_KIND.values())
_APPLIED_PAYMENT = PostingKind.APPLIED_PAYMENT
# write-offs reduce what a claim still expects (app.remittance.matcher.WRITE_OFFS)
WRITTEN_OFF_KINDS = frozenset({PostingKind.CONTRACTUAL_WRITE_OFF, PostingKind.OTHER_ADJUSTMENT, PostingKind.CORRECTION})


def derived_entries(
    line: LineIn, prefix: str, claim_number: str, patient_ref: str | None, cash: int, stored: set[str]
) -> list[Entry]:
    """The routine postings of a line applied under ``prefix`` to ``claim_number`` with ``cash``
    applied, less those whose key is ``stored`` as a row (held ones, and every posting of lines
    applied before routine postings were derived)."""
    out: list[Entry] = []
    key = f"{prefix}:1"
    if cash > 0 and key not in stored:
        out.append(Entry(key, PostingKind.APPLIED_PAYMENT, cash, claim_number, None, "", "", False, False, False))
    for n, (group, reason, amount) in enumerate(line.adjustments, start=1):
        key = f"{prefix}:a{n}"
        if not amount or key in stored:
            continue
        kind = GROUP_KIND[group]
        code = f"{group}-{reason}"
        out.append(
            Entry(key, kind, amount, claim_number, patient_ref, code, f"{code}: {kind.value}", False, False, False)
        )
    return out


def routine_split(entries: Iterable[Entry], prefix: str) -> tuple[list[Entry], int, int]:
    """Of a line applied under ``prefix``: (the entries to store as rows, the routine write-offs'
    total, the cash applied). Routine: what :func:`derived_entries` rebuilds, i.e. not held, and
    either the plain cash posting ``<prefix>:1`` or an adjustment ``<prefix>:a<n>``."""
    rows: list[Entry] = []
    written_off = cash = 0
    one, adjustment = f"{prefix}:1", f"{prefix}:a"
    for e in entries:
        kind = e.kind
        if kind is _APPLIED_PAYMENT:
            if e.posting_id == one:
                cash = e.amount
                if not e.held and not e.memo and e.patient_ref is None:
                    continue
        elif kind in _ADJUSTMENT_KINDS and not e.held and e.posting_id.startswith(adjustment):
            if kind in WRITTEN_OFF_KINDS:
                written_off += e.amount
            continue
        rows.append(e)
    return rows, written_off, cash


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
    RemittanceLine.id,
    RemittanceLine.claim_ref,
    RemittanceLine.payer_claim_ref,
    RemittanceLine.patient_ref,
    RemittanceLine.service_date,
    RemittanceLine.status_code,
    RemittanceLine.charged_minor,
    RemittanceLine.paid_minor,
    RemittanceLine.patient_resp_minor,
    RemittanceLine.adjustments_json,
    RemittanceLine.services_json,
    RemittanceLine.applied,
    RemittanceLine.posting_prefix,
    RemittanceLine.cash_minor,
    RemittanceLine.applied_at,
    RemittanceLine.currency,
    RemittanceLine.claim_id,
    RemittanceLine.outcome,
    RemittanceLine.rule,
    RemittanceLine.score,
    RemittanceLine.explanation,
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
    return [StoredLine(line_in(i, (*r[:11], False), r.currency), r) for i, r in enumerate(session.execute(q))]


def line_entries(stored: StoredLine, rows: set[str]) -> list[Entry]:
    """The derived postings of one line (none when it is not applied under a prefix)."""
    r = stored.row
    if not r.applied or not r.posting_prefix or r.number is None:
        return []
    return derived_entries(stored.line, r.posting_prefix, r.number, r.ref, r.cash_minor, rows)


def remittance_postings(session: Session, remittance_id: int) -> list[PostingRecord]:
    """Every posting of a remittance: its ledger_posting rows and the routine ones derived from
    its lines, ordered by posting key."""
    q = select(*_STORED).where(LedgerPosting.source_kind == "remittance", LedgerPosting.source_id == remittance_id)
    out = [PostingRecord._make(r) for r in session.execute(q)]
    keys = {p.posting_key for p in out}
    for stored in stored_lines(session, remittance_id):
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
