"""Read-side rows for the Payouts view: one payout with its lines and the sales they matched."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Patient, Payment, Payout, PayoutLine
from app.domain.status import PayoutStatus
from app.errors import NotFound
from app.money import Money


@dataclass(frozen=True, slots=True)
class LineRow:
    id: int
    booking_id: str
    patient_ref: str
    service_date: date | None
    gross: Money
    deductions: Money
    net: Money
    status: str
    rule: str
    variance: Money
    sale: str  # "payment 12 · CPB-1001 · CPM-77 · £40.00", or "" when unmatched


@dataclass(frozen=True, slots=True)
class PayoutDetail:
    id: int
    source: str
    provider_ref: str
    payout_date: date
    total: Money
    status: PayoutStatus
    held_reason: str
    lines: tuple[LineRow, ...]


def payout_detail(session: Session, payout_id: int) -> PayoutDetail:
    payout = session.get(Payout, payout_id)
    if payout is None:
        raise NotFound(f"Payout {payout_id} does not exist.")
    q = (
        select(PayoutLine, Payment, Patient.ref)
        .outerjoin(Payment, Payment.id == PayoutLine.payment_id)
        .outerjoin(Patient, Patient.id == Payment.patient_id)
        .where(PayoutLine.payout_id == payout_id)
        .order_by(PayoutLine.id)
    )
    rows = []
    for ln, pay, ref in session.execute(q):
        c = ln.currency
        sale = (
            f"payment {pay.id} · {pay.provider_ref} · {ref or '—'} · {Money(pay.gross_minor, pay.currency)}"
            if pay is not None
            else ""
        )
        rows.append(
            LineRow(
                ln.id,
                ln.booking_id,
                ln.patient_ref,
                ln.service_date,
                Money(ln.gross_minor, c),
                Money(ln.commission_minor + ln.processing_fee_minor + ln.vat_on_fees_minor, c),
                Money(ln.net_minor, c),
                ln.status,
                ln.match_rule,
                Money(ln.variance_minor, c),
                sale,
            )
        )
    return PayoutDetail(
        payout.id,
        payout.source,
        payout.provider_ref,
        payout.payout_date,
        Money(payout.expected_minor, payout.currency),
        payout.status,
        payout.held_reason,
        tuple(rows),
    )
