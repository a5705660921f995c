"""A claim pack: the payload (insurer XML or X12 837P), the treatment-note PDF, ``attachments.zip``
and ``hash-report.json``, built from the encounter, its notes, the invoice and the consent.

:func:`load_pack_input` reads what is needed from the database into a plain :class:`PackInput`;
:func:`build_pack` is pure (no database, no clock): the same input gives the same bytes. The payload
is validated before it is returned (XSD + sums, or the 837P writer's checks), so a pack that would
break the insurer's format never exists.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.claims.artefacts import hash_report, zip_attachments
from app.claims.channels import PayerProfile
from app.claims.xml_payload import (
    ClaimAttachment,
    ClaimPatient,
    ClaimProvider,
    InsurerClaim,
    build_claim_xml,
    validate_claim_xml,
)
from app.claims.xml_payload import ClaimLine as XmlLine
from app.db.models import Claim, ClaimLine, Clinic, Encounter, Invoice, Patient, Practitioner
from app.domain.status import InsurerChannelKind
from app.errors import ValidationFailed
from app.money import Money
from app.x12 import professional as x12
from app.x12.x837p import write_837p

NOTE_PDF = "treatment-note.pdf"
LONDON = ZoneInfo("Europe/London")


@dataclass(frozen=True)
class PackLine:
    clinic_code: str
    insurer_code: str
    description: str
    units: int
    amount_minor: int


@dataclass(frozen=True)
class PackInput:
    """Everything a pack says, as plain values."""

    number: str
    channel: InsurerChannelKind
    payer_name: str
    payer_id_code: str
    payer_settings: Mapping[str, Any]
    currency: str
    member_id: str
    authorisation_number: str
    patient_first: str
    patient_last: str
    patient_dob: date | None
    patient_gender: str
    patient_address: str
    patient_postcode: str
    clinic_name: str
    clinic_provider_number: str
    clinic_npi: str
    clinic_tax_id: str
    practitioner: str
    practitioner_registration: str
    practitioner_npi: str
    service_date: date
    diagnoses: tuple[str, ...]
    notes: str
    consent_date: date | None
    invoice_number: str
    lines: tuple[PackLine, ...]


@dataclass(frozen=True)
class PackFiles:
    payload_name: str
    payload: bytes
    attachments: Mapping[str, bytes]  # sent with the claim (not for X12)
    attachments_zip: bytes
    hash_report: bytes

    def artefacts(self) -> dict[str, bytes]:
        return {
            self.payload_name: self.payload,
            "attachments.zip": self.attachments_zip,
            "hash-report.json": self.hash_report,
        }


def load_pack_input(session: Session, claim: Claim, profile: PayerProfile) -> PackInput:
    patient = session.get(Patient, claim.patient_id)
    clinic = session.get(Clinic, claim.clinic_id)
    practitioner = session.get(Practitioner, claim.practitioner_id)
    encounter = session.get(Encounter, claim.encounter_id) if claim.encounter_id else None
    assert patient is not None and clinic is not None and practitioner is not None  # foreign keys
    invoice = (
        session.scalar(select(Invoice).where(Invoice.encounter_id == encounter.id).limit(1)) if encounter else None
    )
    lines = session.scalars(select(ClaimLine).where(ClaimLine.claim_id == claim.id).order_by(ClaimLine.line_no))
    return PackInput(
        number=claim.number,
        channel=profile.channel,
        payer_name=profile.name,
        payer_id_code=profile.payer_id_code,
        payer_settings=profile.settings,
        currency=claim.currency,
        member_id=patient.member_id,
        authorisation_number=claim.authorisation_number,
        patient_first=patient.first_name,
        patient_last=patient.last_name,
        patient_dob=patient.date_of_birth,
        patient_gender=patient.gender,
        patient_address=patient.address,
        patient_postcode=patient.postcode,
        clinic_name=clinic.name,
        clinic_provider_number=clinic.provider_number,
        clinic_npi=clinic.npi,
        clinic_tax_id=clinic.tax_id,
        practitioner=practitioner.name,
        practitioner_registration=practitioner.registration_number,
        practitioner_npi=practitioner.npi,
        service_date=claim.service_date,
        diagnoses=tuple(
            d.strip().upper() for d in (encounter.diagnosis_codes if encounter else "").split(",") if d.strip()
        ),
        notes=encounter.notes if encounter else "",
        consent_date=encounter.consent_at.astimezone(LONDON).date() if encounter and encounter.consent_at else None,
        invoice_number=invoice.number if invoice else "",
        lines=tuple(
            PackLine(ln.clinic_code, ln.insurer_code, ln.description, ln.units, ln.amount_minor) for ln in lines
        ),
    )


# --------------------------------------------------------------------------- attachment


def _pdf_text(text: str) -> bytes:
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return escaped.encode("cp1252", errors="replace")


def note_pdf(lines: list[str]) -> bytes:
    """A one-page PDF of text lines (Helvetica), byte-for-byte reproducible."""
    body = b"BT /F1 10 Tf 50 800 Td 14 TL " + b" ".join(b"(" + _pdf_text(t[:110]) + b") '" for t in lines[:52]) + b" ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> "
        b"/Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length " + str(len(body)).encode() + b" >>\nstream\n" + body + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + obj + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _note(p: PackInput) -> bytes:
    total = Money(sum(ln.amount_minor for ln in p.lines), p.currency)
    lines = [
        f"Treatment note and invoice for claim {p.number}",
        "",
        f"Patient: {p.patient_first} {p.patient_last}   Member: {p.member_id}",
        f"Seen on {p.service_date.isoformat()} by {p.practitioner} ({p.practitioner_registration}) at {p.clinic_name}",
        f"Diagnoses: {', '.join(p.diagnoses) or 'none recorded'}",
        f"Consent to share with the insurer: {p.consent_date.isoformat() if p.consent_date else 'NOT RECORDED'}",
        "",
        "Notes:",
        *[p.notes[i : i + 100] for i in range(0, min(len(p.notes), 2000), 100)],
        "",
        f"Invoice {p.invoice_number or '(none)'}:",
        *[f"  {ln.clinic_code} {ln.description} x{ln.units}  {Money(ln.amount_minor, p.currency)}" for ln in p.lines],
        f"  Total {total}",
    ]
    return note_pdf(lines)


# --------------------------------------------------------------------------- payloads


def _missing(p: PackInput) -> list[str]:
    problems = []
    if p.patient_dob is None:
        problems.append(f"{p.number}: the patient's date of birth is missing")
    if not p.member_id:
        problems.append(f"{p.number}: the patient's membership number is missing")
    if not p.lines:
        problems.append(f"{p.number}: the claim has no lines")
    problems += [
        f"{p.number} line {n}: {ln.clinic_code} has no insurer code yet (run the pre-flight check)"
        for n, ln in enumerate(p.lines, start=1)
        if not ln.insurer_code
    ]
    problems += [
        f"{p.number} line {n}: {Money(ln.amount_minor, p.currency)} cannot be split evenly over {ln.units} units"
        for n, ln in enumerate(p.lines, start=1)
        if ln.units < 1 or ln.amount_minor % ln.units
    ]
    return problems


def _xml(p: PackInput, attachments: Mapping[str, bytes]) -> bytes:
    body, _, number = p.practitioner_registration.strip().partition(" ")
    lines = []
    for ln in p.lines:
        units = max(ln.units, 1)
        lines.append(
            XmlLine(ln.insurer_code, ln.clinic_code, ln.description, units, Money(ln.amount_minor // units, p.currency))
        )
    claim = InsurerClaim(
        claim_id=p.number,
        insurer_code=p.payer_id_code,
        member_number=p.member_id.upper(),
        pre_authorisation_number=p.authorisation_number or None,
        patient=ClaimPatient(p.patient_first, p.patient_last, p.patient_dob or date.min, p.patient_postcode.upper()),
        provider=ClaimProvider(p.clinic_name, p.practitioner, body, number.strip(), p.clinic_provider_number),
        encounter_date=p.service_date,
        diagnosis_codes=p.diagnoses,
        lines=tuple(lines),
        consent_given=p.consent_date is not None,
        consent_date=p.consent_date,
        notes=p.notes[:2000],
        attachments=tuple(ClaimAttachment.of(n, attachments[n]) for n in sorted(attachments)),
    )
    xml = build_claim_xml(claim)
    validate_claim_xml(xml)
    return xml


def _town(address: str) -> tuple[str, str]:
    street, _, town = address.rpartition(",")
    return (street.strip(), town.strip()) if street else (address.strip(), "")


def _person_name(name: str) -> tuple[str, str]:
    words = [w for w in name.replace(".", "").split() if w.lower() not in ("dr", "mr", "mrs", "ms", "prof")]
    return (words[-1], " ".join(words[:-1])) if words else ("", "")


def professional_claim(p: PackInput) -> tuple[x12.ProfessionalClaim, x12.Submitter, x12.Receiver]:
    """The claim as an 837P carries it, with the sender and receiver from the payer's X12 settings."""
    cfg = p.payer_settings.get("x12", {})
    street, town = _town(p.patient_address)
    problems = [] if town else [f"{p.number}: the patient's address has no town (write it as 'street, town')"]
    billing = cfg.get("billing_address", {})
    for key in ("sender_id", "receiver_id", "receiver_name", "contact_name", "contact_phone"):
        if not cfg.get(key):
            problems.append(f"{p.payer_name}: the payer's X12 settings have no {key}")
    if problems:
        raise ValidationFailed("The 837P claim cannot be written", problems)
    rendering = None
    if p.practitioner_npi:
        last, first = _person_name(p.practitioner)
        rendering = x12.RenderingProvider(last, first, p.practitioner_npi)
    pointers = tuple(range(1, min(len(p.diagnoses), 4) + 1))
    claim = x12.ProfessionalClaim(
        claim_id=p.number,
        billing_provider=x12.BillingProvider(
            p.clinic_name,
            p.clinic_npi,
            p.clinic_tax_id,
            x12.Address(
                str(billing.get("line1", "")),
                str(billing.get("city", "")),
                str(billing.get("state", "")),
                str(billing.get("postal_code", "")),
            ),
        ),
        subscriber=x12.Person(
            p.patient_last,
            p.patient_first,
            p.patient_dob or date.min,
            p.patient_gender if p.patient_gender in x12.GENDERS else "U",
            x12.Address(street, town, "", p.patient_postcode.upper()),
            member_id=p.member_id,
        ),
        payer=x12.Payer(p.payer_name, p.payer_id_code),
        total_charge=Money(sum(ln.amount_minor for ln in p.lines), p.currency),
        place_of_service=str(cfg.get("place_of_service", "11")),
        diagnosis_codes=p.diagnoses,
        lines=tuple(
            x12.ServiceLine(ln.insurer_code, Money(ln.amount_minor, p.currency), ln.units, p.service_date, pointers)
            for ln in p.lines
        ),
        prior_authorization=p.authorisation_number or None,
        rendering_provider=rendering,
    )
    sender = x12.Submitter(str(cfg["sender_id"]), p.clinic_name, str(cfg["contact_name"]), str(cfg["contact_phone"]))
    return claim, sender, x12.Receiver(str(cfg["receiver_id"]), str(cfg["receiver_name"]))


