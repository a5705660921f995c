"""A clinic with marketplace sales, the ClassPass sandbox and a real SMTP server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time

import pytest

from app.audit import SYSTEM
from app.context import AppContext
from app.db.models import Clinic, Patient, Payment
from app.domain.status import PaymentStatus
from app.secrets import SecretStore
from app.settings import set_setting
from sandboxes.classpass import ClassPassSandbox
from tests.notify.conftest import smtp_server  # noqa: F401 - a fixture, reused
from tests.payouts.samples import CLASSPASS_KEY, CLASSPASS_PAYOUT, PARTNER
from tests.support.memory_keyring import MemoryKeyring

# (provider, booking id, patient ref, service date, gross pence)
SALES = [
    ("classpass", "CPB-1001", "CPM-77", date(2026, 3, 2), 4000),  # booking id, exact
    ("classpass", "CPX-0002", "CPM-78", date(2026, 3, 3), 5500),  # other booking id: patient + date + amount
    ("classpass", "CPB-1003", "CPM-79", date(2026, 3, 5), 4500),  # £5 short of the payout line: variance
    ("classpass", "CPB-1004", "CPM-80", date(2026, 3, 4), 3000),  # no payout line
]


def add_sales(ctx: AppContext, sales: list[tuple[str, str, str, date, int]]) -> None:
    with ctx.db.unit_of_work() as s:
        clinic = s.query(Clinic).order_by(Clinic.id).first()
        if clinic is None:
            clinic = Clinic(name="Riverside Physio", currency="GBP")
            s.add(clinic)
            s.flush()
        for provider, booking, ref, day, gross in sales:
            patient = s.query(Patient).filter_by(clinic_id=clinic.id, ref=ref).first()
            if patient is None:
                patient = Patient(clinic_id=clinic.id, ref=ref, first_name="Pat", last_name=ref)
                s.add(patient)
                s.flush()
            s.add(
                Payment(
                    clinic_id=clinic.id,
                    patient_id=patient.id,
                    provider=provider,
                    provider_ref=booking,
                    method="marketplace",
                    taken_at=datetime.combine(day, time(10), UTC),
                    gross_minor=gross,
                    fee_minor=0,
                    net_minor=gross,
                    refunded_minor=0,
                    currency="GBP",
                    status=PaymentStatus.SUCCEEDED,
                )
            )


def configure(ctx: AppContext, **settings: object) -> None:
    with ctx.db.unit_of_work() as s:
        for key, value in settings.items():
            set_setting(s, ctx.clock, SYSTEM, key.replace("__", "."), value)


@pytest.fixture
def clinic(ctx: AppContext) -> AppContext:
    add_sales(ctx, SALES)
    return ctx


@pytest.fixture
def payout_file() -> bytes:
    return CLASSPASS_PAYOUT


@pytest.fixture
def classpass() -> Iterator[ClassPassSandbox]:
    with ClassPassSandbox(CLASSPASS_KEY, PARTNER) as sandbox:
        yield sandbox


@pytest.fixture
def keyring_ctx(clinic: AppContext) -> AppContext:
    clinic.secrets = SecretStore(backend=MemoryKeyring())
    clinic.secrets.set("classpass.api_key", CLASSPASS_KEY)
    return clinic
