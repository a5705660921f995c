"""A realistic demo clinic group, deterministic for a given seed and date.

Two clinics, six practitioners, ~500 patients, three months of encounters with charges and
invoices, card/cash/marketplace payments in shifts, payouts, claims in every state on insurers of
each channel, refunds, disputes, remittances and tasks, plus one user per role. ``claims=N``
scales the number of claims (bulk inserts) for benchmarks.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from app.audit import SYSTEM, record
from app.clock import Clock
from app.db.engine import Database
from app.db.models import (
    Charge,
    Claim,
    ClaimLine,
    Clinic,
    Dispute,
    Encounter,
    Invoice,
    Patient,
    Payer,
    Payment,
    Payout,
    PayoutLine,
    Practitioner,
    Refund,
    Remittance,
    RemittanceLine,
    Shift,
    Task,
)
from app.domain.status import (
    ClaimStatus,
    DisputeKind,
    DisputeStatus,
    InsurerChannelKind,
    InvoiceStatus,
    PayerKind,
    PaymentStatus,
    PayoutStatus,
    RefundReason,
    RefundStatus,
    RemittanceStatus,
    Role,
    ShiftStatus,
    TaskPriority,
    TaskStatus,
)
from app.errors import DomainError
from app.users import create_user

LONDON = ZoneInfo("Europe/London")

# NPIs with a valid Luhn check digit (the 837P writer checks them)
VALID_NPIS = ("1000000004", "1000000012", "1000000020", "1000000038", "1000000046", "1000000053")

DEMO_USERS: tuple[tuple[str, str, Role, str], ...] = (
    ("frontdesk", "Fran Desk", Role.FRONT_DESK, "1111"),
    ("manager", "Maya Patel", Role.MANAGER, "2222"),
    ("finance", "Felix Okoro", Role.FINANCE, "3333"),
    ("admin", "Ada Admin", Role.ADMIN, "4444"),
)

FIRST = [
    "Olivia",
    "Amelia",
    "Isla",
    "Ava",
    "Mia",
    "Noah",
    "Oliver",
    "George",
    "Leo",
    "Arthur",
    "Sophie",
    "Grace",
    "Harry",
    "Jack",
    "Freya",
    "Lily",
    "Evie",
    "Oscar",
    "Muhammad",
    "Chloe",
    "Wei",
    "Mei",
    "Priya",
    "Aisha",
    "Tom",
    "Ella",
    "Ruby",
    "Liam",
    "Zara",
    "Hannah",
]
LAST = [
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Patel",
    "Wright",
    "Chen",
    "Wang",
    "Li",
    "Khan",
    "Evans",
    "Thomas",
    "Roberts",
    "Walker",
    "Green",
    "Hall",
    "Wood",
    "Hughes",
    "Clarke",
    "Lewis",
    "Young",
    "Ahmed",
    "Murphy",
    "Kelly",
    "Singh",
    "Moore",
]

# clinic procedure code, description, price in pence, CPT for US payers
PROCEDURES: tuple[tuple[str, str, int, str], ...] = (
    ("PHY01", "Physiotherapy initial assessment", 7500, "97161"),
    ("PHY02", "Physiotherapy follow-up", 5500, "97110"),
    ("ACU01", "Acupuncture session", 6000, "97810"),
    ("OST01", "Osteopathic treatment", 6500, "98925"),
    ("MSK01", "Sports massage 45 min", 5000, "97124"),
    ("POD01", "Podiatry assessment", 6000, "99202"),
    ("HRB01", "Herbal consultation", 4500, "99213"),
)
HERBS: tuple[tuple[str, str, int], ...] = (
    ("HRB-GS", "Gui Pi Tang granules 100 g", 2800),
    ("HRB-XY", "Xiao Yao Wan pills", 2200),
)


@dataclass(frozen=True)
class DemoSummary:
    clinics: int
    practitioners: int
    patients: int
    encounters: int
    payments: int
    claims: int

    def __str__(self) -> str:
        return (
            f"demo data: {self.clinics} clinics, {self.practitioners} practitioners, {self.patients} patients, "
            f"{self.encounters} encounters, {self.payments} payments, {self.claims} claims"
        )


class _Ids:
    """Explicit ids so bulk inserts can link rows without round trips."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.next: dict[type[Any], int] = {}

    def take(self, model: type[Any]) -> int:
        if model not in self.next:
            self.next[model] = int(self.session.scalar(select(func.coalesce(func.max(model.id), 0))) or 0) + 1
        value = self.next[model]
        self.next[model] = value + 1
        return value


