"""Telling people about a refund: patient e-mail and SMS from editable templates, a staff webhook
alert, and the acknowledgement PDF the patient signs at the desk, kept with the case."""

from __future__ import annotations

import io
from collections.abc import Mapping
from string import Template
from typing import Any

from sqlalchemy.orm import Session

from app.archive import keep_artefact
from app.audit import SYSTEM, Actor
from app.claims.artefacts import ArtefactStore
from app.clock import Clock
from app.db.models import Artefact, Clinic, Patient, Payment, Refund, User
from app.money import Money
from app.outbox import enqueue
from app.reports.pdf_common import ClinicDetails
from app.reports.refund_ack import RefundAcknowledgement, render_refund_ack_pdf
from app.settings import get_setting

EMAIL_TEMPLATE_KEY = "templates.refund_email"
SMS_TEMPLATE_KEY = "templates.refund_sms"
DEFAULT_EMAIL = {
    "subject": "Your refund of $amount from $clinic",
    "body": (
        "Dear $patient,\n\nWe have refunded $amount ($reference) $method. Depending on your bank it can "
        "take $expected to reach you.\n\nReason: $reason\n\nKind regards,\n$clinic"
    ),
}
DEFAULT_SMS = {"body": "$clinic: we have refunded $amount ($reference) $method. It can take $expected to arrive."}
METHOD_WORDS = {"cash": "in cash at the desk", "original": "to the card or account you paid with"}
EXPECTED = {"cash": "no time (paid in cash)", "original": "3-5 working days"}


def reference(refund: Refund) -> str:
    return f"RF-{refund.id:06d}"


def _template(session: Session, key: str, default: Mapping[str, str]) -> dict[str, str]:
    value = get_setting(session, key)
    merged = dict(default)
    if isinstance(value, dict):
        merged.update({k: str(v) for k, v in value.items() if k in default})
    return merged


def template_values(session: Session, refund: Refund) -> dict[str, str]:
    payment = session.get(Payment, refund.payment_id)
    assert payment is not None
    patient = session.get(Patient, payment.patient_id) if payment.patient_id else None
    clinic = session.get(Clinic, payment.clinic_id)
    return {
        "patient": f"{patient.first_name} {patient.last_name}" if patient else "patient",
        "amount": str(Money(refund.amount_minor, refund.currency)),
        "reference": reference(refund),
        "clinic": clinic.name if clinic else "the clinic",
        "method": METHOD_WORDS.get(refund.method, METHOD_WORDS["original"]),
        "expected": EXPECTED.get(refund.method, EXPECTED["original"]),
        "reason": refund.reason.value.replace("_", " "),
    }


def render(session: Session, key: str, refund: Refund) -> dict[str, str]:
    """The template under ``key`` (or the default) filled in; unknown $names are left as typed."""
    default = DEFAULT_EMAIL if key == EMAIL_TEMPLATE_KEY else DEFAULT_SMS
    values = template_values(session, refund)
    return {k: Template(v).safe_substitute(values) for k, v in _template(session, key, default).items()}


def _configured(session: Session, provider: str) -> bool:
    endpoints: Mapping[str, Any] = get_setting(session, "endpoints") or {}
    return bool(endpoints.get(provider))


def announce_success(session: Session, clock: Clock, refund: Refund) -> list[str]:
    """Queue the patient's e-mail and SMS and the staff alert (each once per refund); returns the kinds."""
    payment = session.get(Payment, refund.payment_id)
    assert payment is not None
    patient = session.get(Patient, payment.patient_id) if payment.patient_id else None
    queued: list[str] = []
    ref = reference(refund)
    if patient is not None and patient.email and _configured(session, "smtp"):
        mail = render(session, EMAIL_TEMPLATE_KEY, refund)
        payload = {"to": patient.email, "subject": mail["subject"], "body": mail["body"], "refund_id": refund.id}
        enqueue(
            session,
            clock,
            SYSTEM,
            kind="notify.email",
            provider="smtp",
            payload=payload,
            idempotency_key=f"{ref}-email",
        )
        queued.append("notify.email")
    if patient is not None and patient.phone and _configured(session, "sms"):
        text = render(session, SMS_TEMPLATE_KEY, refund)["body"]
        payload = {"to": patient.phone, "subject": "", "body": text, "refund_id": refund.id}
        enqueue(
            session, clock, SYSTEM, kind="notify.sms", provider="sms", payload=payload, idempotency_key=f"{ref}-sms"
        )
        queued.append("notify.sms")
    alert = f"Refund {ref} of {Money(refund.amount_minor, refund.currency)} succeeded ({payment.provider})."
    if staff_alert(session, clock, f"{ref}-done", alert):
        queued.append("notify.webhook")
    return queued


def staff_alert(session: Session, clock: Clock, key: str, text: str) -> bool:
    """Queue a Slack/Teams-style alert to the staff webhook, if one is set up."""
    if not _configured(session, "staff_webhook"):
        return False
    enqueue(
        session,
        clock,
        SYSTEM,
        kind="notify.webhook",
        provider="staff_webhook",
        payload={"text": text},
        idempotency_key=f"{key}-staff",
    )
    return True


def acknowledgement(session: Session, clock: Clock, refund: Refund, issued_by: str) -> RefundAcknowledgement:
    payment = session.get(Payment, refund.payment_id)
    assert payment is not None
    clinic = session.get(Clinic, payment.clinic_id)
    patient = session.get(Patient, payment.patient_id) if payment.patient_id else None
    values = template_values(session, refund)
    return RefundAcknowledgement(
        clinic=ClinicDetails(
            name=clinic.name if clinic else "Clinic",
            address_lines=tuple((clinic.address if clinic else "").splitlines()),
        ),
        reference=values["reference"],
        patient_name=values["patient"],
        patient_ref=patient.ref if patient else None,
        original_paid_at=payment.taken_at,
        original_method=f"{payment.provider} {payment.method}".replace("_", " "),
        original_ref=payment.provider_ref,
        original_amount=Money(payment.gross_minor, payment.currency),
        refund_amount=Money(refund.amount_minor, refund.currency),
        reason=refund.note or values["reason"],
        refund_method="Cash from the desk" if refund.method == "cash" else "Back to the original card or account",
        expected_time=values["expected"],
        issued_at=clock.now(),
        issued_by=issued_by,
        display_timezone=clinic.timezone if clinic else "Europe/London",
    )


def ack_name(refund: Refund) -> str:
    return f"{reference(refund)}-acknowledgement.pdf"


def keep_acknowledgement(
    session: Session, clock: Clock, store: ArtefactStore, refund: Refund, actor: Actor = SYSTEM
) -> Artefact:
    """Render the acknowledgement PDF and keep it with the refund case."""
    issued_by = actor.username
    if refund.approved_by_id is not None:
        approver = session.get(User, refund.approved_by_id)
        issued_by = approver.display_name if approver else issued_by
    out = io.BytesIO()
    render_refund_ack_pdf(acknowledgement(session, clock, refund, issued_by), out)
    return keep_artefact(session, clock, store, "refund", refund.id, ack_name(refund), out.getvalue())
