"""Refund cases: propose (at the desk or from a support-ticket CSV), approve, reject, cancel.

Every step is checked against the policy and audit-logged with who and why in the same
transaction. Approval queues ``refund.execute`` in that transaction; a cash refund is paid from
the drawer of the open shift instead (a ``refund_from_drawer`` shift adjustment) and completed at once.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import Actor, record, snapshot
from app.claims.artefacts import ArtefactStore
from app.clock import Clock
from app.context import AppContext, Changes
from app.db.models import Artefact, AuditEvent, Payment, Refund, Shift, ShiftAdjustment
from app.domain.status import RefundReason, RefundStatus, ShiftStatus, advance
from app.errors import DomainError, NotFound, ValidationFailed
from app.money import Money
from app.outbox import enqueue
from app.refunds import execution
from app.refunds.policy import check_amount, check_approver, refundable
from app.users import Permission, require

CHANGED = Changes.of("refund", "payment", "outbox", "task")
TICKET_COLUMNS = ("payment_id", "amount", "reason", "note")


@dataclass(frozen=True, slots=True)
class Proposal:
    """What a detector or the desk wants refunded."""

    payment_id: int
    amount_minor: int
    reason: RefundReason
    note: str = ""
    evidence: Mapping[str, Any] | None = None
    method: str | None = None  # "cash" or "original"; None: cash for cash payments, else original


def _payment(session: Session, payment_id: int) -> Payment:
    payment = session.get(Payment, payment_id)
    if payment is None:
        raise NotFound(f"Payment {payment_id} does not exist.")
    return payment


def _refund(session: Session, refund_id: int) -> Refund:
    refund = session.get(Refund, refund_id, with_for_update=True)
    if refund is None:
        raise NotFound(f"Refund {refund_id} does not exist.")
    return refund


def propose_in(session: Session, clock: Clock, actor: Actor, p: Proposal) -> Refund:
    """Propose one refund in the caller's transaction (also used by the detectors)."""
    require(actor, Permission.PROPOSE_REFUND)
    payment = _payment(session, p.payment_id)
    check_amount(session, payment, p.amount_minor)
    method = p.method or ("cash" if payment.method == "cash" else "original")
    if method not in ("cash", "original"):
        raise DomainError(f"Unknown refund method {method!r}: use 'cash' or 'original'.")
    now = clock.now()
    refund = Refund(
        payment_id=payment.id,
        amount_minor=p.amount_minor,
        currency=payment.currency,
        reason=p.reason,
        note=p.note,
        evidence_json=json.dumps(dict(p.evidence or {}), sort_keys=True, default=str),
        status=RefundStatus.PROPOSED,
        proposed_by_id=actor.user_id,
        method=method,
        created_at=now,
        updated_at=now,
    )
    session.add(refund)
    session.flush()
    record(session, clock, actor, "refund.propose", "refund", refund.id, None, snapshot(refund), p.note)
    return refund


def propose(ctx: AppContext, actor: Actor, proposal: Proposal) -> int:
    with ctx.db.unit_of_work() as s:
        return propose_in(s, ctx.clock, actor, proposal).id


def import_ticket_csv(ctx: AppContext, actor: Actor, filename: str, data: bytes) -> list[int]:
    """Support-ticket export (payment_id, amount, reason, note): every row checked, all or nothing."""
    try:
        rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    except UnicodeDecodeError as exc:
        raise ValidationFailed(f"{filename} is not a UTF-8 CSV file.") from exc
    header = set(rows[0]) if rows else set()
    missing = [c for c in TICKET_COLUMNS[:3] if c not in header]
    if missing or not rows:
        raise ValidationFailed(f"{filename} is missing column(s) {', '.join(missing) or 'and rows'}.", missing)
    proposals, problems = [], []
    for n, row in enumerate(rows, start=2):
        try:
            proposals.append(
                Proposal(
                    int(row["payment_id"]),
                    Money.of(row["amount"].strip()).minor,
                    RefundReason(row["reason"].strip() or RefundReason.PATIENT_REQUEST.value),
                    (row.get("note") or "").strip(),
                    {"source": filename, "row": n},
                )
            )
        except (ValueError, ArithmeticError) as exc:
            problems.append(f"row {n}: {exc}")
    if problems:
        raise ValidationFailed(f"{filename}: nothing imported", problems)
    ids: list[int] = []
    with ctx.db.unit_of_work() as s:
        for n, p in enumerate(proposals, start=2):
            try:
                ids.append(propose_in(s, ctx.clock, actor, p).id)
            except (DomainError, NotFound) as exc:
                problems.append(f"row {n}: {exc}")
        if problems:
            raise ValidationFailed(f"{filename}: nothing imported", problems)
    return ids


def _open_shift(session: Session, refund: Refund, payment: Payment) -> Shift:
    for shift_id in (refund.shift_id, payment.shift_id):
        shift = session.get(Shift, shift_id) if shift_id else None
        if shift is not None and shift.status is ShiftStatus.OPEN:
            return shift
    shift = session.scalar(
        select(Shift)
        .where(Shift.clinic_id == payment.clinic_id, Shift.status == ShiftStatus.OPEN)
        .order_by(Shift.starts_at.desc())
    )
    if shift is None:
        raise DomainError("No shift is open at the desk to pay this cash refund from: open a shift first.")
    return shift


