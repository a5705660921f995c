"""Each trigger proposes the right refund with its evidence; detect_all is idempotent."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.audit import SYSTEM
from app.db.models import AuditEvent, Claim, Payer, Refund, Remittance, RemittanceLine
from app.domain.status import PayerKind, RefundReason, RefundStatus
from app.errors import ValidationFailed
from app.refunds import detectors, service
from app.refunds.detectors import prorata_minor
from tests.refunds_flow.conftest import Clinic1


def _refund(c: Clinic1, refund_id: int) -> Refund:
    with c.ctx.db.read() as s:
        r = s.get(Refund, refund_id)
        assert r is not None
        return r


def _all(c: Clinic1) -> list[Refund]:
    with c.ctx.db.read() as s:
        return list(s.scalars(select(Refund).order_by(Refund.id)))


def test_duplicate_charge_same_card_any_provider_within_the_window(clinic: Clinic1) -> None:
    now = clinic.ctx.clock.now()
    first = clinic.payment(6000, provider="stripe", fingerprint="fp-ada", at=now - timedelta(minutes=40))
    dup = clinic.payment(6000, provider="square", fingerprint="fp-ada", patient_id=None, at=now - timedelta(minutes=25))
    clinic.payment(6000, provider="stripe", fingerprint="fp-other", patient_id=None, at=now - timedelta(minutes=20))
    clinic.payment(6000, provider="stripe", patient_id=clinic.other_patient_id, at=now - timedelta(hours=5))

    report = detectors.detect_all(clinic.ctx)

    assert len(report.duplicates) == 1
    r = _refund(clinic, report.duplicates[0])
    assert (r.payment_id, r.amount_minor, r.reason, r.status) == (
        dup,
        6000,
        RefundReason.DUPLICATE_CHARGE,
        RefundStatus.PROPOSED,
    )
    evidence = json.loads(r.evidence_json)
    assert evidence["original_payment_id"] == first
    assert "same card" in evidence["rule"] and "15 min apart" in evidence["rule"]
    assert detectors.detect_all(clinic.ctx).proposed == []  # idempotent


def test_duplicate_outside_the_configured_window_is_not_proposed(clinic: Clinic1) -> None:
    now = clinic.ctx.clock.now()
    clinic.payment(4500, at=now - timedelta(minutes=90))
    clinic.payment(4500, at=now - timedelta(minutes=50))  # same patient, 40 min apart; window is 30

    assert detectors.detect_all(clinic.ctx).duplicates == []


def _remit(c: Clinic1, encounter_id: int) -> int:
    with c.ctx.db.unit_of_work() as s:
        payer = Payer(code="BUPA", name="Bupa", kind=PayerKind.INSURER)
        s.add(payer)
        s.flush()
        now = c.ctx.clock.now()
        claim = Claim(
            number="CLM-000001",
            clinic_id=c.clinic_id,
            patient_id=c.patient_id,
            practitioner_id=c.practitioner_id,
            payer_id=payer.id,
            encounter_id=encounter_id,
            service_date=now.date(),
            total_minor=10000,
            currency="GBP",
            created_at=now,
            updated_at=now,
        )
        s.add(claim)
        s.flush()
        rem = Remittance(
            payer_id=payer.id,
            source_format="x12_835",
            filename="era.835",
            raw_sha256="0" * 64,
            trace_number="T1",
            total_paid_minor=8000,
            currency="GBP",
            received_at=now,
        )
        s.add(rem)
        s.flush()
        line = RemittanceLine(
            remittance_id=rem.id,
            claim_id=claim.id,
            charged_minor=10000,
            paid_minor=8000,
            patient_resp_minor=2000,
            currency="GBP",
        )
        s.add(line)
        s.flush()
        return line.id


def test_overpayment_after_remittance_refunds_the_difference(clinic: Clinic1) -> None:
    invoice_id, encounter_id = clinic.invoice(10000, patient_due=2000)
    paid = clinic.payment(5000, invoice_id=invoice_id)  # paid a 50 % co-pay at the desk
    line_id = _remit(clinic, encounter_id)  # the insurer paid 80 %: the patient owes 20.00

    report = detectors.detect_all(clinic.ctx)

    assert len(report.overpayments) == 1
    r = _refund(clinic, report.overpayments[0])
    assert (r.payment_id, r.amount_minor, r.reason) == (paid, 3000, RefundReason.INSURANCE_OVERPAYMENT)
    ev = json.loads(r.evidence_json)
    assert ev["remittance_line_id"] == line_id and ev["patient_paid"] == "£50.00"
    assert detectors.detect_all(clinic.ctx).proposed == []


def test_recall_of_a_batch_proposes_refunds_to_exactly_its_buyers(clinic: Clinic1) -> None:
    inv1, _ = clinic.invoice(4800, 4800, (("Gui Pi Tang granules", 2800, "GPT-2611"), ("Acupuncture", 2000, "")))
    buyer1 = clinic.payment(4800, invoice_id=inv1)
    buyer2 = clinic.payment(1900, patient_id=clinic.other_patient_id, batch="GPT-2611")
    inv3, _ = clinic.invoice(2800, 2800, (("Gui Pi Tang granules", 2800, "GPT-2699"),))  # another batch
    clinic.payment(2800, invoice_id=inv3)
    clinic.payment(2000)  # treatment only

    buyers = detectors.recall_batch(clinic.ctx, clinic.manager, "GPT-2611", "supplier recall notice 14")

    assert {(b.payment_id, b.amount.minor, b.patient) for b in buyers} == {
        (buyer1, 2800, "Ada Lovelace"),
        (buyer2, 1900, "Bob Brown"),
    }
    refunds = _all(clinic)
    assert {(r.payment_id, r.amount_minor) for r in refunds} == {(buyer1, 2800), (buyer2, 1900)}
    assert {r.reason for r in refunds} == {RefundReason.PRODUCT_RECALL}
    assert detectors.detect_all(clinic.ctx).recalls == []  # recorded batch re-checked: nothing twice
    late = clinic.payment(1900, batch="GPT-2611")  # sold after the recall
    assert [_refund(clinic, i).payment_id for i in detectors.detect_all(clinic.ctx).recalls] == [late]


def test_single_return_refunds_the_product_line(clinic: Clinic1) -> None:
    inv, enc = clinic.invoice(4800, 4800, (("Herbal tea", 1250, "HT-1"), ("Acupuncture", 3550, "")))
    paid = clinic.payment(4800, invoice_id=inv)
    from app.db.models import Charge

    with clinic.ctx.db.read() as s:
        tea = s.scalar(select(Charge.id).where(Charge.encounter_id == enc, Charge.product_batch == "HT-1"))
    assert tea is not None

    r = _refund(clinic, detectors.propose_return(clinic.ctx, clinic.desk, tea, paid))

    assert (r.amount_minor, r.reason, r.proposed_by_id) == (1250, RefundReason.PRODUCT_RETURN, clinic.desk.user_id)
    assert json.loads(r.evidence_json)["product"] == "Herbal tea"


def test_prorata_is_exact_integer_maths_rounded_half_up() -> None:
    assert prorata_minor(10000, 3, 1) == 6667  # 6666.67 -> 6667
    assert prorata_minor(10000, 6, 5) == 1667  # 1666.67
    assert prorata_minor(9999, 2, 1) == 5000  # 4999.5 -> 5000 (half up)
    assert prorata_minor(12000, 12, 12) == 0
    assert prorata_minor(12000, 12, 0) == 12000


def test_package_cancellation_proposes_the_pro_rata_amount(clinic: Clinic1) -> None:
    paid = clinic.payment(30000)  # a 6-session package

    r = _refund(clinic, detectors.propose_cancellation(clinic.ctx, clinic.desk, paid, 6, 2))

    assert (r.amount_minor, r.reason) == (20000, RefundReason.SUBSCRIPTION_CANCELLATION)
    assert "30000 x (6 - 2) / 6" in json.loads(r.evidence_json)["formula"]


def test_manual_proposal_is_audit_logged_with_who_and_why(clinic: Clinic1) -> None:
    paid = clinic.payment(4500)

    refund_id = service.propose(
        clinic.ctx, clinic.manager, service.Proposal(paid, 1500, RefundReason.MANUAL, "goodwill")
    )

    with clinic.ctx.db.read() as s:
        ev = s.scalar(
            select(AuditEvent).where(AuditEvent.action == "refund.propose", AuditEvent.entity_id == str(refund_id))
        )
    assert ev is not None and (ev.actor, ev.reason) == ("manny", "goodwill")


def test_support_ticket_csv_all_or_nothing(clinic: Clinic1) -> None:
    a, b = clinic.payment(4500), clinic.payment(2000)
    bad = f"payment_id,amount,reason,note\n{a},10.00,patient_request,ticket 1\n{b},25.00,patient_request,ticket 2\n"

    with pytest.raises(ValidationFailed) as caught:
        service.import_ticket_csv(clinic.ctx, clinic.desk, "tickets.csv", bad.encode())
    assert "row 3" in str(caught.value) and "£20.00 still refundable" in str(caught.value)
    assert _all(clinic) == []

    good = bad.replace("25.00", "20.00")
    assert len(service.import_ticket_csv(clinic.ctx, clinic.desk, "tickets.csv", good.encode())) == 2
    with pytest.raises(ValidationFailed, match="missing column"):
        service.import_ticket_csv(clinic.ctx, clinic.desk, "t2.csv", b"payment,amount\n1,2\n")


def test_system_actor_may_propose(clinic: Clinic1) -> None:
    paid = clinic.payment(1000)
    rid = service.propose(clinic.ctx, SYSTEM, service.Proposal(paid, 1000, RefundReason.MANUAL))
    assert _refund(clinic, rid).proposed_by_id is None
