"""Over-refund, self-approval and over-limit approval are refused with clear messages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.context import AppContext
from app.db.models import AuditEvent, OutboxMessage, Refund
from app.domain.status import RefundReason, RefundStatus
from app.errors import DomainError, PermissionDenied
from app.refunds import detectors, service
from app.refunds.service import Proposal
from tests.refunds_flow.conftest import Clinic1, make_clinic


def _status(c: Clinic1, refund_id: int) -> RefundStatus:
    with c.ctx.db.read() as s:
        r = s.get(Refund, refund_id)
        assert r is not None
        return r.status


def test_over_refund_says_the_remaining_amount_counting_earlier_partial_refunds(clinic: Clinic1) -> None:
    paid = clinic.payment(8000)
    service.propose(clinic.ctx, clinic.desk, Proposal(paid, 2500, RefundReason.PATIENT_REQUEST))
    rejected = service.propose(clinic.ctx, clinic.desk, Proposal(paid, 1000, RefundReason.PATIENT_REQUEST))
    service.reject(clinic.ctx, clinic.manager, rejected, "not eligible")  # rejected ones free the money again

    with pytest.raises(DomainError) as caught:
        service.propose(clinic.ctx, clinic.desk, Proposal(paid, 5600, RefundReason.PATIENT_REQUEST))

    assert str(caught.value) == (
        f"A refund of £56.00 is more than the £55.00 still refundable on payment {paid} "
        "(£80.00 paid, £0.00 refunded, £25.00 in progress)."
    )
    service.propose(clinic.ctx, clinic.desk, Proposal(paid, 5500, RefundReason.PATIENT_REQUEST))


def test_nobody_approves_a_refund_they_proposed(clinic: Clinic1) -> None:
    rid = service.propose(clinic.ctx, clinic.manager, Proposal(clinic.payment(3000), 3000, RefundReason.MANUAL))

    with pytest.raises(PermissionDenied, match=f"manny proposed refund {rid}, so someone else must approve it"):
        service.approve(clinic.ctx, clinic.manager, rid)

    assert _status(clinic, rid) is RefundStatus.PROPOSED
    service.approve(clinic.ctx, clinic.manager2, rid, "checked the receipt")
    assert _status(clinic, rid) is RefundStatus.APPROVED


def test_manager_limit_then_finance_above_it(clinic: Clinic1) -> None:
    rid = service.propose(clinic.ctx, clinic.desk, Proposal(clinic.payment(90000), 60000, RefundReason.PATIENT_REQUEST))

    with pytest.raises(PermissionDenied) as caught:
        service.approve(clinic.ctx, clinic.manager, rid)
    assert "above the manager approval limit of £500.00: a finance user must approve it" in str(caught.value)

    service.approve(clinic.ctx, clinic.finance, rid, "large but valid")
    with clinic.ctx.db.read() as s:
        msg = s.scalar(select(OutboxMessage).where(OutboxMessage.idempotency_key == f"refund-{rid}"))
        assert msg is not None and msg.kind == "refund.execute"  # queued in the approval's transaction
        ev = s.scalar(select(AuditEvent).where(AuditEvent.action == "refund.approve"))
        assert ev is not None and (ev.actor, ev.reason) == ("fiona", "large but valid")


def test_front_desk_proposes_only(clinic: Clinic1) -> None:
    rid = service.propose(clinic.ctx, clinic.manager, Proposal(clinic.payment(1000), 1000, RefundReason.MANUAL))
    with pytest.raises(PermissionDenied, match=r"desk \(Front desk\) may not approve refund"):
        service.approve(clinic.ctx, clinic.desk, rid)


def test_reject_needs_a_reason_and_cancel_is_logged(clinic: Clinic1) -> None:
    rid = service.propose(clinic.ctx, clinic.desk, Proposal(clinic.payment(1000), 500, RefundReason.PATIENT_REQUEST))
    with pytest.raises(DomainError, match="a reason is required"):
        service.reject(clinic.ctx, clinic.manager, rid, "  ")
    service.cancel(clinic.ctx, clinic.desk, rid, "patient changed their mind")
    assert _status(clinic, rid) is RefundStatus.CANCELLED


def test_whole_case_on_sqlite_and_postgresql(any_ctx: AppContext) -> None:
    c = make_clinic(any_ctx)
    now = any_ctx.clock.now()
    c.payment(3000, at=now - timedelta(minutes=20), fingerprint="fp-1")
    dup = c.payment(3000, provider="square", at=now - timedelta(minutes=5), fingerprint="fp-1")
    [rid] = detectors.detect_all(any_ctx).duplicates
    assert detectors.detect_all(any_ctx).proposed == []
    with pytest.raises(PermissionDenied):
        service.approve(any_ctx, c.desk, rid)
    service.approve(any_ctx, c.manager, rid, "same card twice")
    cash = c.payment(1200, provider="cash")
    service.approve(
        any_ctx, c.finance, service.propose(any_ctx, c.desk, Proposal(cash, 1200, RefundReason.PRODUCT_RETURN))
    )
    with any_ctx.db.read() as s:
        statuses = {r.payment_id: r.status for r in s.scalars(select(Refund))}
    assert statuses == {dup: RefundStatus.APPROVED, cash: RefundStatus.SUCCEEDED}
