"""Refund runbook fixtures: a small clinic with users and payments, card sandboxes, SMTP and SMS.

localstripe keeps one store per process and tests/cards starts it in this process, so the refund
tests run their own localstripe (+ stripe_gaps) in a child process, on 127.0.0.1 only.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from app.audit import SYSTEM, Actor
from app.context import AppContext
from app.db.models import Charge, Clinic, Encounter, Invoice, Patient, Payment, Practitioner, Shift
from app.domain.status import Role
from app.secrets import SecretStore
from app.settings import set_setting
from app.users import create_user, sign_in
from sandboxes.paypal import start_paypal
from sandboxes.sms import TwilioSandbox
from sandboxes.square import start_square
from tests.cards.conftest import PAYPAL_CLIENT, PAYPAL_SECRET, SQUARE_TOKEN, Sandbox
from tests.notify.conftest import SMTP_PASSWORD, SMTP_USER, SmtpServer, running_smtp
from tests.support.memory_keyring import MemoryKeyring

STRIPE_KEY = "sk_test_refunds"
PINS = {"desk": "1111", "manny": "2222", "mona": "2323", "fiona": "3333"}
_CHILD = """
import sys
from sandboxes.localstripe_server import start_localstripe
from sandboxes.stripe_gaps import start_stripe_gaps
local, stop_local = start_localstripe(sys.argv[1])
gaps, stop_gaps, _ = start_stripe_gaps(local)
print(gaps, local, flush=True)
sys.stdin.readline()
stop_gaps()
stop_local()
"""


@dataclass(frozen=True)
class ChildStripe:
    api_base: str
    localstripe: str


@pytest.fixture(scope="session")
def child_stripe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChildStripe]:
    state = tmp_path_factory.mktemp("refund-localstripe")
    root = str(Path(__file__).resolve().parents[2])
    proc = subprocess.Popen(
        [sys.executable, "-W", "ignore", "-c", _CHILD, str(state)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=root,
    )
    assert proc.stdout is not None and proc.stdin is not None
    gaps, local = proc.stdout.readline().split()
    yield ChildStripe(gaps, local)
    proc.stdin.write("\n")
    proc.stdin.close()
    proc.wait(10)


@pytest.fixture(scope="session")
def square_sb() -> Iterator[Sandbox]:
    base_url, stop, sandbox = start_square(SQUARE_TOKEN)
    yield Sandbox(base_url, sandbox)
    stop()


@pytest.fixture(scope="session")
def paypal_sb() -> Iterator[Sandbox]:
    base_url, stop, sandbox = start_paypal(PAYPAL_CLIENT, PAYPAL_SECRET)
    yield Sandbox(base_url, sandbox)
    stop()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with running_smtp() as server:
        yield server


@pytest.fixture
def twilio() -> Iterator[TwilioSandbox]:
    with TwilioSandbox(account_sid="AC" + "2" * 32, auth_token="tw-refund-token") as sandbox:
        yield sandbox


@dataclass
class Clinic1:
    """A clinic with a patient, an open shift and users of every role."""

    ctx: AppContext
    clinic_id: int
    patient_id: int
    other_patient_id: int
    practitioner_id: int
    shift_id: int
    desk: Actor
    manager: Actor
    manager2: Actor
    finance: Actor

    def payment(
        self,
        amount: int,
        *,
        provider: str = "stripe",
        ref: str | None = None,
        patient_id: int | None = -1,
        at: datetime | None = None,
        fingerprint: str = "",
        batch: str = "",
        invoice_id: int | None = None,
    ) -> int:
        with self.ctx.db.unit_of_work() as s:
            n = s.query(Payment).count() + 1
            p = Payment(
                clinic_id=self.clinic_id,
                patient_id=self.patient_id if patient_id == -1 else patient_id,
                invoice_id=invoice_id,
                shift_id=self.shift_id,
                provider=provider,
                provider_ref=ref or f"{provider}-ref-{n}",
                method="cash" if provider == "cash" else "card_present",
                card_fingerprint=fingerprint,
                taken_at=at or self.ctx.clock.now() - timedelta(hours=1),
                gross_minor=amount,
                fee_minor=0,
                net_minor=amount,
                refunded_minor=0,
                currency="GBP",
                product_batch=batch,
            )
            s.add(p)
            s.flush()
            return p.id

    def invoice(self, total: int, patient_due: int, charges: tuple[tuple[str, int, str], ...] = ()) -> tuple[int, int]:
        """(invoice id, encounter id) with product/treatment charges (description, amount, batch)."""
        with self.ctx.db.unit_of_work() as s:
            enc = Encounter(
                clinic_id=self.clinic_id,
                patient_id=self.patient_id,
                practitioner_id=self.practitioner_id,
                service_date=self.ctx.clock.now().date(),
            )
            s.add(enc)
            s.flush()
            for desc, amount, batch in charges:
                s.add(
                    Charge(
                        encounter_id=enc.id,
                        clinic_code="HERB",
                        description=desc,
                        amount_minor=amount,
                        product_batch=batch,
                    )
                )
            n = s.query(Invoice).count() + 1
            inv = Invoice(
                number=f"INV-{n:05d}",
                clinic_id=self.clinic_id,
                patient_id=self.patient_id,
                encounter_id=enc.id,
                issued_at=self.ctx.clock.now(),
                total_minor=total,
                paid_minor=0,
                patient_due_minor=patient_due,
                currency="GBP",
            )
            s.add(inv)
            s.flush()
            return inv.id, enc.id


@pytest.fixture
def clinic(ctx: AppContext) -> Clinic1:
    return make_clinic(ctx)


def make_clinic(ctx: AppContext) -> Clinic1:
    ctx.secrets = SecretStore(backend=MemoryKeyring())
    with ctx.db.unit_of_work() as s:
        c = Clinic(name="Jade Garden Chinese Medicine", address="3 Lotus Row\nLondon E1 6AN")
        s.add(c)
        s.flush()
        pr = Practitioner(clinic_id=c.id, name="Dr Li Wei")
        p1 = Patient(
            clinic_id=c.id,
            ref="P-001",
            first_name="Ada",
            last_name="Lovelace",
            email="ada@example.org",
            phone="+447700900123",
        )
        p2 = Patient(clinic_id=c.id, ref="P-002", first_name="Bob", last_name="Brown")
        s.add_all([pr, p1, p2])
        now = ctx.clock.now()
        shift = Shift(
            clinic_id=c.id,
            desk="Front desk 1",
            starts_at=now - timedelta(hours=2),
            ends_at=now + timedelta(hours=6),
            opening_float_minor=10_000,
        )
        s.add(shift)
        s.flush()
        for name, role in (
            ("desk", Role.FRONT_DESK),
            ("manny", Role.MANAGER),
            ("mona", Role.MANAGER),
            ("fiona", Role.FINANCE),
        ):
            create_user(s, ctx.clock, SYSTEM, name, name.title(), role, PINS[name])
        ids = (c.id, p1.id, p2.id, pr.id, shift.id)
    actors = [sign_in(ctx.db, ctx.clock, n, PINS[n]) for n in ("desk", "manny", "mona", "fiona")]
    return Clinic1(ctx, *ids, *actors)


def set_endpoints(ctx: AppContext, **endpoints: str) -> None:
    with ctx.db.unit_of_work() as s:
        set_setting(s, ctx.clock, SYSTEM, "endpoints", endpoints)


def setup_notifications(ctx: AppContext, smtp: SmtpServer, twilio: TwilioSandbox) -> dict[str, str]:
    assert ctx.secrets is not None
    ctx.secrets.set("smtp.password", SMTP_PASSWORD)
    ctx.secrets.set("sms.auth_token", twilio.auth_token)
    with ctx.db.unit_of_work() as s:
        set_setting(s, ctx.clock, SYSTEM, "notify.email", {"sender": "desk@clinic.example", "username": SMTP_USER})
        set_setting(s, ctx.clock, SYSTEM, "notify.sms", {"account_sid": twilio.account_sid, "sender": "+447700900999"})
    return {"smtp": f"{smtp.host}:{smtp.port}", "sms": twilio.url}