def _local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), LONDON).astimezone(UTC)


def _days(end: date, count: int) -> Iterator[date]:
    for offset in range(count, -1, -1):
        d = end - timedelta(days=offset)
        if d.weekday() < 6:  # Monday–Saturday
            yield d


def has_clinics(session: Session) -> bool:
    return bool(session.scalar(select(func.count()).select_from(Clinic)))


def load_demo(
    db: Database, clock: Clock, *, claims: int | None = None, seed: int = 7, with_users: bool = True
) -> DemoSummary:
    """Fill an empty database with the demo clinic group. Refuses a database that already has clinics."""
    rng = random.Random(seed)
    now = clock.now()
    today = now.astimezone(LONDON).date()
    with db.unit_of_work() as s:
        if s.scalar(select(func.count()).select_from(Clinic)):
            raise DomainError("This database already holds clinics: the demo only fills an empty database.")
        if with_users:
            for username, name, role, pin in DEMO_USERS:
                create_user(s, clock, SYSTEM, username, name, role, pin)
        ids = _Ids(s)
        clinics = _clinics(s, ids)
        practitioners = _practitioners(s, ids, clinics)
        payers = _payers(s, ids)
        patients = _patients(s, ids, rng, clinics, payers, today)
        enc = _encounters(s, ids, rng, clinics, practitioners, patients, payers, today, now)
        shifts = _shifts(s, ids, clinics, today, now)
        n_pay = _payments(s, ids, rng, enc, shifts, now)
        n_claims = _claims(s, ids, rng, enc, payers, now, claims)
        from app.claims.demo_data import seed_demo as seed_claims_reference  # it reads PROCEDURES from here

        seed_claims_reference(s, clock)  # code mappings, insurer dictionaries, channel profiles
        from app.shifts.demo import seed_demo as seed_shift_settings

        seed_shift_settings(s, clock)  # cash-drawer schedule per desk, saved bank CSV mapping
        _extras(s, ids, rng, payers, now)
        record(
            s,
            clock,
            SYSTEM,
            "demo.load",
            "database",
            "demo",
            None,
            {"clinics": len(clinics), "patients": len(patients), "claims": n_claims, "seed": seed},
        )
        return DemoSummary(len(clinics), len(practitioners), len(patients), len(enc), n_pay, n_claims)


def _clinics(s: Session, ids: _Ids) -> list[int]:
    rows = [
        {
            "id": ids.take(Clinic),
            "name": "Camden Wellness Clinic",
            "address": "12 Parkway, London NW1 7AA",
            "timezone": "Europe/London",
            "currency": "GBP",
            "provider_number": "BUPA-CW-0192",
            "npi": "1234567893",
            "tax_id": "123456789",
        },
        {
            "id": ids.take(Clinic),
            "name": "Harrogate Acupuncture & Herbal Centre",
            "address": "4 Station Parade, Harrogate HG1 1UF",
            "timezone": "Europe/London",
            "currency": "GBP",
            "provider_number": "BUPA-HA-0457",
            "npi": "1245319599",
            "tax_id": "987654321",
        },
    ]
    s.execute(insert(Clinic), rows)
    return [int(str(r["id"])) for r in rows]


