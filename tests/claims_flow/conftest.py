"""A clinic wired to three loopback insurers: Bupa over SFTP + XML, AXA on the HTTP portal sandbox,
Aetna through a clearinghouse's SFTP (837P out, 999/277CA in), and Vitality (HMO, no channel)."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit import SYSTEM, Actor
from app.claims import dispatch, mapping_store
from app.claims.demo_data import X12_PROFILE
from app.claims.service import create_claim
from app.clock import FixedClock
from app.context import AppContext
from app.db.models import Charge, Claim, Clinic, Encounter, Invoice, OutboxMessage, Patient, Payer, Practitioner, User
from app.domain.status import ClaimStatus, InsurerChannelKind, InvoiceStatus, PayerKind, Role
from app.outbox import Dispatcher, DispatchReport
from app.paths import AppPaths
from app.secrets import SecretStore
from app.settings import set_setting
from app.users import hash_secret
from sandboxes.insurer_portal import InsurerPortalSandbox, MemberCover
from sandboxes.sftp_server import SftpSandbox
from tests.support.memory_keyring import MemoryKeyring

SERVICE_DAY = date(2026, 11, 18)
MEMBERS = {"bupa": "BUP12345678", "axa": "AXA12345678", "aetna": "AET12345678", "vitality": "VIT12345678"}
PASSWORDS = {"bupa": "bupa-sftp-pw", "axa": "axa-portal-pw", "aetna": "clearing-pw"}
PRICES = {"PHY01": 7500, "PHY02": 5500, "ACU01": 6000}
INSURER_CODE = {
    "bupa": {"PHY01": "BPHY01", "PHY02": "BPHY02", "ACU01": "BACU01"},
    "axa": {"PHY01": "AX-PHY01", "PHY02": "AX-PHY02", "ACU01": "AX-ACU01"},
    "aetna": {"PHY01": "97161", "PHY02": "97110", "ACU01": "97810"},
    "vitality": {"PHY01": "VPHY01", "PHY02": "VPHY02", "ACU01": "VACU01"},
}


def cover_record(member: str, *, end: str = "2026-12-31") -> bytes:
    return json.dumps(
        {"memberNumber": member, "covered": True, "coverageStart": "2026-01-01", "coverageEnd": end, "visitsLeft": 4}
    ).encode()


@dataclass
class World:
    ctx: AppContext
    clock: FixedClock
    manager: Actor
    frontdesk: Actor
    clinic_id: int
    practitioner_id: int
    payers: dict[str, int]
    sftp: SftpSandbox
    clearing: SftpSandbox
    portal: InsurerPortalSandbox

    def encounter(
        self,
        payer: str,
        *,
        codes: tuple[str, ...] = ("PHY01",),
        diagnosis: str = "M54.5",
        day: date = SERVICE_DAY,
    ) -> int:
        with self.ctx.db.unit_of_work() as s:
            patient = s.scalar(select(Patient).where(Patient.member_id == MEMBERS[payer]))
            assert patient is not None
            enc = Encounter(
                clinic_id=self.clinic_id,
                patient_id=patient.id,
                practitioner_id=self.practitioner_id,
                service_date=day,
                signed_off_at=datetime(day.year, day.month, day.day, 11, tzinfo=UTC),
                diagnosis_codes=diagnosis,
                notes="Lower back pain after lifting; mobilisation and exercises.",
                consent_at=datetime(day.year, day.month, day.day, 10, tzinfo=UTC),
            )
            s.add(enc)
            s.flush()
            s.add_all(
                Charge(encounter_id=enc.id, clinic_code=c, description=f"Treatment {c}", units=1,
                       amount_minor=PRICES.get(c, 5000), currency="GBP")
                for c in codes
            )  # fmt: skip
            total = sum(PRICES.get(c, 5000) for c in codes)
            s.add(
                Invoice(number=f"INV-{enc.id:06d}", clinic_id=self.clinic_id, patient_id=patient.id,
                        encounter_id=enc.id, issued_at=self.clock.now(), total_minor=total, paid_minor=0,
                        patient_due_minor=0, currency="GBP", status=InvoiceStatus.OPEN)
            )  # fmt: skip
            return enc.id

    def claim(self, payer: str, **kwargs: object) -> int:
        return create_claim(self.ctx, self.manager, self.encounter(payer, **kwargs))  # type: ignore[arg-type]

    def status(self, claim_id: int) -> ClaimStatus:
        with self.ctx.db.read() as s:
            claim = s.get(Claim, claim_id)
            assert claim is not None
            return claim.status

    def get(self, claim_id: int) -> Claim:
        with self.ctx.db.read() as s:
            claim = s.get(Claim, claim_id)
            assert claim is not None
            return claim

    def dispatch(self, ctx: AppContext | None = None) -> DispatchReport:
        ctx = ctx or self.ctx
        return Dispatcher(ctx.db, ctx.clock, dispatch.routes(ctx)).run_once()

    def poll(self, provider: str) -> str:
        return dispatch.POLLS[provider](self.ctx)

    def outbox_count(self) -> int:
        with self.ctx.db.read() as s:
            return int(s.scalar(select(func.count()).select_from(OutboxMessage)) or 0)


def sftp_root(base: Path) -> Path:
    for folder in ("inbox", "outbound", "eligibility"):
        (base / folder).mkdir(parents=True)
    return base


@functools.cache
def _pin_hash(pin: str) -> str:
    return hash_secret(pin)  # argon2 is slow on purpose: hash each demo PIN once per test run


def _user(s: Session, clock: FixedClock, username: str, role: Role, pin: str) -> User:
    user = User(username=username, display_name=username.title(), role=role, secret_hash=_pin_hash(pin),
                active=True, created_at=clock.now(), failed_attempts=0)  # fmt: skip
    s.add(user)
    s.flush()
    return user


def wire(ctx: AppContext, sftp: SftpSandbox, clearing: SftpSandbox, portal: InsurerPortalSandbox) -> World:
    clock = ctx.clock
    assert isinstance(clock, FixedClock)
    ctx.secrets = SecretStore(backend=MemoryKeyring())
    for code, password in PASSWORDS.items():
        ctx.secrets.set(f"insurer.{code}.password", password)
    with ctx.db.unit_of_work() as s:
        manager = _user(s, clock, "manager", Role.MANAGER, "2222")
        frontdesk = _user(s, clock, "frontdesk", Role.FRONT_DESK, "1111")
        clinic = Clinic(name="Camden Wellness Clinic", address="12 Parkway, London NW1 7AA",
                        provider_number="BUPA-CW-0192", npi="1234567893", tax_id="123456789")  # fmt: skip
        s.add(clinic)
        s.flush()
        prac = Practitioner(clinic_id=clinic.id, name="Dr Sarah Hughes", profession="Physiotherapist",
                            registration_number="HCPC PH123456", npi="1245319599")  # fmt: skip
        s.add(prac)
        profiles = {
            "bupa": (InsurerChannelKind.SFTP_XML, "BUPA", {"username": "clinic", "timeout_seconds": 5,
                     "host_fingerprint": sftp.host_key_fingerprint}),
            "axa": (InsurerChannelKind.HTTP_PORTAL, "AXAPPP", {"username": "clinic", "timeout_seconds": 5}),
            "aetna": (InsurerChannelKind.X12, "60054", {"username": "clinic", "timeout_seconds": 5,
                      "host_fingerprint": clearing.host_key_fingerprint, "x12": X12_PROFILE}),
            "vitality": (InsurerChannelKind.NONE, "VIT", {}),
        }  # fmt: skip
        payers = {}
        for code, (channel, pid, settings) in profiles.items():
            kind = PayerKind.HMO if code == "vitality" else PayerKind.INSURER
            payer = Payer(code=code, name=code.upper(), kind=kind, channel=channel, payer_id_code=pid,
                          settings_json=json.dumps(settings))  # fmt: skip
            s.add(payer)
            s.flush()
            payers[code] = payer.id
            s.add(
                Patient(clinic_id=clinic.id, ref=f"P-{code}", first_name="Ann", last_name="Oneil",
                        date_of_birth=date(1980, 5, 17), gender="F", address="12 High Street, London",
                        postcode="NW1 7AA", insurer_id=payer.id, member_id=MEMBERS[code],
                        authorisation_number="PA998877", cover_start=date(2026, 1, 1), cover_end=date(2026, 12, 31))
            )  # fmt: skip
        set_setting(s, clock, SYSTEM, "endpoints", {
            "insurer_sftp": f"sftp://127.0.0.1:{sftp.port}",
            "insurer_portal": portal.base_url,
            "clearinghouse": f"sftp://127.0.0.1:{clearing.port}",
        })  # fmt: skip
        world = World(
            ctx, clock, Actor(manager.id, "manager", Role.MANAGER), Actor(frontdesk.id, "frontdesk", Role.FRONT_DESK),
            clinic.id, prac.id, payers, sftp, clearing, portal,
        )  # fmt: skip
        admin = Actor(None, "setup", Role.ADMIN)
        for code, codes in INSURER_CODE.items():
            rows = "".join(f"{c},{i},Treatment {c},2024-01-01,,no\n" for c, i in codes.items())
            head = "clinic_code,insurer_code,description,valid_from,valid_to,requires_authorisation\n"
            mapping_store.import_mappings(
                s, clock, admin, (head + rows).encode(), f"{code}.csv", clinic.id, payers[code]
            )
            words = "".join(f"{i},Treatment,2024-01-01,,4\n" for i in codes.values())
            dictionary = ("code,description,valid_from,valid_to,max_units\n" + words).encode()
            mapping_store.import_dictionary(s, clock, admin, dictionary, f"{code}-codes.csv", payers[code])
    (sftp.root / "eligibility" / f"{MEMBERS['bupa']}.json").write_bytes(cover_record(MEMBERS["bupa"]))
    (clearing.root / "eligibility" / f"{MEMBERS['aetna']}.json").write_bytes(cover_record(MEMBERS["aetna"]))
    portal.members[MEMBERS["axa"]] = MemberCover(True, date(2026, 1, 1), date(2026, 12, 31), "PA998877", 5)
    return world


@pytest.fixture
def world(ctx: AppContext, tmp_path: Path) -> Iterator[World]:
    with (
        SftpSandbox(sftp_root(tmp_path / "bupa"), username="clinic", password=PASSWORDS["bupa"]) as sftp,
        SftpSandbox(sftp_root(tmp_path / "clearing"), username="clinic", password=PASSWORDS["aetna"]) as clearing,
        InsurerPortalSandbox(username="clinic", password=PASSWORDS["axa"]) as portal,
    ):
        yield wire(ctx, sftp, clearing, portal)


def reopen(world: World, paths: AppPaths) -> AppContext:
    """The app restarted: a new context on the same database, data folder and keyring."""
    ctx = AppContext.open(world.ctx.db.url, clock=world.clock, paths=paths)
    ctx.secrets = world.ctx.secrets
    return ctx


def visible(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def later(world: World, hours: float) -> None:
    world.clock.advance(timedelta(hours=hours))


# --------------------------------------------------------------------------- insurer answers


def ack_xml(number: str, *, accepted: bool = True, ref: str = "BUPA-7781234", code: str = "AUTH_MISSING") -> bytes:
    body = (
        f"<InsurerClaimRef>{ref}</InsurerClaimRef><Status>ACCEPTED</Status>"
        if accepted
        else f'<Status>REJECTED</Status><Reason code="{code}">Pre-authorisation missing</Reason>'
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Acknowledgement xmlns="urn:clinic-billing-desk:insurer:acknowledgement:v1" version="1.0">'
        "<InsurerCode>BUPA</InsurerCode><IssuedAt>2026-11-20T14:05:00Z</IssuedAt>"
        f"<Claim><ClaimId>{number}</ClaimId>{body}</Claim></Acknowledgement>\n"
    ).encode()


def remittance_xml(number: str, ref: str, charged: str, insurer: str = "BUPA") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Remittance xmlns="urn:clinic-billing-desk:insurer:remittance:v1" version="1.0">'
        f"<InsurerCode>{insurer}</InsurerCode><PaymentReference>PAY-0042</PaymentReference>"
        f'<PaymentDate>2026-11-27</PaymentDate><TotalPaid currency="GBP">{charged}</TotalPaid>'
        f"<Claim><ClaimId>{number}</ClaimId><InsurerClaimRef>{ref}</InsurerClaimRef>"
        f'<Charged currency="GBP">{charged}</Charged><Paid currency="GBP">{charged}</Paid>'
        '<PatientResponsibility currency="GBP">0.00</PatientResponsibility></Claim></Remittance>\n'
    ).encode()


def x12_999(control: int, *, accepted: bool = True) -> bytes:
    verdict = "IK5*A~AK9*A*1*1*1~" if accepted else "IK3*NM1*9*2010AA*8~IK4*9*67*I12*12345~IK5*R*I5~AK9*R*1*1*0~"
    body = f"AK1*HC*{control}*005010X222A1~AK2*837*0001*005010X222A1~{verdict}"
    count = body.count("~") + 2
    return (
        "ISA*00*          *00*          *ZZ*DEMOCLEARING   *ZZ*CAMDENCLINIC   *261120*1200*^*00501*000000501*0*P*:~"
        "GS*FA*DEMOCLEARING*CAMDENCLINIC*20261120*1200*501*X*005010X231A1~ST*999*0001*005010X231A1~"
        f"{body}SE*{count}*0001~GE*1*501~IEA*1*000000501~\n"
    ).encode()


def x12_277ca(number: str, *, accepted: bool = True, payer_ref: str = "AET-1107000014420") -> bytes:
    stc = "STC*A2:20*20261120*WQ*75~" if accepted else "STC*A7:562:85*20261120*U*75~"
    return (
        "ISA*00*          *00*          *ZZ*DEMOCLEARING   *ZZ*CAMDENCLINIC   *261120*1200*^*00501*000000502*0*P*:~"
        "GS*HN*DEMOCLEARING*CAMDENCLINIC*20261120*1200*502*X*005010X214~ST*277*0001*005010X214~"
        "BHT*0085*08*1*20261120*1200*TH~HL*1**20*1~NM1*PR*2*AETNA*****PI*60054~TRN*1*1~DTP*050*D8*20261120~"
        "DTP*009*D8*20261120~HL*2*1*21*1~NM1*41*2*CAMDEN*****46*CAMDENCLINIC~TRN*2*1~STC*A1:20*20261120*WQ*75~"
        "HL*3*2*19*1~NM1*85*2*CAMDEN*****XX*1234567893~HL*4*3*PT~NM1*QC*1*ONEIL*ANN****MI*AET12345678~"
        f"TRN*2*{number}~{stc}REF*1K*{payer_ref}~DTP*472*D8*20261118~SE*22*0001~GE*1*502~IEA*1*000000502~\n"
    ).encode()