def _pay_from_drawer(session: Session, clock: Clock, actor: Actor, store: ArtefactStore, refund: Refund) -> None:
    payment = _payment(session, refund.payment_id)
    shift = _open_shift(session, refund, payment)
    refund.shift_id = shift.id
    adjustment = ShiftAdjustment(
        shift_id=shift.id,
        kind="refund_from_drawer",
        amount_minor=refund.amount_minor,
        currency=refund.currency,
        reason=f"Cash refund {refund.id}: {refund.note or refund.reason.value.replace('_', ' ')}",
        payment_id=payment.id,
        created_by_id=actor.user_id,
        created_at=clock.now(),
    )
    session.add(adjustment)
    session.flush()
    record(session, clock, actor, "shift.adjust", "shift_adjustment", adjustment.id, None, snapshot(adjustment))
    execution.complete_refund(session, clock, actor, store, refund, f"cash-shift-{shift.id}-adj-{adjustment.id}")


def approve(ctx: AppContext, actor: Actor, refund_id: int, reason: str = "") -> Changes:
    """Approve within the limits; queue the provider refund (or pay cash from the drawer)."""
    with ctx.db.unit_of_work() as s:
        refund = _refund(s, refund_id)
        check_approver(s, actor, refund)
        payment = _payment(s, refund.payment_id)
        check_amount(s, payment, refund.amount_minor, exclude_refund_id=refund.id)
        before = snapshot(refund)
        refund.status = advance("Refund", refund.status, RefundStatus.APPROVED)
        refund.approved_by_id = actor.user_id
        refund.decision_reason = reason
        refund.updated_at = ctx.clock.now()
        record(s, ctx.clock, actor, "refund.approve", "refund", refund.id, before, snapshot(refund), reason)
        if refund.method == "cash":
            _pay_from_drawer(s, ctx.clock, actor, ArtefactStore(ctx.paths.archive), refund)
            return Changes.of(*CHANGED.entities, "shift", message=f"Refund {refund.id} paid in cash from the drawer.")
        enqueue(
            s,
            ctx.clock,
            actor,
            kind=execution.KIND,
            provider=payment.provider,
            payload=execution.payload_for(refund, payment),
            idempotency_key=execution.outbox_key(refund.id),
        )
        return Changes(CHANGED.entities, f"Refund {refund.id} approved: it goes to {payment.provider} now.")


def _decide(ctx: AppContext, actor: Actor, refund_id: int, target: RefundStatus, reason: str) -> Changes:
    if not reason.strip():
        raise DomainError(f"Say why refund {refund_id} is {target.value}: a reason is required.")
    with ctx.db.unit_of_work() as s:
        refund = _refund(s, refund_id)
        if target is RefundStatus.CANCELLED and refund.status is RefundStatus.APPROVED:
            raise DomainError(f"Refund {refund_id} is already queued to the provider: wait for its result.")
        before = snapshot(refund)
        refund.status = advance("Refund", refund.status, target)
        refund.decision_reason = reason.strip()
        refund.updated_at = ctx.clock.now()
        record(s, ctx.clock, actor, f"refund.{target.value}", "refund", refund.id, before, snapshot(refund), reason)
    return Changes(CHANGED.entities, f"Refund {refund_id} {target.value}.")


def reject(ctx: AppContext, actor: Actor, refund_id: int, reason: str) -> Changes:
    require(actor, Permission.APPROVE_REFUND)
    return _decide(ctx, actor, refund_id, RefundStatus.REJECTED, reason)


def cancel(ctx: AppContext, actor: Actor, refund_id: int, reason: str) -> Changes:
    """Withdraw a proposal, or stop an approved/failed refund that has not gone out."""
    require(actor, Permission.PROPOSE_REFUND)
    return _decide(ctx, actor, refund_id, RefundStatus.CANCELLED, reason)


@dataclass(frozen=True, slots=True)
class RefundCase:
    """One refund as the Refunds view shows it: the evidence, what is left, and who did what."""

    id: int
    status: RefundStatus
    amount: Money
    method: str
    payment: str
    evidence: dict[str, Any]
    remaining: Money
    decision_reason: str
    provider_ref: str
    trail: list[tuple[str, str, str, str]]  # (when, who, action, why)
    documents: list[str]


def refund_case(session: Session, refund_id: int) -> RefundCase:
    refund = session.get(Refund, refund_id)
    if refund is None:
        raise NotFound(f"Refund {refund_id} does not exist.")
    payment = _payment(session, refund.payment_id)
    events = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.entity_type == "refund", AuditEvent.entity_id == str(refund_id))
        .order_by(AuditEvent.id)
    )
    docs = session.scalars(select(Artefact.name).where(Artefact.owner_type == "refund", Artefact.owner_id == refund_id))
    return RefundCase(
        refund.id,
        refund.status,
        Money(refund.amount_minor, refund.currency),
        refund.method,
        f"{payment.provider} {payment.provider_ref} ({Money(payment.gross_minor, payment.currency)})",
        json.loads(refund.evidence_json or "{}"),
        refundable(session, payment).remaining,
        refund.decision_reason,
        refund.provider_ref,
        [(e.occurred_at.isoformat(timespec="minutes"), e.actor, e.action, e.reason) for e in events],
        list(docs),
    )
