"""A small clinic with an X12 payer and an XML payer, claims awaiting payment, and two users."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select

from app.audit import SYSTEM, Actor
from app.context import AppContext
from app.db.models import Claim, Clinic, Encounter, Invoice, LedgerPosting, Patient, Payer, Practitioner, Remittance
from app.domain.status import ClaimStatus, InsurerChannelKind, PayerKind, Role
from app.remittance.postings import remittance_postings
from app.users import create_user


@dataclass
class World:
    ctx: AppContext
    manager: Actor
    frontdesk: Actor
    payers: dict[str, int] = field(default_factory=dict)
    patients: dict[str, int] = field(default_factory=dict)
    clinic_id: int = 0
    practitioner_id: int = 0

    def claim(
        self,
        number: str,
        total: str,
        *,
        payer: str = "aetna",
        patient: str = "P001",
        status: ClaimStatus = ClaimStatus.SUBMITTED,
        insurer_ref: str = "",
        paid: str = "0",
        service_date: date = date(2024, 1, 2),
    ) -> int:
        now = self.ctx.clock.now()
        with self.ctx.db.unit_of_work() as s:
            enc = Encounter(
                clinic_id=self.clinic_id,
                patient_id=self.patients[patient],
                practitioner_id=self.practitioner_id,
                service_date=service_date,
            )
            s.add(enc)
            s.flush()
            minor = int(Decimal(total) * 100)
            s.add(
                Invoice(
                    number=f"INV-{number}",
                    clinic_id=self.clinic_id,
                    patient_id=self.patients[patient],
                    encounter_id=enc.id,
                    issued_at=now,
                    total_minor=minor,
                    paid_minor=0,
                    patient_due_minor=0,
                    currency="GBP",
                )
            )
            claim = Claim(
                number=number,
                clinic_id=self.clinic_id,
                patient_id=self.patients[patient],
                practitioner_id=self.practitioner_id,
                payer_id=self.payers[payer],
                encounter_id=enc.id,
                service_date=service_date,
                status=status,
                total_minor=minor,
                paid_minor=int(Decimal(paid) * 100),
                patient_resp_minor=0,
                currency="GBP",
                insurer_ref=insurer_ref,
                created_at=now,
                updated_at=now,
            )
            s.add(claim)
            s.flush()
            return claim.id

    def get_claim(self, number: str) -> Claim:
        with self.ctx.db.read() as s:
            row = s.scalar(select(Claim).where(Claim.number == number))
            assert row is not None
            return row

    def invoice_due(self, number: str) -> int:
        with self.ctx.db.read() as s:
            return int(s.scalar(select(Invoice.patient_due_minor).where(Invoice.number == f"INV-{number}")) or 0)

    def postings(self) -> list[Any]:
        """Every posting: the ledger_posting rows, then the routine postings derived from the lines
        of each remittance (app.remittance.postings; these have ``id`` None)."""
        with self.ctx.db.read() as s:
            rows: list[Any] = list(s.scalars(select(LedgerPosting).order_by(LedgerPosting.id)))
            keys = {p.posting_key for p in rows}
            for rid in s.scalars(select(Remittance.id).order_by(Remittance.id)):
                derived = [p for p in remittance_postings(s, rid) if p.posting_key not in keys]
                rows += [SimpleNamespace(id=None, **p._asdict()) for p in derived]
            return rows


@pytest.fixture
def world(ctx: AppContext) -> World:
    return build_world(ctx)


@pytest.fixture
def any_world(any_ctx: AppContext) -> World:
    """The same clinic on SQLite and on PostgreSQL."""
    return build_world(any_ctx)


def build_world(ctx: AppContext) -> World:
    with ctx.db.unit_of_work() as s:
        manager = create_user(s, ctx.clock, SYSTEM, "manager", "Maya Patel", Role.MANAGER, "2222")
        desk = create_user(s, ctx.clock, SYSTEM, "frontdesk", "Fran Desk", Role.FRONT_DESK, "1111")
        clinic = Clinic(name="Riverside Clinic")
        s.add(clinic)
        s.flush()
        prac = Practitioner(clinic_id=clinic.id, name="Dr Lee")
        s.add(prac)
        w = World(ctx, Actor(manager.id, "manager", Role.MANAGER), Actor(desk.id, "frontdesk", Role.FRONT_DESK))
        for code, name, channel, pid in (
            ("aetna", "ACME HEALTH PLAN", InsurerChannelKind.X12, "60054"),
            ("bupa", "Bupa", InsurerChannelKind.SFTP_XML, "BUPA"),
        ):
            payer = Payer(code=code, name=name, kind=PayerKind.INSURER, channel=channel, payer_id_code=pid)
            s.add(payer)
            s.flush()
            w.payers[code] = payer.id
        for ref in ("P001", "P002"):
            patient = Patient(clinic_id=clinic.id, ref=ref, first_name="Jane", last_name=f"Doe {ref}")
            s.add(patient)
            s.flush()
            w.patients[ref] = patient.id
        s.flush()
        w.clinic_id, w.practitioner_id = clinic.id, prac.id
    return w
