"""One dispute lifecycle for card, patient billing and remittance-line disputes."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.archive import artefact_bytes
from app.claims.artefacts import ArtefactStore
from app.db.models import Dispute, LedgerPosting, Payment
from app.disputes import service
from app.domain.status import DisputeKind, DisputeStatus
from app.errors import DomainError, NotFound, PermissionDenied
from tests.refunds_flow.conftest import Clinic1


def test_card_dispute_opened_with_original_checklist_due_date_and_owner(clinic: Clinic1) -> None:
    ctx = clinic.ctx
    payment_id = clinic.payment(6000, provider="stripe", ref="pi_disputed")

    did = service.open_dispute(ctx, clinic.manager, DisputeKind.CARD, reason="fraudulent", payment_id=payment_id)

    with ctx.db.read() as s:
        d = service.dispute_detail(s, did)
        original = artefact_bytes(s, ArtefactStore(ctx.paths.archive), "dispute", did, service.ORIGINAL)
    assert (d.amount.minor, d.owner_role, d.due_at) == (6000, "manager", ctx.clock.now() + timedelta(days=7))
    assert [i.done for i in d.checklist] == [False] * 4 and d.original["provider_ref"] == "pi_disputed"
    assert original is not None and json.loads(original)["record"]["gross_minor"] == 6000

    service.tick(ctx, clinic.desk, did, "Booking confirmation")
    service.submit_evidence(ctx, clinic.manager, did, "sent to Stripe")
    with ctx.db.read() as s:
        d = service.dispute_detail(s, did)
    assert d.status is DisputeStatus.EVIDENCE_SUBMITTED
    assert [i.item for i in d.checklist if i.done] == ["Booking confirmation"]


def test_lost_card_dispute_is_a_new_ledger_entry_the_payment_kept(clinic: Clinic1) -> None:
    ctx = clinic.ctx
    payment_id = clinic.payment(6000)
    did = service.open_dispute(ctx, clinic.manager, DisputeKind.CARD, reason="not received", payment_id=payment_id)

    with pytest.raises(PermissionDenied):
        service.resolve(ctx, clinic.desk, did, DisputeStatus.LOST, "bank decided")
    change = service.resolve(ctx, clinic.manager, did, DisputeStatus.LOST, "bank decided for the cardholder")

    assert "(-£60.00 booked as a new entry)" in change.message
    with ctx.db.read() as s:
        posting = s.scalar(select(LedgerPosting).where(LedgerPosting.source_kind == "dispute"))
        payment = s.get(Payment, payment_id)
    assert posting is not None and (posting.kind, posting.amount_minor, posting.patient_id) == (
        "dispute_loss",
        -6000,
        clinic.patient_id,
    )
    assert payment is not None and payment.gross_minor == 6000  # the original is kept as it was


def test_billing_dispute_corrected_and_won_disputes_move_no_money(clinic: Clinic1) -> None:
    ctx = clinic.ctx
    invoice_id, _ = clinic.invoice(9000, 9000)
    did = service.open_dispute(ctx, clinic.desk, DisputeKind.PATIENT_BILLING, reason="package", invoice_id=invoice_id)
    with pytest.raises(DomainError, match="corrected amount"):
        service.resolve(ctx, clinic.manager, did, DisputeStatus.CORRECTED, "price list error")
    service.resolve(ctx, clinic.manager, did, DisputeStatus.CORRECTED, "price list error", correction_minor=-1500)

    won = service.open_dispute(ctx, clinic.desk, DisputeKind.PATIENT_BILLING, reason="x", invoice_id=invoice_id)
    service.resolve(ctx, clinic.desk, won, DisputeStatus.WON, "patient agreed after seeing the record")
    with ctx.db.read() as s:
        postings = [(p.source_id, p.kind, p.amount_minor) for p in s.scalars(select(LedgerPosting))]
        open_ids = [d.id for d in service.open_disputes(s)]
        resolved = s.get(Dispute, did)
    assert postings == [(did, "correction", -1500)]
    assert open_ids == [] and resolved is not None and resolved.resolution == "price list error"
    with pytest.raises(NotFound, match="needs an existing remittance line"):
        service.open_dispute(ctx, clinic.manager, DisputeKind.REMITTANCE_LINE, reason="x", remittance_line_id=999)


def test_open_disputes_soonest_due_first(clinic: Clinic1) -> None:
    ctx = clinic.ctx
    later = service.open_dispute(ctx, clinic.manager, DisputeKind.CARD, reason="a", payment_id=clinic.payment(100))
    sooner = service.open_dispute(
        ctx,
        clinic.manager,
        DisputeKind.CARD,
        reason="b",
        payment_id=clinic.payment(200),
        due_at=ctx.clock.now() + timedelta(days=1),
    )
    with ctx.db.read() as s:
        assert [d.id for d in service.open_disputes(s)] == [sooner, later]
