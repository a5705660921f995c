"""One lifecycle for card disputes, patient billing disputes and disputes against remittance lines.

A dispute is opened with its original record attached (a JSON snapshot kept as an artefact), an
evidence checklist, a due date and an owner; it ends won, lost or corrected. A resolution that
moves money is a NEW ledger posting (``dispute_loss`` or ``correction``): the original payment,
invoice or remittance line is never edited.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.archive import keep_artefact
from app.audit import Actor, record, snapshot
from app.claims.artefacts import ArtefactStore
from app.context import AppContext, Changes
from app.db.models import Claim, Dispute, Invoice, LedgerPosting, Payment, RemittanceLine
from app.domain.status import DisputeKind, DisputeStatus, advance
from app.errors import DomainError, NotFound
from app.money import Money
from app.users import Permission, require

ORIGINAL = "original-record.json"
OPEN_STATUSES = (DisputeStatus.OPEN, DisputeStatus.EVIDENCE_SUBMITTED)
OUTCOMES = (DisputeStatus.WON, DisputeStatus.LOST, DisputeStatus.CORRECTED)
DEFAULTS: dict[DisputeKind, tuple[int, str, tuple[str, ...]]] = {
    DisputeKind.CARD: (
        7,
        "manager",
        ("Signed receipt or terminal slip", "Booking confirmation", "Cancellation policy", "Treatment attendance"),
    ),
    DisputeKind.PATIENT_BILLING: (14, "front_desk", ("Invoice sent to the patient", "Package or price record")),
    DisputeKind.REMITTANCE_LINE: (
        30,
        "finance",
        ("Claim as submitted", "Remittance advice", "Authorisation or referral", "Appeal letter"),
    ),
}
CHANGED = Changes.of("dispute", "ledger_posting")


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    item: str
    done: bool


def checklist(dispute: Dispute) -> list[ChecklistItem]:
    """The evidence checklist (plain strings from older records count as not done)."""
    out = []
    for entry in json.loads(dispute.checklist_json or "[]"):
        if isinstance(entry, str):
            out.append(ChecklistItem(entry, False))
        else:
            out.append(ChecklistItem(str(entry["item"]), bool(entry.get("done"))))
    return out


def _save_checklist(dispute: Dispute, items: list[ChecklistItem]) -> None:
    dispute.checklist_json = json.dumps([{"item": i.item, "done": i.done} for i in items])


def _original(session: Session, kind: DisputeKind, ids: dict[str, int | None]) -> tuple[Any, dict[str, Any]]:
    table: Any = {
        DisputeKind.CARD: (Payment, "payment_id"),
        DisputeKind.PATIENT_BILLING: (Invoice, "invoice_id"),
        DisputeKind.REMITTANCE_LINE: (RemittanceLine, "remittance_line_id"),
    }[kind]
    model, key = table
    ident = ids.get(key)
    row = session.get(model, ident) if ident is not None else None
    if row is None:
        label = key.replace("_id", "").replace("_", " ")
        raise NotFound(f"A {kind.value.replace('_', ' ')} dispute needs an existing {label} ({key}={ident}).")
    return row, snapshot(row) or {}


def open_dispute(
    ctx: AppContext,
    actor: Actor,
    kind: DisputeKind,
    *,
    reason: str,
    payment_id: int | None = None,
    invoice_id: int | None = None,
    remittance_line_id: int | None = None,
    amount_minor: int | None = None,
    due_at: datetime | None = None,
    owner_role: str | None = None,
    items: tuple[str, ...] | None = None,
    provider: str = "",
    provider_ref: str = "",
) -> int:
    """Open a dispute with the original record attached; defaults per kind for due date, owner and checklist."""
    require(actor, Permission.VIEW)
    if not reason.strip():
        raise DomainError("Say what the dispute is about: a reason is required.")
    days, default_owner, default_items = DEFAULTS[kind]
    ids = {"payment_id": payment_id, "invoice_id": invoice_id, "remittance_line_id": remittance_line_id}
    with ctx.db.unit_of_work() as s:
        row, original = _original(s, kind, ids)
        currency = str(original.get("currency") or "GBP")
        amount = amount_minor
        if amount is None:
            amount = int(
                original.get("gross_minor") or original.get("total_minor") or original.get("charged_minor") or 0
            )
        dispute = Dispute(
            kind=kind,
            payment_id=payment_id,
            invoice_id=invoice_id,
            remittance_line_id=remittance_line_id,
            provider=provider or str(original.get("provider") or ""),
            provider_ref=provider_ref,
            amount_minor=amount,
            currency=currency,
            reason=reason.strip()[:200],
            status=DisputeStatus.OPEN,
            due_at=due_at or ctx.clock.now() + timedelta(days=days),
            owner_role=owner_role or default_owner,
            checklist_json="[]",
            resolution="",
            opened_at=ctx.clock.now(),
        )
        _save_checklist(dispute, [ChecklistItem(i, False) for i in (items or default_items)])
        s.add(dispute)
        s.flush()
        body = json.dumps({"table": row.__tablename__, "record": original}, indent=2, sort_keys=True, default=str)
        keep_artefact(
            s,
            ctx.clock,
            ArtefactStore(ctx.paths.archive),
            "dispute",
            dispute.id,
            ORIGINAL,
            body.encode(),
            replace=False,
        )
        record(s, ctx.clock, actor, "dispute.open", "dispute", dispute.id, None, snapshot(dispute), reason)
        return dispute.id


def _dispute(session: Session, dispute_id: int) -> Dispute:
    dispute = session.get(Dispute, dispute_id, with_for_update=True)
    if dispute is None:
        raise NotFound(f"Dispute {dispute_id} does not exist.")
    return dispute


def tick(ctx: AppContext, actor: Actor, dispute_id: int, item: str, done: bool = True) -> Changes:
    """Mark one piece of evidence as gathered (or not)."""
    require(actor, Permission.VIEW)
    with ctx.db.unit_of_work() as s:
        dispute = _dispute(s, dispute_id)
        items = checklist(dispute)
        if item not in [i.item for i in items]:
            raise NotFound(f"Dispute {dispute_id} has no checklist item {item!r}.")
        before = snapshot(dispute)
        _save_checklist(dispute, [ChecklistItem(i.item, done if i.item == item else i.done) for i in items])
        record(s, ctx.clock, actor, "dispute.checklist", "dispute", dispute.id, before, snapshot(dispute), item)
    return CHANGED


def submit_evidence(ctx: AppContext, actor: Actor, dispute_id: int, note: str = "") -> Changes:
    require(actor, Permission.VIEW)
    with ctx.db.unit_of_work() as s:
        dispute = _dispute(s, dispute_id)
        before = snapshot(dispute)
        dispute.status = advance("Dispute", dispute.status, DisputeStatus.EVIDENCE_SUBMITTED)
        record(
            s, ctx.clock, actor, "dispute.evidence_submitted", "dispute", dispute.id, before, snapshot(dispute), note
        )
    return CHANGED


def _patient_and_claim(session: Session, dispute: Dispute) -> tuple[int | None, int | None]:
    if dispute.payment_id is not None:
        payment = session.get(Payment, dispute.payment_id)
        return (payment.patient_id if payment else None), None
    if dispute.invoice_id is not None:
        invoice = session.get(Invoice, dispute.invoice_id)
        return (invoice.patient_id if invoice else None), None
    line = session.get(RemittanceLine, dispute.remittance_line_id) if dispute.remittance_line_id else None
    claim = session.get(Claim, line.claim_id) if line is not None and line.claim_id else None
    return (claim.patient_id if claim else None), (claim.id if claim else None)


def resolve(
    ctx: AppContext,
    actor: Actor,
    dispute_id: int,
    outcome: DisputeStatus,
    reason: str,
    correction_minor: int | None = None,
) -> Changes:
    """Won (no money moves), lost (the disputed amount is lost) or corrected (a signed correction).
    Money moves as a new ledger posting; the original record stays as it was."""
    if outcome not in OUTCOMES:
        raise DomainError(f"A dispute ends won, lost or corrected, not {outcome.value}.")
    if not reason.strip():
        raise DomainError(f"Say why dispute {dispute_id} is {outcome.value}: a reason is required.")
    require(actor, Permission.PROPOSE_REFUND if outcome is DisputeStatus.WON else Permission.APPROVE_WRITEOFF)
    with ctx.db.unit_of_work() as s:
        dispute = _dispute(s, dispute_id)
        before = snapshot(dispute)
        dispute.status = advance("Dispute", dispute.status, outcome)
        dispute.resolution = reason.strip()
        amount = {DisputeStatus.LOST: -dispute.amount_minor, DisputeStatus.CORRECTED: correction_minor}.get(outcome)
        if outcome is DisputeStatus.CORRECTED and not correction_minor:
            raise DomainError(f"Give the corrected amount for dispute {dispute_id} (a non-zero change).")
        if amount:
            patient_id, claim_id = _patient_and_claim(s, dispute)
            kind = "dispute_loss" if outcome is DisputeStatus.LOST else "correction"
            posting = LedgerPosting(
                posting_key=f"dispute:{dispute.id}:{outcome.value}",
                source_kind="dispute",
                source_id=dispute.id,
                kind=kind,
                claim_id=claim_id,
                patient_id=patient_id,
                amount_minor=amount,
                currency=dispute.currency,
                reason_code=dispute.kind.value[:20],
                memo=f"Dispute {dispute.id} {outcome.value}: {reason.strip()}"[:1000],
                status="posted",
                decided_by_id=actor.user_id,
                created_at=ctx.clock.now(),
            )
            s.add(posting)
            s.flush()
            record(s, ctx.clock, actor, "ledger.post", "ledger_posting", posting.id, None, snapshot(posting), reason)
        record(
            s, ctx.clock, actor, f"dispute.{outcome.value}", "dispute", dispute.id, before, snapshot(dispute), reason
        )
    money = f" ({Money(amount, dispute.currency)} booked as a new entry)" if amount else ""
    return Changes(CHANGED.entities, f"Dispute {dispute_id} {outcome.value}{money}.")


@dataclass(frozen=True, slots=True)
class DisputeDetail:
    id: int
    kind: DisputeKind
    status: DisputeStatus
    amount: Money
    reason: str
    due_at: datetime | None
    owner_role: str
    checklist: list[ChecklistItem]
    original: dict[str, Any]
    resolution: str


def open_disputes(session: Session) -> list[DisputeDetail]:
    """Every open dispute, the soonest due first."""
    q = select(Dispute).where(Dispute.status.in_(OPEN_STATUSES)).order_by(Dispute.due_at.is_(None), Dispute.due_at)
    return [_detail(session, d) for d in session.scalars(q)]


def dispute_detail(session: Session, dispute_id: int) -> DisputeDetail:
    dispute = session.get(Dispute, dispute_id)
    if dispute is None:
        raise NotFound(f"Dispute {dispute_id} does not exist.")
    return _detail(session, dispute)


def _detail(session: Session, d: Dispute) -> DisputeDetail:
    ids = {"payment_id": d.payment_id, "invoice_id": d.invoice_id, "remittance_line_id": d.remittance_line_id}
    try:
        original = _original(session, d.kind, ids)[1]
    except NotFound:
        original = {}
    return DisputeDetail(
        d.id,
        d.kind,
        d.status,
        Money(d.amount_minor, d.currency),
        d.reason,
        d.due_at,
        d.owner_role,
        checklist(d),
        original,
        d.resolution,
    )
