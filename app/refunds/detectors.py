"""What makes the app propose a refund by itself, each with its evidence.

* duplicate charge: same patient or card fingerprint, same amount, within
  ``refunds.duplicate_window_minutes``, on any provider → refund the later payment;
* insurance overpayment: after a remittance the patient's final share (``Invoice.patient_due_minor``)
  is below what they paid → refund the difference;
* product recall of a batch: every patient who bought it is listed and refunded;
* single product return and subscription/package cancellation (pro rata), started at the desk.

:func:`detect_all` is idempotent: a payment that already has a refund case of the same kind (in
any status, a rejection included) gets no second proposal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import SYSTEM, Actor
from app.clock import Clock
from app.context import AppContext
from app.db.models import Charge, Claim, Invoice, Patient, Payment, Refund, RemittanceLine
from app.domain.status import RefundReason
from app.errors import DomainError, NotFound
from app.money import Money
from app.refunds.policy import REFUNDABLE_PAYMENTS, refundable
from app.refunds.service import Proposal, propose_in
from app.settings import get_setting, set_setting

PATIENT_TENDERS = ("stripe", "square", "paypal", "cash")
RECALLS_KEY = "refunds.recalled_batches"


@dataclass
class DetectReport:
    duplicates: list[int] = field(default_factory=list)
    overpayments: list[int] = field(default_factory=list)
    recalls: list[int] = field(default_factory=list)

    @property
    def proposed(self) -> list[int]:
        return self.duplicates + self.overpayments + self.recalls

    def __str__(self) -> str:
        return (
            f"proposed {len(self.proposed)} refund(s): {len(self.duplicates)} duplicate charge(s), "
            f"{len(self.overpayments)} insurance overpayment(s), {len(self.recalls)} recalled product(s)"
        )


def _has_case(session: Session, payment_id: int, reason: RefundReason) -> bool:
    q = select(Refund.id).where(Refund.payment_id == payment_id, Refund.reason == reason).limit(1)
    return session.scalar(q) is not None


def _try(session: Session, clock: Clock, actor: Actor, p: Proposal) -> int | None:
    if _has_case(session, p.payment_id, p.reason):
        return None
    try:
        return propose_in(session, clock, actor, p).id
    except DomainError:  # nothing left to refund on that payment
        return None


# --------------------------------------------------------------------------- duplicate charges


def _same_payer(a: Payment, b: Payment) -> str:
    if a.patient_id is not None and a.patient_id == b.patient_id:
        return "same patient"
    if a.card_fingerprint and a.card_fingerprint == b.card_fingerprint:
        return "same card"
    return ""


def detect_duplicates(session: Session, clock: Clock, actor: Actor) -> list[int]:
    window = timedelta(minutes=int(get_setting(session, "refunds.duplicate_window_minutes")))
    payments = list(
        session.scalars(
            select(Payment)
            .where(Payment.status.in_(REFUNDABLE_PAYMENTS), Payment.provider.in_(PATIENT_TENDERS))
            .order_by(Payment.gross_minor, Payment.currency, Payment.taken_at, Payment.id)
        )
    )
    proposed = []
    for i, later in enumerate(payments):
        for earlier in reversed(payments[:i]):
            same_amount = (earlier.gross_minor, earlier.currency) == (later.gross_minor, later.currency)
            if not same_amount or later.taken_at - earlier.taken_at > window:
                break
            match = _same_payer(earlier, later)
            if not match:
                continue
            minutes = int((later.taken_at - earlier.taken_at).total_seconds() // 60)
            evidence = {
                "rule": f"{match}, same amount, {minutes} min apart (window {window.seconds // 60} min)",
                "original_payment_id": earlier.id,
                "original": f"{earlier.provider} {earlier.provider_ref} at {earlier.taken_at.isoformat()}",
                "duplicate": f"{later.provider} {later.provider_ref} at {later.taken_at.isoformat()}",
                "amount": str(Money(later.gross_minor, later.currency)),
            }
            note = f"Duplicate of payment {earlier.id} ({match})"
            made = _try(
                session,
                clock,
                actor,
                Proposal(later.id, later.gross_minor, RefundReason.DUPLICATE_CHARGE, note, evidence),
            )
            if made is not None:
                proposed.append(made)
            break
    return proposed


# --------------------------------------------------------------------------- insurance overpayment


def detect_overpayments(session: Session, clock: Clock, actor: Actor) -> list[int]:
    remitted = (
        select(Invoice, RemittanceLine.id)
        .join(Claim, Claim.encounter_id == Invoice.encounter_id)
        .join(RemittanceLine, RemittanceLine.claim_id == Claim.id)
        .order_by(Invoice.id, RemittanceLine.id.desc())
    )
    proposed: list[int] = []
    seen: set[int] = set()
    for invoice, line_id in session.execute(remitted):
        if invoice.id in seen:
            continue
        seen.add(invoice.id)
        payments = list(
            session.scalars(
                select(Payment)
                .where(Payment.invoice_id == invoice.id, Payment.provider.in_(PATIENT_TENDERS))
                .where(Payment.status.in_(REFUNDABLE_PAYMENTS))
                .order_by(Payment.taken_at.desc(), Payment.id.desc())
            )
        )
        if any(_has_case(session, p.id, RefundReason.INSURANCE_OVERPAYMENT) for p in payments):
            continue
        left = {p.id: refundable(session, p).remaining.minor for p in payments}
        paid = sum(left.values())  # what the patient paid, less refunds made or in progress
        over = paid - invoice.patient_due_minor
        evidence: dict[str, Any] = {
            "invoice": invoice.number,
            "remittance_line_id": line_id,
            "patient_share_after_remittance": str(Money(invoice.patient_due_minor, invoice.currency)),
            "patient_paid": str(Money(paid, invoice.currency)),
        }
        for p in payments:  # newest payment first, split when one payment is not enough
            take = min(over, left[p.id])
            if take <= 0:
                continue
            note = f"Overpaid invoice {invoice.number} after the insurer's remittance"
            made = propose_in(
                session, clock, actor, Proposal(p.id, take, RefundReason.INSURANCE_OVERPAYMENT, note, evidence)
            )
            proposed.append(made.id)
            over -= take
    return proposed


# --------------------------------------------------------------------------- product recall and return


@dataclass(frozen=True, slots=True)
class Buyer:
    patient_id: int | None
    patient: str
    payment_id: int
    amount: Money
    refund_id: int | None  # None: a recall refund existed already, or nothing is left to refund


def _batch_amount(session: Session, payment: Payment, batch: str) -> int:
    invoice = session.get(Invoice, payment.invoice_id) if payment.invoice_id else None
    if invoice is not None and invoice.encounter_id is not None:
        lines = session.scalars(
            select(Charge.amount_minor).where(
                Charge.encounter_id == invoice.encounter_id, Charge.product_batch == batch
            )
        )
        total = sum(lines)
        if total:
            return total
    return payment.gross_minor if payment.product_batch == batch else 0


def buyers_of(session: Session, batch: str) -> list[Payment]:
    """Payments for the batch: the payment is marked with it, or its invoice has a charge of it."""
    by_charge = (
        select(Payment.id)
        .join(Invoice, Invoice.id == Payment.invoice_id)
        .join(Charge, Charge.encounter_id == Invoice.encounter_id)
        .where(Charge.product_batch == batch)
    )
    q = (
        select(Payment)
        .where((Payment.product_batch == batch) | Payment.id.in_(by_charge))
        .where(Payment.provider.in_(PATIENT_TENDERS))
        .order_by(Payment.taken_at, Payment.id)
    )
    return list(session.scalars(q))


def recall_in(session: Session, clock: Clock, actor: Actor, batch: str, note: str = "") -> list[Buyer]:
    batch = batch.strip()
    if not batch:
        raise DomainError("Give the batch number of the recalled product.")
    out = []
    for payment in buyers_of(session, batch):
        amount = min(_batch_amount(session, payment, batch), refundable(session, payment).remaining.minor)
        patient = session.get(Patient, payment.patient_id) if payment.patient_id else None
        refund_id = None
        if amount > 0 and payment.status in REFUNDABLE_PAYMENTS:
            evidence = {"batch": batch, "recall_note": note, "product_amount": str(Money(amount, payment.currency))}
            text = f"Recall of batch {batch}" + (f": {note}" if note else "")
            refund_id = _try(
                session, clock, actor, Proposal(payment.id, amount, RefundReason.PRODUCT_RECALL, text, evidence)
            )
        name = f"{patient.first_name} {patient.last_name}" if patient else "Unknown patient"
        out.append(Buyer(payment.patient_id, name, payment.id, Money(amount, payment.currency), refund_id))
    return out


def recall_batch(ctx: AppContext, actor: Actor, batch: str, note: str = "") -> list[Buyer]:
    """Recall a batch: every buyer listed, refunds proposed; later runs of detect_all catch new buyers."""
    with ctx.db.unit_of_work() as s:
        buyers = recall_in(s, ctx.clock, actor, batch, note)
        recalled = list(get_setting(s, RECALLS_KEY) or [])
        if batch.strip() not in recalled:
            set_setting(s, ctx.clock, actor, RECALLS_KEY, [*recalled, batch.strip()])
        return buyers


def propose_return(ctx: AppContext, actor: Actor, charge_id: int, payment_id: int, note: str = "") -> int:
    """A single product returned at the desk: refund that product line of the payment."""
    with ctx.db.unit_of_work() as s:
        charge = s.get(Charge, charge_id)
        if charge is None:
            raise NotFound(f"Product line {charge_id} does not exist.")
        evidence = {"charge_id": charge.id, "product": charge.description, "batch": charge.product_batch}
        text = note or f"Returned: {charge.description}"
        return propose_in(
            s, ctx.clock, actor, Proposal(payment_id, charge.amount_minor, RefundReason.PRODUCT_RETURN, text, evidence)
        ).id


# --------------------------------------------------------------------------- pro-rata cancellation


def prorata_minor(paid_minor: int, total_units: int, used_units: int) -> int:
    """Unused share of a package: paid x unused / total, in integers, rounded half up to the penny."""
    if total_units <= 0 or not 0 <= used_units <= total_units or paid_minor < 0:
        raise DomainError(f"A package of {total_units} with {used_units} used cannot be pro-rated.")
    numerator = paid_minor * (total_units - used_units)
    return (2 * numerator + total_units) // (2 * total_units)


def propose_cancellation(
    ctx: AppContext, actor: Actor, payment_id: int, total_units: int, used_units: int, unit: str = "sessions"
) -> int:
    """A subscription or package cancelled: refund the unused part, pro rata."""
    with ctx.db.unit_of_work() as s:
        payment = s.get(Payment, payment_id)
        if payment is None:
            raise NotFound(f"Payment {payment_id} does not exist.")
        amount = prorata_minor(payment.gross_minor, total_units, used_units)
        evidence = {
            "formula": f"{payment.gross_minor} x ({total_units} - {used_units}) / {total_units}, rounded half up",
            "paid": str(Money(payment.gross_minor, payment.currency)),
            "used": f"{used_units} of {total_units} {unit}",
        }
        note = f"Cancelled with {total_units - used_units} of {total_units} {unit} unused"
        p = Proposal(payment.id, amount, RefundReason.SUBSCRIPTION_CANCELLATION, note, evidence)
        return propose_in(s, ctx.clock, actor, p).id


def detect_all(ctx: AppContext, actor: Actor = SYSTEM) -> DetectReport:
    """Run every detector in one transaction; running it twice proposes nothing twice."""
    report = DetectReport()
    with ctx.db.unit_of_work() as s:
        report.duplicates = detect_duplicates(s, ctx.clock, actor)
        report.overpayments = detect_overpayments(s, ctx.clock, actor)
        for batch in get_setting(s, RECALLS_KEY) or []:
            report.recalls += [b.refund_id for b in recall_in(s, ctx.clock, actor, str(batch)) if b.refund_id]
    return report
