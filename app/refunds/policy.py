"""Refund policy: how much is still refundable on a payment, and who may approve which refund."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit import Actor
from app.db.models import Payment, Refund
from app.domain.status import PaymentStatus, RefundStatus, Role
from app.errors import DomainError, PermissionDenied
from app.money import Money
from app.settings import get_setting
from app.users import ROLE_LABELS, Permission, require

NOT_COUNTED = (RefundStatus.FAILED, RefundStatus.CANCELLED, RefundStatus.REJECTED)
IN_PROGRESS = (RefundStatus.PROPOSED, RefundStatus.APPROVED, RefundStatus.SENT)
REFUNDABLE_PAYMENTS = (PaymentStatus.SUCCEEDED, PaymentStatus.PARTLY_REFUNDED, PaymentStatus.DISPUTED)


@dataclass(frozen=True, slots=True)
class Refundable:
    """What is left to refund on one payment: gross less refunds made or in progress."""

    gross: Money
    refunded: Money  # succeeded (ours, or refunded at the provider directly)
    in_progress: Money  # proposed, approved or sent
    remaining: Money


def _sum(session: Session, payment_id: int, statuses: tuple[RefundStatus, ...], exclude: int | None) -> int:
    q = select(func.coalesce(func.sum(Refund.amount_minor), 0)).where(
        Refund.payment_id == payment_id, Refund.status.in_(statuses)
    )
    if exclude is not None:
        q = q.where(Refund.id != exclude)
    return int(session.scalar(q) or 0)


def refundable(session: Session, payment: Payment, exclude_refund_id: int | None = None) -> Refundable:
    """Remaining = gross - refunds not failed/cancelled/rejected (earlier partial refunds counted)."""
    succeeded = _sum(session, payment.id, (RefundStatus.SUCCEEDED,), exclude_refund_id)
    refunded = max(succeeded, payment.refunded_minor)
    pending = _sum(session, payment.id, IN_PROGRESS, exclude_refund_id)
    cur = payment.currency
    remaining = max(0, payment.gross_minor - refunded - pending)
    return Refundable(Money(payment.gross_minor, cur), Money(refunded, cur), Money(pending, cur), Money(remaining, cur))


def check_amount(session: Session, payment: Payment, amount_minor: int, exclude_refund_id: int | None = None) -> None:
    """Refuse a refund above what is still refundable; the message says the remaining amount."""
    cur = payment.currency
    if amount_minor <= 0:
        raise DomainError(f"A refund must be for more than {Money.zero(cur)}.")
    if payment.status not in REFUNDABLE_PAYMENTS:
        raise DomainError(f"Payment {payment.id} is {payment.status.value.replace('_', ' ')}: it cannot be refunded.")
    left = refundable(session, payment, exclude_refund_id)
    if amount_minor > left.remaining.minor:
        raise DomainError(
            f"A refund of {Money(amount_minor, cur)} is more than the {left.remaining} still refundable on "
            f"payment {payment.id} ({left.gross} paid, {left.refunded} refunded, {left.in_progress} in progress)."
        )


def manager_limit(session: Session) -> int:
    return int(get_setting(session, "refunds.manager_limit_minor"))


def check_approver(session: Session, actor: Actor, refund: Refund) -> None:
    """Front desk proposes only; a manager approves up to the limit; finance (or admin) above it.
    Nobody approves a refund they proposed."""
    require(actor, Permission.APPROVE_REFUND)
    if refund.proposed_by_id is not None and refund.proposed_by_id == actor.user_id:
        raise PermissionDenied(
            f"{actor.username} proposed refund {refund.id}, so someone else must approve it "
            "(nobody approves their own refund)."
        )
    limit = manager_limit(session)
    if actor.role is Role.MANAGER and refund.amount_minor > limit:
        raise PermissionDenied(
            f"Refund {refund.id} of {Money(refund.amount_minor, refund.currency)} is above the "
            f"{ROLE_LABELS[Role.MANAGER].lower()} approval limit of {Money(limit, refund.currency)}: "
            "a finance user must approve it."
        )
