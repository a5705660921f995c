"""Claims reference data for the demo: code mappings and insurer dictionaries for every demo clinic
and insurer, and each insurer's channel profile, so pre-flight and packs work on demo claims.

The demo's channel addresses (Settings ``endpoints``), SFTP host fingerprints and passwords depend
on where the sandboxes run; whoever starts them sets those (see ``app.claims.channels``).
"""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import SYSTEM, record
from app.clock import Clock
from app.db.models import Clinic, CodeMapping, InsurerCode, Patient, Payer
from app.demo import PROCEDURES

VALID_FROM = date(2024, 1, 1)
NEEDS_AUTHORISATION = frozenset({"PHY02", "ACU01", "OST01"})

_PREFIX = {"bupa": "B", "axa": "AX-", "vitality": "V"}  # aetna uses the CPT code
INSURERS = (*_PREFIX, "aetna")


def insurer_code(payer: str, clinic_code: str, cpt: str) -> str:
    """How a demo insurer names a clinic procedure code."""
    return cpt if payer == "aetna" else _PREFIX[payer] + clinic_code


# the demo clinic's X12 envelope and billing provider at the demo clearinghouse (also used by tests and benches)
X12_PROFILE = {
    "sender_id": "CAMDENCLINIC",
    "receiver_id": "DEMOCLEARING",
    "receiver_name": "Demo Clearinghouse",
    "contact_name": "Billing Desk",
    "contact_phone": "02071234567",
    "billing_address": {"line1": "100 Main St", "city": "New York", "state": "NY", "postal_code": "100011234"},
}
PROFILES = {
    "bupa": {"username": "camden-clinic", "host_fingerprint": "", "timeout_seconds": 20},
    "axa": {"username": "camden-clinic", "timeout_seconds": 20},
    "aetna": {
        "username": "camden-clinic",
        "host_fingerprint": "",
        "timeout_seconds": 20,
        "x12": {**X12_PROFILE, "place_of_service": "11"},
    },
}


def seed_demo(session: Session, clock: Clock) -> None:
    """Add mappings, dictionaries and channel profiles; demo patients of the US payer get a town."""
    payers = {p.code: p for p in session.scalars(select(Payer).where(Payer.code.in_(INSURERS)))}
    clinics = list(session.scalars(select(Clinic).order_by(Clinic.id)))
    for code, payer in payers.items():
        session.add_all(
            InsurerCode(
                payer_id=payer.id,
                code=insurer_code(code, proc, cpt),
                description=text,
                valid_from=VALID_FROM,
                valid_to=None,
                max_units=4,
            )
            for proc, text, _price, cpt in PROCEDURES
        )
        session.add_all(
            CodeMapping(
                clinic_id=clinic.id,
                payer_id=payer.id,
                clinic_code=proc,
                insurer_code=insurer_code(code, proc, cpt),
                description=text,
                valid_from=VALID_FROM,
                valid_to=None,
                requires_authorisation=code != "aetna" and proc in NEEDS_AUTHORISATION,
            )
            for clinic in clinics
            for proc, text, _price, cpt in PROCEDURES
        )
        if code in PROFILES:
            payer.settings_json = json.dumps(PROFILES[code], sort_keys=True)
    if "aetna" in payers:
        towns = {c.id: c.address.rsplit(",", 1)[-1].strip().rsplit(" ", 2)[0] for c in clinics}
        for patient in session.scalars(select(Patient).where(Patient.insurer_id == payers["aetna"].id)):
            if "," not in patient.address:
                patient.address = f"{patient.address}, {towns.get(patient.clinic_id, 'London')}"
    session.flush()
    record(session, clock, SYSTEM, "demo.claims_reference", "database", "demo", None, {"payers": sorted(payers)})