def _x12(p: PackInput, control_number: int, created_at: datetime) -> bytes:
    claim, sender, receiver = professional_claim(p)
    production = bool(p.payer_settings.get("x12", {}).get("production", True))
    text = write_837p([claim], sender, receiver, control_number, created_at, production=production)
    try:
        return text.encode("ascii")
    except UnicodeEncodeError as exc:
        bad = text[exc.start : exc.end]
        raise ValidationFailed(
            f"{p.number}: the 837P cannot carry {bad!r}",
            [f"replace {bad!r} (near {text[max(exc.start - 20, 0) : exc.start]!r})"],
        ) from exc


def x12_file_name(number: str, control_number: int) -> str:
    """``CLM-000123-000000042.837``: one name per interchange, so a resubmission never collides."""
    return f"{number}-{control_number:09d}.837"


def build_pack(p: PackInput, *, control_number: int | None = None, created_at: datetime | None = None) -> PackFiles:
    """Build and validate the pack; :class:`ValidationFailed` lists every problem and nothing is built.

    X12 packs need ``control_number`` (from ``app.sequences``) and ``created_at``.
    """
    problems = _missing(p)
    if problems:
        raise ValidationFailed(f"{p.number} cannot be packed yet", problems)
    note = _note(p)
    attachments = {NOTE_PDF: note}
    if p.channel is InsurerChannelKind.X12:
        if control_number is None or created_at is None:
            raise ValidationFailed(f"{p.number}: an 837P needs a control number and a time")
        name, payload = x12_file_name(p.number, control_number), _x12(p, control_number, created_at)
        sent: dict[str, bytes] = {}
    else:
        name, payload = f"{p.number}.xml", _xml(p, attachments)
        sent = attachments
    return PackFiles(
        payload_name=name,
        payload=payload,
        attachments=sent,
        attachments_zip=zip_attachments(attachments),
        hash_report=hash_report({name: payload, **attachments}),
    )