def _practitioners(s: Session, ids: _Ids, clinics: list[int]) -> list[dict[str, Any]]:
    people = [
        ("Dr Sarah Hughes", "Physiotherapist", "HCPC PH123456"),
        ("James O'Neill", "Osteopath", "GOsC 8841"),
        ("Priya Raman", "Sports therapist", "SST 2231"),
        ("Dr Li Wei", "Acupuncturist", "GMC 7012345"),
        ("Mei Lin", "Chinese herbalist", "RCHM 3390"),
        ("Tom Baker", "Podiatrist", "HCPC CH77410"),
    ]
    rows = [
        {
            "id": ids.take(Practitioner),
            "clinic_id": clinics[i // 3],
            "name": n,
            "profession": p,
            "registration_number": r,
            "npi": VALID_NPIS[i],
            "active": True,
        }
        for i, (n, p, r) in enumerate(people)
    ]
    s.execute(insert(Practitioner), rows)
    return rows


def _payers(s: Session, ids: _Ids) -> dict[str, int]:
    spec = [
        ("bupa", "Bupa", PayerKind.INSURER, InsurerChannelKind.SFTP_XML, "BUPA"),
        ("axa", "AXA Health", PayerKind.INSURER, InsurerChannelKind.HTTP_PORTAL, "AXAPPP"),
        (
            "aetna",
            "Aetna International (US, via clearinghouse)",
            PayerKind.INSURER,
            InsurerChannelKind.X12,
            "60054",
        ),
        ("vitality", "Vitality Health Network (HMO)", PayerKind.HMO, InsurerChannelKind.NONE, "VIT"),
        ("classpass", "ClassPass", PayerKind.MARKETPLACE, InsurerChannelKind.NONE, "CP"),
        ("treatwell", "Treatwell", PayerKind.MARKETPLACE, InsurerChannelKind.NONE, "TW"),
        ("stripe", "Stripe", PayerKind.CARD_PROCESSOR, InsurerChannelKind.NONE, "STRIPE"),
        ("square", "Square", PayerKind.CARD_PROCESSOR, InsurerChannelKind.NONE, "SQUARE"),
    ]
    out = {}
    rows = []
    for code, name, kind, channel, pid in spec:
        out[code] = ids.take(Payer)
        rows.append(
            {
                "id": out[code],
                "code": code,
                "name": name,
                "kind": kind,
                "channel": channel,
                "payer_id_code": pid,
                "settings_json": "{}",
            }
        )
    s.execute(insert(Payer), rows)
    return out


def _patients(
    s: Session, ids: _Ids, rng: random.Random, clinics: list[int], payers: dict[str, int], today: date
) -> list[dict[str, Any]]:
    insurers = ["bupa", "axa", "aetna", "vitality"]
    rows = []
    for i in range(500):
        insured = rng.random() < 0.45
        ins = rng.choice(insurers) if insured else None
        first, last = rng.choice(FIRST), rng.choice(LAST)
        rows.append(
            {
                "id": ids.take(Patient),
                "clinic_id": clinics[i % 2],
                "ref": f"P-{i + 1:05d}",
                "first_name": first,
                "last_name": last,
                "date_of_birth": date(1950 + rng.randrange(55), rng.randrange(1, 13), rng.randrange(1, 28)),
                "gender": rng.choice("FM"),
                "email": f"{first.lower()}.{last.lower()}{i}@example.org",
                "phone": f"+447700{900000 + i:06d}",
                "address": f"{rng.randrange(1, 200)} High Street",
                "postcode": rng.choice(["NW1 7AA", "HG1 1UF", "N1 9GU", "HG2 8PB"]),
                "insurer_id": payers[ins] if ins else None,
                "member_id": f"{(ins or 'X').upper()[:3]}{rng.randrange(10**7, 10**8)}" if ins else "",
                "authorisation_number": f"PA{rng.randrange(10**5, 10**6)}" if ins and rng.random() < 0.8 else "",
                "cover_start": today - timedelta(days=400) if ins else None,
                "cover_end": today + timedelta(days=rng.choice([-20, 200, 365])) if ins else None,
            }
        )
    s.execute(insert(Patient), rows)
    return rows


def _encounters(
    s: Session,
    ids: _Ids,
    rng: random.Random,
    clinics: list[int],
    practitioners: list[dict[str, Any]],
    patients: list[dict[str, Any]],
    payers: dict[str, int],
    today: date,
    now: datetime,
) -> list[dict[str, Any]]:
    encs: list[dict[str, Any]] = []
    charges: list[dict[str, Any]] = []
    invoices: list[dict[str, Any]] = []
    by_clinic = {c: [p for p in patients if p["clinic_id"] == c] for c in clinics}
    for day in _days(today, 91):
        for clinic in clinics:
            for _ in range(rng.randrange(5, 10)):
                start = _local(day, rng.randrange(8, 19), rng.choice([0, 15, 30, 45]))
                if start > now:
                    continue
                patient = rng.choice(by_clinic[clinic])
                prac = rng.choice([p for p in practitioners if p["clinic_id"] == clinic])
                eid = ids.take(Encounter)
                channel = rng.random()
                booking = ""
                if patient["insurer_id"] is None and channel < 0.18:
                    booking = f"{'CP' if channel < 0.09 else 'TW'}-{eid:07d}"
                encs.append(
                    {
                        "id": eid,
                        "clinic_id": clinic,
                        "patient_id": patient["id"],
                        "practitioner_id": prac["id"],
                        "service_date": day,
                        "signed_off_at": start + timedelta(hours=1),
                        "diagnosis_codes": rng.choice(["M54.5", "M25.561", "M79.1", "G43.909", "M54.2"]),
                        "notes": "Treatment as planned; patient reports improvement.",
                        "consent_at": start,
                        "booking_ref": booking,
                        "_start": start,
                        "_patient": patient,
                        "_prac": prac,
                    }
                )
                proc = PROCEDURES[rng.randrange(len(PROCEDURES))]
                total = proc[2]
                charges.append(
                    {
                        "id": ids.take(Charge),
                        "encounter_id": eid,
                        "clinic_code": proc[0],
                        "description": proc[1],
                        "units": 1,
                        "amount_minor": proc[2],
                        "currency": "GBP",
                        "product_batch": "",
                    }
                )
                if prac["profession"] == "Chinese herbalist" and rng.random() < 0.6:
                    herb = HERBS[rng.randrange(len(HERBS))]
                    batch = f"B{day:%y%m}-{rng.randrange(1, 3)}"
                    charges.append(
                        {
                            "id": ids.take(Charge),
                            "encounter_id": eid,
                            "clinic_code": herb[0],
                            "description": herb[1],
                            "units": 1,
                            "amount_minor": herb[2],
                            "currency": "GBP",
                            "product_batch": batch,
                        }
                    )
                    total += herb[2]
                    encs[-1]["_batch"] = batch
                encs[-1]["_total"] = total
                iid = ids.take(Invoice)
                invoices.append(
                    {
                        "id": iid,
                        "number": f"INV-{iid:06d}",
                        "clinic_id": clinic,
                        "patient_id": patient["id"],
                        "encounter_id": eid,
                        "issued_at": start + timedelta(hours=1),
                        "total_minor": total,
                        "paid_minor": 0,
                        "patient_due_minor": total,
                        "currency": "GBP",
                        "status": InvoiceStatus.OPEN,
                    }
                )
                encs[-1]["_invoice"] = invoices[-1]
    s.execute(insert(Encounter), [{k: v for k, v in e.items() if not k.startswith("_")} for e in encs])
    s.execute(insert(Charge), charges)
    for e in encs:
        if e["_patient"]["insurer_id"] is None:
            e["_invoice"]["paid_minor"] = e["_total"]
            e["_invoice"]["patient_due_minor"] = e["_total"]
            e["_invoice"]["status"] = InvoiceStatus.PAID
        else:
            e["_invoice"]["patient_due_minor"] = 0
    s.execute(insert(Invoice), invoices)
    return encs


def _shifts(s: Session, ids: _Ids, clinics: list[int], today: date, now: datetime) -> dict[tuple[int, date, int], int]:
    rows = []
    out: dict[tuple[int, date, int], int] = {}
    for day in _days(today, 91):
        for clinic in clinics:
            for idx, (h0, h1) in enumerate(((8, 14), (14, 20))):
                sid = ids.take(Shift)
                starts, ends = _local(day, h0), _local(day, h1)
                closed = ends < now - timedelta(hours=1)
                rows.append(
                    {
                        "id": sid,
                        "clinic_id": clinic,
                        "desk": f"Front desk {'A' if clinic == clinics[0] else 'B'}",
                        "starts_at": starts,
                        "ends_at": ends,
                        "status": ShiftStatus.CLOSED if closed else ShiftStatus.OPEN,
                        "opening_float_minor": 10000,
                        "counted_cash_minor": None,
                        "cash_count_json": "{}",
                        "difference_reason": "",
                        "currency": "GBP",
                        "closed_by_id": None,
                        "closed_at": ends + timedelta(minutes=20) if closed else None,
                        "provider_data_as_of": None,
                        "version": 1,
                    }
                )
                out[(clinic, day, idx)] = sid
    s.execute(insert(Shift), rows)
    return out


def _fee(gross: int, provider: str) -> int:
    # UK card-present pricing: Stripe 1.4% + 10p, Square 1.75%; marketplaces take commission in the payout
    from decimal import ROUND_HALF_UP, Decimal

    if provider == "stripe":
        return int((Decimal(gross) * Decimal("0.014")).quantize(Decimal(1), rounding=ROUND_HALF_UP)) + 10
    if provider == "square":
        return int((Decimal(gross) * Decimal("0.0175")).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return 0


def _payments(
    s: Session,
    ids: _Ids,
    rng: random.Random,
    encs: list[dict[str, Any]],
    shifts: dict[tuple[int, date, int], int],
    now: datetime,
) -> int:
    rows = []
    payouts: dict[tuple[str, date], list[dict[str, Any]]] = {}
    for e in encs:
        if e["_patient"]["insurer_id"] is not None:
            continue
        taken = e["_start"] + timedelta(minutes=55)
        local = taken.astimezone(LONDON)
        if e["booking_ref"]:
            provider, method = (
                ("classpass" if e["booking_ref"].startswith("CP") else "treatwell"),
                "marketplace",
            )
        else:
            roll = rng.random()
            provider, method = (
                ("stripe", "card_present")
                if roll < 0.5
                else (("square", "card_present") if roll < 0.85 else ("cash", "cash"))
            )
        gross = e["_total"]
        fee = _fee(gross, provider)
        pid = ids.take(Payment)
        shift_idx = 0 if local.hour < 14 else 1
        shift_id = shifts.get((e["clinic_id"], e["service_date"], shift_idx)) if method != "marketplace" else None
        row = {
            "id": pid,
            "clinic_id": e["clinic_id"],
            "patient_id": e["patient_id"],
            "practitioner_id": e["practitioner_id"],
            "invoice_id": e["_invoice"]["id"],
            "shift_id": shift_id,
            "payout_id": None,
            "provider": provider,
            "provider_ref": {"stripe": f"pi_demo{pid:08d}", "square": f"sqpay_demo{pid:08d}"}.get(
                provider, e["booking_ref"] or f"cash-{pid}"
            ),
            "method": method,
            "terminal_id": {"stripe": "tmr_desk_A", "square": "sq_device_B"}.get(provider, ""),
            "card_fingerprint": f"fp_{e['patient_id']:05d}" if method == "card_present" else "",
            "taken_at": taken,
            "gross_minor": gross,
            "fee_minor": fee,
            "net_minor": gross - fee,
            "refunded_minor": 0,
            "currency": "GBP",
            "status": PaymentStatus.SUCCEEDED,
            "product_batch": e.get("_batch", ""),
        }
        rows.append(row)
        if provider in ("stripe", "square") and taken < now - timedelta(days=2):
            payouts.setdefault((provider, (taken + timedelta(days=2)).date()), []).append(row)
    payout_rows, line_rows = [], []
    for (provider, arrival), pays in sorted(payouts.items()):
        poid = ids.take(Payout)
        expected = sum(p["net_minor"] for p in pays)
        short = 0 if rng.random() > 0.05 else rng.choice([100, 250])
        payout_rows.append(
            {
                "id": poid,
                "source": provider,
                "provider_ref": f"po_demo_{provider}_{arrival:%Y%m%d}",
                "payer_id": None,
                "payout_date": arrival,
                "expected_minor": expected,
                "received_minor": expected - short,
                "currency": "GBP",
                "status": PayoutStatus.VARIANCE if short else PayoutStatus.MATCHED,
                "bank_line_ref": f"BANK-{arrival:%Y%m%d}-{provider}",
                "raw_sha256": "",
                "created_at": datetime.combine(arrival, time(6), UTC),
            }
        )
        for p in pays:
            p["payout_id"] = poid
            line_rows.append(
                {
                    "id": ids.take(PayoutLine),
                    "payout_id": poid,
                    "entry_type": "charge",
                    "booking_id": "",
                    "patient_ref": "",
                    "service_date": p["taken_at"].date(),
                    "gross_minor": p["gross_minor"],
                    "commission_minor": 0,
                    "processing_fee_minor": p["fee_minor"],
                    "vat_on_fees_minor": 0,
                    "net_minor": p["net_minor"],
                    "currency": "GBP",
                    "payment_id": p["id"],
                    "match_rule": "provider payment id",
                }
            )
    s.execute(insert(Payout), payout_rows)
    s.execute(insert(Payment), rows)
    if line_rows:
        s.execute(insert(PayoutLine), line_rows)
    _marketplace_payouts(s, ids, rows, now)
    return len(rows)


def _marketplace_payouts(s: Session, ids: _Ids, payments: list[dict[str, Any]], now: datetime) -> None:
    from decimal import ROUND_HALF_UP, Decimal

    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for p in payments:
        if p["method"] == "marketplace":
            period = (
                f"{p['taken_at']:%Y-%m}"
                if p["provider"] == "classpass"
                else (f"{p['taken_at']:%Y-%m}-{'A' if p['taken_at'].day <= 15 else 'B'}")
            )
            groups.setdefault((p["provider"], period), []).append(p)
    for (source, period), pays in sorted(groups.items()):
        last = max(p["taken_at"] for p in pays)
        paid_on = (last + timedelta(days=15 if source == "classpass" else 4)).date()
        if datetime.combine(paid_on, time(6), UTC) > now:
            continue
        poid = ids.take(Payout)
        lines = []
        for p in pays:
            commission = int(
                (Decimal(p["gross_minor"]) * Decimal("0.30" if source == "classpass" else "0.25")).quantize(
                    Decimal(1), rounding=ROUND_HALF_UP
                )
            )
            fee = int((Decimal(p["gross_minor"]) * Decimal("0.02")).quantize(Decimal(1), rounding=ROUND_HALF_UP))
            vat = int((Decimal(commission + fee) * Decimal("0.20")).quantize(Decimal(1), rounding=ROUND_HALF_UP))
            net = p["gross_minor"] - commission - fee - vat
            lines.append(
                {
                    "id": ids.take(PayoutLine),
                    "payout_id": poid,
                    "entry_type": "booking",
                    "booking_id": p["provider_ref"],
                    "patient_ref": f"P-{p['patient_id']:05d}",
                    "service_date": p["taken_at"].date(),
                    "gross_minor": p["gross_minor"],
                    "commission_minor": commission,
                    "processing_fee_minor": fee,
                    "vat_on_fees_minor": vat,
                    "net_minor": net,
                    "currency": "GBP",
                    "payment_id": p["id"],
                    "match_rule": "booking id",
                }
            )
        total = sum(line["net_minor"] for line in lines)
        s.execute(
            insert(Payout),
            [
                {
                    "id": poid,
                    "source": source,
                    "provider_ref": f"{source.upper()}-{period}",
                    "payer_id": None,
                    "payout_date": paid_on,
                    "expected_minor": total,
                    "received_minor": total,
                    "currency": "GBP",
                    "status": PayoutStatus.POSTED,
                    "bank_line_ref": "",
                    "raw_sha256": "",
                    "created_at": datetime.combine(paid_on, time(6), UTC),
                }
            ],
        )
        s.execute(insert(PayoutLine), lines)


_STATE_BY_AGE: tuple[tuple[int, tuple[ClaimStatus, ...]], ...] = (
    (2, (ClaimStatus.DRAFT, ClaimStatus.READY, ClaimStatus.NEEDS_REVIEW, ClaimStatus.QUEUED)),
    (5, (ClaimStatus.SUBMITTED, ClaimStatus.ACKNOWLEDGED, ClaimStatus.REJECTED, ClaimStatus.READY)),
    (
        20,
        (
            ClaimStatus.ACKNOWLEDGED,
            ClaimStatus.PAID,
            ClaimStatus.PARTLY_PAID,
            ClaimStatus.DENIED,
            ClaimStatus.REJECTED,
            ClaimStatus.CORRECTED,
            ClaimStatus.SUBMITTED,
        ),
    ),
    (
        10_000,
        (ClaimStatus.PAID, ClaimStatus.CLOSED, ClaimStatus.PARTLY_PAID, ClaimStatus.DENIED, ClaimStatus.VOID),
    ),
)


def _claim_state(rng: random.Random, age_days: int) -> ClaimStatus:
    for limit, states in _STATE_BY_AGE:
        if age_days <= limit:
            return rng.choice(states)
    return ClaimStatus.CLOSED


def _claims(
    s: Session,
    ids: _Ids,
    rng: random.Random,
    encs: list[dict[str, Any]],
    payers: dict[str, int],
    now: datetime,
    target: int | None,
) -> int:
    insured = [e for e in encs if e["_patient"]["insurer_id"] is not None]
    if target is not None and insured:
        insured = [insured[i * len(insured) // target] for i in range(target)]  # spread over the 3 months
    cpt = {p[0]: p[3] for p in PROCEDURES}
    price = {p[0]: (p[1], p[2]) for p in PROCEDURES}
    claims, lines = [], []
    for e in insured:
        cid = ids.take(Claim)
        age = (now.date() - e["service_date"]).days
        status = _claim_state(rng, age)
        code = rng.choice(list(price))
        desc, amount = price[code]
        submitted = (
            e["_start"] + timedelta(days=1)
            if status not in (ClaimStatus.DRAFT, ClaimStatus.READY, ClaimStatus.NEEDS_REVIEW, ClaimStatus.QUEUED)
            else None
        )
        adjudicated = status in (
            ClaimStatus.PAID,
            ClaimStatus.PARTLY_PAID,
            ClaimStatus.DENIED,
            ClaimStatus.CLOSED,
        )
        paid = (
            amount
            if status in (ClaimStatus.PAID, ClaimStatus.CLOSED)
            else (amount - 1500 if status == ClaimStatus.PARTLY_PAID else 0)
        )
        claims.append(
            {
                "id": cid,
                "number": f"CLM-{cid:06d}",
                "clinic_id": e["clinic_id"],
                "patient_id": e["patient_id"],
                "practitioner_id": e["practitioner_id"],
                "payer_id": e["_patient"]["insurer_id"],
                "encounter_id": e["id"],
                "service_date": e["service_date"],
                "status": status,
                "total_minor": amount,
                "paid_minor": paid,
                "patient_resp_minor": 1500 if status == ClaimStatus.PARTLY_PAID else 0,
                "currency": "GBP",
                "insurer_ref": f"INS-{cid:07d}" if submitted else "",
                "authorisation_number": e["_patient"]["authorisation_number"],
                "risk_score": None,
                "risk_reasons": "[]",
                "submission_count": 1 if submitted else 0,
                "replaces_claim_id": None,
                "created_at": e["_start"] + timedelta(hours=2),
                "updated_at": submitted or e["_start"] + timedelta(hours=2),
                "submitted_at": submitted,
                "acknowledged_at": submitted + timedelta(hours=3)
                if submitted and status != ClaimStatus.SUBMITTED
                else None,
                "adjudicated_at": submitted + timedelta(days=6) if submitted and adjudicated else None,
            }
        )
        lines.append(
            {
                "id": ids.take(ClaimLine),
                "claim_id": cid,
                "line_no": 1,
                "clinic_code": code,
                "insurer_code": cpt[code] if rng.random() > 0.03 else "",
                "description": desc,
                "units": 1,
                "amount_minor": amount,
                "currency": "GBP",
            }
        )
    for start in range(0, len(claims), 20_000):
        s.execute(insert(Claim), claims[start : start + 20_000])
        s.execute(insert(ClaimLine), lines[start : start + 20_000])
    _remittances(s, ids, claims, payers, now)
    _claim_tasks(s, claims, now)
    return len(claims)


def _remittances(s: Session, ids: _Ids, claims: list[dict[str, Any]], payers: dict[str, int], now: datetime) -> None:
    paid = [c for c in claims if c["status"] in (ClaimStatus.PAID, ClaimStatus.PARTLY_PAID, ClaimStatus.CLOSED)][:400]
    by_payer: dict[int, list[dict[str, Any]]] = {}
    for c in paid:
        by_payer.setdefault(c["payer_id"], []).append(c)
    fmt = {
        payers["bupa"]: "insurer_xml",
        payers["axa"]: "insurer_xml",
        payers["aetna"]: "x12_835",
        payers["vitality"]: "csv",
    }
    for payer_id, cs in by_payer.items():
        rid = ids.take(Remittance)
        total = sum(c["paid_minor"] for c in cs)
        s.execute(
            insert(Remittance),
            [
                {
                    "id": rid,
                    "payer_id": payer_id,
                    "source_format": fmt.get(payer_id, "csv"),
                    "filename": f"remittance-{rid}.dat",
                    "raw_sha256": f"{rid:064x}",
                    "trace_number": f"TRN{rid:08d}",
                    "payment_date": (now - timedelta(days=3)).date(),
                    "total_paid_minor": total,
                    "unapplied_minor": 0,
                    "currency": "GBP",
                    "status": RemittanceStatus.APPLIED,
                    "received_at": now - timedelta(days=3),
                }
            ],
        )
        s.execute(
            insert(RemittanceLine),
            [
                {
                    "id": ids.take(RemittanceLine),
                    "remittance_id": rid,
                    "claim_id": c["id"],
                    "claim_ref": c["number"],
                    "payer_claim_ref": c["insurer_ref"],
                    "status_code": "1",
                    "charged_minor": c["total_minor"],
                    "paid_minor": c["paid_minor"],
                    "patient_resp_minor": c["patient_resp_minor"],
                    "currency": "GBP",
                    "adjustments_json": "[]",
                    "match_rule": "claim id exact",
                    "applied": True,
                }
                for c in cs
            ],
        )


def _claim_tasks(s: Session, claims: list[dict[str, Any]], now: datetime) -> None:
    rows: list[dict[str, Any]] = []
    for c in claims:
        if c["status"] == ClaimStatus.REJECTED and len(rows) < 40:
            rows.append(
                {
                    "kind": "claim_rejected",
                    "title": f"{c['number']} rejected: member number not recognised",
                    "detail": "The insurer could not match the membership number to a policy.",
                    "recommended_fix": "Check the membership card with the patient, correct the member number "
                    "and resubmit.",
                    "priority": TaskPriority.HIGH,
                    "owner_role": "front_desk",
                    "due_at": now + timedelta(days=2),
                    "status": TaskStatus.OPEN,
                    "entity_type": "claim",
                    "entity_id": c["id"],
                    "dedupe_key": f"claim-rejected:{c['id']}",
                    "created_at": now - timedelta(hours=5),
                }
            )
        elif (
            c["status"] in (ClaimStatus.SUBMITTED, ClaimStatus.ACKNOWLEDGED)
            and c["submitted_at"]
            and now - c["submitted_at"] > timedelta(hours=48)
            and len(rows) < 80
        ):
            rows.append(
                {
                    "kind": "claim_sla_breach",
                    "title": f"{c['number']}: no adjudication after 48 h",
                    "detail": f"Submitted {c['submitted_at']:%d %b %H:%M} UTC; the insurer has not decided.",
                    "recommended_fix": "Chase the insurer with the claim reference; check the portal status.",
                    "priority": TaskPriority.URGENT,
                    "owner_role": "manager",
                    "due_at": now,
                    "status": TaskStatus.OPEN,
                    "entity_type": "claim",
                    "entity_id": c["id"],
                    "dedupe_key": f"claim-sla:{c['id']}",
                    "created_at": now - timedelta(hours=1),
                }
            )
    if rows:
        s.execute(insert(Task), rows)


def _extras(s: Session, ids: _Ids, rng: random.Random, payers: dict[str, int], now: datetime) -> None:
    cards = list(
        s.scalars(select(Payment).where(Payment.method == "card_present").order_by(Payment.id.desc()).limit(60))
    )
    statuses = [
        RefundStatus.PROPOSED,
        RefundStatus.PROPOSED,
        RefundStatus.APPROVED,
        RefundStatus.SUCCEEDED,
        RefundStatus.FAILED,
        RefundStatus.REJECTED,
        RefundStatus.PROPOSED,
        RefundStatus.SENT,
    ]
    reasons = list(RefundReason)
    for i, status in enumerate(statuses):
        p = cards[i * 3]
        s.add(
            Refund(
                payment_id=p.id,
                amount_minor=p.gross_minor // (2 if i % 2 else 1),
                currency="GBP",
                reason=reasons[i % len(reasons)],
                note="Demo refund",
                evidence_json="{}",
                status=status,
                proposed_by_id=1,
                approved_by_id=2 if status != RefundStatus.PROPOSED else None,
                provider_ref="",
                created_at=now - timedelta(days=i),
                updated_at=now - timedelta(days=i),
            )
        )
    for i, (dispute_status, due) in enumerate(
        [
            (DisputeStatus.OPEN, 6),
            (DisputeStatus.OPEN, 2),
            (DisputeStatus.EVIDENCE_SUBMITTED, 9),
            (DisputeStatus.WON, -3),
        ]
    ):
        p = cards[30 + i]
        s.add(
            Dispute(
                kind=DisputeKind.CARD,
                payment_id=p.id,
                provider=p.provider,
                provider_ref=f"dp_demo{i}",
                amount_minor=p.gross_minor,
                currency="GBP",
                reason=["fraudulent", "product_not_received", "duplicate", "credit_not_processed"][i],
                status=dispute_status,
                due_at=now + timedelta(days=due),
                owner_role="manager",
                checklist_json='["Signed receipt or terminal slip", "Treatment notes (no clinical detail)", '
                '"Booking confirmation", "Cancellation policy"]',
                opened_at=now - timedelta(days=4 + i),
            )
        )
    s.add(
        Dispute(
            kind=DisputeKind.PATIENT_BILLING,
            invoice_id=1,
            amount_minor=4500,
            currency="GBP",
            reason="Patient says the session was prepaid in a package",
            status=DisputeStatus.OPEN,
            due_at=now + timedelta(days=10),
            owner_role="front_desk",
            checklist_json='["Package record"]',
            opened_at=now - timedelta(days=1),
        )
    )
