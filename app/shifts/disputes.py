"""Card disputes seen at Stripe or Square: a Dispute row for the operations role with an evidence
checklist and the provider's deadline, plus a task; the status is followed until won or lost."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import Actor, record, snapshot
from app.clock import Clock
from app.connectors.base import ProviderDispute
from app.db.models import Dispute, Payment, Task
from app.domain.status import DisputeKind, DisputeStatus, PaymentStatus, TaskPriority, TaskStatus, advance, can_move
from app.tasks import open_task, set_task_status

#: Disputes go to the people who run the clinic's operations: the manager role.
OPERATIONS_ROLE = "manager"
DEFAULT_RESPONSE_DAYS = 7

_STATUS = {
    "warning_needs_response": DisputeStatus.OPEN,
    "needs_response": DisputeStatus.OPEN,
    "evidence_required": DisputeStatus.OPEN,
    "inquiry_evidence_required": DisputeStatus.OPEN,
    "warning_under_review": DisputeStatus.EVIDENCE_SUBMITTED,
    "under_review": DisputeStatus.EVIDENCE_SUBMITTED,
    "processing": DisputeStatus.EVIDENCE_SUBMITTED,
    "inquiry_processing": DisputeStatus.EVIDENCE_SUBMITTED,
    "won": DisputeStatus.WON,
    "warning_closed": DisputeStatus.WON,
    "lost": DisputeStatus.LOST,
    "accepted": DisputeStatus.LOST,
}

_COMMON = ("Invoice and card receipt for the payment", "Treatment record signed off by the practitioner")
_BY_REASON = {
    "fraudulent": (
        "Terminal receipt showing chip & PIN or contactless",
        "Booking record proving the patient's identity",
        "Earlier undisputed payments with the same card",
    ),
    "no_receipt": ("Appointment attendance record", "Booking confirmation sent to the patient"),
    "not_as_described": ("Consent form for the treatment", "Cancellation and refund policy shown to the patient"),
    "duplicate": ("Both payment references with the separate services they paid for",),
}


def provider_status(word: str) -> DisputeStatus:
    return _STATUS.get(word.strip().lower(), DisputeStatus.OPEN)


def checklist(reason: str) -> list[dict[str, object]]:
    key = reason.strip().lower()
    extra = next((items for k, items in _BY_REASON.items() if k in key), ("Correspondence with the patient",))
    return [{"item": text, "done": False} for text in (*_COMMON, *extra)]


def _task_key(dispute: Dispute) -> str:
    return f"dispute:{dispute.provider}:{dispute.provider_ref}"


def upsert_dispute(session: Session, clock: Clock, actor: Actor, seen: ProviderDispute) -> tuple[Dispute, bool]:
    """Store a newly opened dispute (with its task) or follow a known one's status; True when new."""
    dispute = session.scalar(
        select(Dispute).where(Dispute.provider == seen.provider, Dispute.provider_ref == seen.provider_ref)
    )
    if dispute is None:
        return _open(session, clock, actor, seen), True
    target = provider_status(seen.status)
    if target != dispute.status and can_move(dispute.status, target):
        before = snapshot(dispute)
        dispute.status = advance("Dispute", dispute.status, target)
        if target in (DisputeStatus.WON, DisputeStatus.LOST):
            dispute.resolution = f"{seen.provider.capitalize()} closed the dispute as {target.value}."
            _settle_payment(session, clock, actor, dispute, target)
            task = session.scalar(select(Task).where(Task.dedupe_key == _task_key(dispute)))
            if task is not None and task.status in (TaskStatus.OPEN, TaskStatus.IN_PROGRESS):
                set_task_status(session, clock, actor, task.id, TaskStatus.DONE, dispute.resolution)
        record(session, clock, actor, f"dispute.{target.value}", "dispute", dispute.id, before, snapshot(dispute))
    return dispute, False


def _open(session: Session, clock: Clock, actor: Actor, seen: ProviderDispute) -> Dispute:
    payment = session.scalar(
        select(Payment).where(Payment.provider == seen.provider, Payment.provider_ref == seen.payment_ref)
    )
    due = seen.evidence_due_by or (seen.created_at + timedelta(days=DEFAULT_RESPONSE_DAYS))
    dispute = Dispute(
        kind=DisputeKind.CARD,
        payment_id=payment.id if payment else None,
        provider=seen.provider,
        provider_ref=seen.provider_ref,
        amount_minor=seen.amount.minor,
        currency=seen.amount.currency,
        reason=seen.reason[:200],
        status=DisputeStatus.OPEN,
        due_at=due,
        owner_role=OPERATIONS_ROLE,
        checklist_json=json.dumps(checklist(seen.reason)),
        resolution="",
        opened_at=seen.created_at,
    )
    session.add(dispute)
    session.flush()
    record(session, clock, actor, "dispute.open", "dispute", dispute.id, None, snapshot(dispute))
    if payment is not None and can_move(payment.status, PaymentStatus.DISPUTED):
        before = snapshot(payment)
        payment.status = advance("Payment", payment.status, PaymentStatus.DISPUTED)
        record(session, clock, actor, "payment.disputed", "payment", payment.id, before, snapshot(payment))
    target = provider_status(seen.status)
    if target != DisputeStatus.OPEN:
        dispute.status = advance("Dispute", dispute.status, target)
    _task(session, clock, actor, dispute, payment, due)
    return dispute


def _task(
    session: Session, clock: Clock, actor: Actor, dispute: Dispute, payment: Payment | None, due: datetime
) -> None:
    paid = f"payment {payment.provider_ref} taken {payment.taken_at:%d %b %Y %H:%M} UTC" if payment else "a payment"
    items = "; ".join(str(i["item"]) for i in json.loads(dispute.checklist_json))
    open_task(
        session,
        clock,
        actor,
        kind="card_dispute",
        title=f"Card dispute {dispute.provider_ref} ({dispute.provider}): answer by {due:%d %b %Y}",
        detail=f"{dispute.reason} on {paid}. Evidence to gather: {items}.",
        recommended_fix=f"Gather the evidence and submit it in the {dispute.provider.capitalize()} dashboard "
        "before the deadline.",
        owner_role=OPERATIONS_ROLE,
        priority=TaskPriority.HIGH,
        due_at=due - timedelta(days=1),
        entity_type="dispute",
        entity_id=dispute.id,
        dedupe_key=_task_key(dispute),
    )


def _settle_payment(session: Session, clock: Clock, actor: Actor, dispute: Dispute, outcome: DisputeStatus) -> None:
    payment = session.get(Payment, dispute.payment_id) if dispute.payment_id else None
    if payment is None or payment.status != PaymentStatus.DISPUTED:
        return
    target = PaymentStatus.SUCCEEDED if outcome is DisputeStatus.WON else PaymentStatus.REFUNDED
    before = snapshot(payment)
    payment.status = advance("Payment", payment.status, target)
    record(session, clock, actor, f"payment.dispute_{outcome.value}", "payment", payment.id, before, snapshot(payment))
