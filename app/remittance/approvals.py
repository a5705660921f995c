"""A manager's decision on a held posting (a write-off above the limit, a denial write-off, an
unexplained adjustment), and re-running matching on a stored remittance."""

from __future__ import annotations

from sqlalchemy import select

from app.audit import Actor, record, snapshot
from app.context import AppContext
from app.db.models import Claim, LedgerPosting, Patient, Payer, Remittance
from app.errors import DomainError, NotFound, ValidationFailed
from app.ledger.journal_builders import journals_for_approved_adjustments
from app.ledger.postings import ApplicationResult, Posting, PostingKind
from app.ledger.store import post_entries
from app.money import Money
from app.remittance.apply import ApplyOutcome, apply_stored
from app.remittance.policy import account_map
from app.users import Permission, require


def rerun_matching(
    ctx: AppContext, actor: Actor, remittance_id: int, *, accept_unbalanced: bool = False
) -> ApplyOutcome:
    """Apply what is not applied yet (new claims, corrected refs); nothing happens twice."""
    require(actor, Permission.IMPORT_FILES)
    if accept_unbalanced:
        require(actor, Permission.APPROVE_WRITEOFF)
    with ctx.db.unit_of_work() as s:
        return apply_stored(s, ctx.clock, actor, remittance_id, accept_unbalanced=accept_unbalanced)


def decide_writeoff(ctx: AppContext, actor: Actor, posting_id: int, *, approve: bool, reason: str = "") -> str:
    """Approve (book it to the journal) or reject (with a reason) a held posting; audit-logged."""
    require(actor, Permission.APPROVE_WRITEOFF)
    if not approve and not reason.strip():
        raise ValidationFailed("A reason is needed to reject a write-off.", ["reason: empty"])
    with ctx.db.unit_of_work() as s:
        row = s.get(LedgerPosting, posting_id)
        if row is None:
            raise NotFound(f"Posting {posting_id} does not exist.")
        if row.status != "held":
            raise DomainError(f"Posting {posting_id} is {row.status}, not waiting for approval.")
        before = snapshot(row)
        row.status = "approved" if approve else "rejected"
        row.decided_by_id = actor.user_id
        action = "ledger_posting.approve" if approve else "ledger_posting.reject"
        record(s, ctx.clock, actor, action, "ledger_posting", row.id, before, snapshot(row), reason)
        if not approve:
            return f"Write-off {row.posting_key} rejected: {reason.strip()}"
        rem = s.get(Remittance, row.source_id) if row.source_kind == "remittance" else None
        if rem is None:
            raise DomainError(f"Posting {posting_id} does not come from a remittance; book it by hand.")
        claim_number = s.scalar(select(Claim.number).where(Claim.id == row.claim_id)) if row.claim_id else None
        patient_ref = s.scalar(select(Patient.ref).where(Patient.id == row.patient_id)) if row.patient_id else None
        payer = s.scalar(select(Payer.code).where(Payer.id == rem.payer_id)) if rem.payer_id else ""
        posting = Posting(
            row.posting_key,
            PostingKind(row.kind),
            Money(row.amount_minor, row.currency),
            claim_number,
            patient_ref,
            row.reason_code,
            row.memo,
            needs_approval=True,
        )
        rid = row.posting_key.split(":", 1)[0]
        paid_on = rem.payment_date or ctx.clock.now().date()
        result = ApplicationResult(rid, payer or "", paid_on, rem.currency, (), (), (posting,), ())
        entries = journals_for_approved_adjustments(result, [row.posting_key], account_map(s))
        posted = post_entries(s, ctx.clock, actor, entries)
        return f"Write-off {row.posting_key} approved; journal {', '.join(posted) or 'already posted'}."
