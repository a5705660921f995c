"""Build 835 remittance text for tests and the bench (valid per pyx12: it includes PER*BL)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TextIO

SENDER = "ACMEHEALTH"
RECEIVER = "RIVERSIDECLN"


@dataclass(frozen=True)
class Svc:
    code: str
    charged: Decimal
    paid: Decimal
    units: str | None = "1"
    adjustments: tuple[tuple[str, str, Decimal], ...] = ()
    modifiers: tuple[str, ...] = ()
    service_date: date = date(2024, 1, 2)


@dataclass(frozen=True)
class Clm:
    claim_id: str
    charged: Decimal
    paid: Decimal
    status: str = "1"
    patient_resp: Decimal | None = None
    payer_claim_id: str = "PCN0001"
    adjustments: tuple[tuple[str, str, Decimal], ...] = ()
    services: tuple[Svc, ...] = ()


@dataclass(frozen=True)
class Pay:
    trace: str
    claims: tuple[Clm, ...]
    plb: tuple[tuple[str, str, Decimal], ...] = ()
    total: Decimal | None = None  # None: claims paid minus PLB (a balanced payment)
    payer: str = "ACME HEALTH PLAN"
    payee: str = "RIVERSIDE CLINIC"
    paid_on: date = date(2024, 1, 5)


def _d(value: date) -> str:
    return value.strftime("%Y%m%d")


def _cas(adjustments: tuple[tuple[str, str, Decimal], ...]) -> Iterator[str]:
    """One CAS per group, up to 6 reason/amount triplets each."""
    groups: dict[str, list[tuple[str, Decimal]]] = {}
    for group, reason, amount in adjustments:
        groups.setdefault(group, []).append((reason, amount))
    for group, items in groups.items():
        for start in range(0, len(items), 6):
            parts = [f"{reason}*{amount}**" for reason, amount in items[start : start + 6]]
            yield f"CAS*{group}*" + "".join(parts).rstrip("*")


def payment_segments(pay: Pay, st_control: str) -> list[str]:
    """Segments ST..SE of one payment."""
    total = pay.total
    if total is None:
        total = sum((c.paid for c in pay.claims), Decimal(0)) - sum((p[2] for p in pay.plb), Decimal(0))
    method = "CHK" if total > 0 else "NON"
    handling = "I" if total > 0 else "H"
    segs = [
        f"ST*835*{st_control}",
        f"BPR*{handling}*{total}*C*{method}" + "*" * 12 + _d(pay.paid_on),
        f"TRN*1*{pay.trace}*1512345678",
        f"DTM*405*{_d(pay.paid_on)}",
        f"N1*PR*{pay.payer}",
        "N3*1 INSURANCE WAY",
        "N4*HARTFORD*CT*06101",
        "PER*BL*EDI SUPPORT*TE*8005551212",
        f"N1*PE*{pay.payee}*XX*1234567893",
        "LX*1",
    ]
    for clm in pay.claims:
        resp = "" if clm.patient_resp is None else str(clm.patient_resp)
        segs.append(f"CLP*{clm.claim_id}*{clm.status}*{clm.charged}*{clm.paid}*{resp}*12*{clm.payer_claim_id}")
        segs.extend(_cas(clm.adjustments))
        segs.append("NM1*QC*1*DOE*JANE****MI*MEM123456")
        for svc in clm.services:
            composite = ":".join(("HC", svc.code, *svc.modifiers))
            units = f"**{svc.units}" if svc.units is not None else ""
            segs.append(f"SVC*{composite}*{svc.charged}*{svc.paid}{units}")
            segs.append(f"DTM*472*{_d(svc.service_date)}")
            segs.extend(_cas(svc.adjustments))
    for start in range(0, len(pay.plb), 6):
        pairs = "*".join(f"{reason}:{ref}*{amount}" for reason, ref, amount in pay.plb[start : start + 6])
        segs.append(f"PLB*1234567893*{pay.paid_on.year}1231*{pairs}")
    segs.append(f"SE*{len(segs) + 1}*{st_control}")
    return segs


def isa_gs(control: int, when: date = date(2024, 1, 5)) -> list[str]:
    return [
        f"ISA*00*          *00*          *ZZ*{SENDER:<15}*ZZ*{RECEIVER:<15}*{when:%y%m%d}*1200*^*00501*"
        f"{control:09d}*0*T*:",
        f"GS*HP*{SENDER}*{RECEIVER}*{_d(when)}*1200*{control}*X*005010X221A1",
    ]


def build_835(payments: list[Pay], *, control: int = 1, terminator: str = "~\n") -> str:
    """One interchange, one group, one ST per payment."""
    segs = isa_gs(control)
    for index, pay in enumerate(payments, start=1):
        segs.extend(payment_segments(pay, f"{index:04d}"))
    segs += [f"GE*{len(payments)}*{control}", f"IEA*1*{control:09d}"]
    return terminator.join(segs) + terminator


def bulk_claim(index: int, lines: int) -> Clm:
    """A typical paid claim: each line 100.00 charged, 80.00 paid, CO-45 15.00, PR-2 5.00."""
    services = tuple(
        Svc(
            "99213",
            Decimal("100.00"),
            Decimal("80.00"),
            adjustments=(("CO", "45", Decimal("15.00")), ("PR", "2", Decimal("5.00"))),
        )
        for _ in range(lines)
    )
    return Clm(
        f"CLM{index:07d}",
        Decimal("100.00") * lines,
        Decimal("80.00") * lines,
        patient_resp=Decimal("5.00") * lines,
        payer_claim_id=f"PCN{index:09d}",
        services=services,
    )


def write_bulk_835(out: TextIO, claims: int, *, lines_per_claim: int = 2, claims_per_payment: int = 1000) -> int:
    """Write a large 835 (one ST per ``claims_per_payment`` claims); returns the number of payments."""
    payments = 0
    out.write("~\n".join(isa_gs(1)) + "~\n")
    for start in range(0, claims, claims_per_payment):
        payments += 1
        count = min(claims_per_payment, claims - start)
        pay = Pay(f"TRACE{payments:06d}", tuple(bulk_claim(start + i, lines_per_claim) for i in range(count)))
        out.write("~\n".join(payment_segments(pay, f"{payments:04d}")) + "~\n")
    out.write(f"GE*{payments}*1~\nIEA*1*000000001~\n")
    return payments
