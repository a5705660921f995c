"""List queries for shifts, payouts, refunds and disputes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import String, cast, func, or_, select
from sqlalchemy.orm import Session

from app.db.models import Clinic, Dispute, Patient, Payment, Payout, Refund, Shift, User
from app.domain.status import DisputeStatus, PayoutStatus, RefundStatus, ShiftStatus
from app.money import Money
from app.queries.paging import AnySelect, ListQuery, Page


def _page(
    session: Session, stmt: AnySelect, q: ListQuery, sorts: dict[str, Any], default: Any
) -> tuple[int, list[Any]]:
    total = int(session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0)
    key = sorts.get(q.sort_key, default)
    rows = list(
        session.execute(stmt.order_by(key.desc() if q.descending else key.asc()).offset(q.offset).limit(q.limit))
    )
    return total, rows


@dataclass(frozen=True, slots=True)
class ShiftRow:
    id: int
    clinic: str
    desk: str
    starts_at: datetime
    ends_at: datetime
    status: ShiftStatus
    payments: int
    gross: Money
    fees: Money
    cash: Money
    closed_by: str


def list_shifts(session: Session, q: ListQuery) -> Page[ShiftRow]:
    pay = (
        select(
            Payment.shift_id,
            func.count().label("n"),
            func.sum(Payment.gross_minor).label("gross"),
            func.sum(Payment.fee_minor).label("fees"),
            func.sum(func.coalesce(Payment.gross_minor, 0) * (Payment.method == "cash")).label("cash"),
        )
        .group_by(Payment.shift_id)
        .subquery()
    )
    stmt = (
        select(Shift, Clinic.name, pay.c.n, pay.c.gross, pay.c.fees, pay.c.cash, User.display_name)
        .join(Clinic, Clinic.id == Shift.clinic_id)
        .outerjoin(pay, pay.c.shift_id == Shift.id)
        .outerjoin(User, User.id == Shift.closed_by_id)
    )
    if q.status:
        stmt = stmt.where(Shift.status == ShiftStatus(q.status))
    if q.text.strip():
        like = f"%{q.text.strip()}%"
        stmt = stmt.where(or_(Shift.desk.ilike(like), Clinic.name.ilike(like)))
    total, rows = _page(session, stmt, q, {"starts_at": Shift.starts_at, "desk": Shift.desk}, Shift.starts_at)
    return Page(
        [
            ShiftRow(
                sh.id,
                clinic,
                sh.desk,
                sh.starts_at,
                sh.ends_at,
                sh.status,
                int(n or 0),
                Money(int(g or 0), sh.currency),
                Money(int(f or 0), sh.currency),
                Money(int(c or 0), sh.currency),
                closer or "",
            )
            for sh, clinic, n, g, f, c, closer in rows
        ],
        total,
        q.offset,
    )


@dataclass(frozen=True, slots=True)
class PayoutRow:
    id: int
    source: str
    provider_ref: str
    payout_date: date
    expected: Money
    received: Money | None
    difference: Money | None
    status: PayoutStatus


def list_payouts(session: Session, q: ListQuery) -> Page[PayoutRow]:
    stmt = select(Payout)
    if q.status:
        stmt = stmt.where(Payout.status == PayoutStatus(q.status))
    for key, value in q.extra:
        if key == "sources":
            stmt = stmt.where(Payout.source.in_(value.split(",")))
    if q.text.strip():
        like = f"%{q.text.strip()}%"
        stmt = stmt.where(or_(Payout.provider_ref.ilike(like), Payout.source.ilike(like)))
    total, rows = _page(
        session,
        stmt,
        q,
        {"payout_date": Payout.payout_date, "source": Payout.source, "expected": Payout.expected_minor},
        Payout.payout_date,
    )
    out = []
    for (p,) in rows:
        received = None if p.received_minor is None else Money(p.received_minor, p.currency)
        out.append(
            PayoutRow(
                p.id,
                p.source,
                p.provider_ref,
                p.payout_date,
                Money(p.expected_minor, p.currency),
                received,
                None if received is None else received - Money(p.expected_minor, p.currency),
                p.status,
            )
        )
    return Page(out, total, q.offset)


@dataclass(frozen=True, slots=True)
class RefundRow:
    id: int
    patient: str
    provider: str
    payment_ref: str
    amount: Money
    reason: str
    status: RefundStatus
    proposed_by: str
    created_at: datetime
    note: str


def list_refunds(session: Session, q: ListQuery) -> Page[RefundRow]:
    stmt = (
        select(
            Refund,
            Payment.provider,
            Payment.provider_ref,
            Patient.first_name,
            Patient.last_name,
            User.display_name,
        )
        .join(Payment, Payment.id == Refund.payment_id)
        .outerjoin(Patient, Patient.id == Payment.patient_id)
        .outerjoin(User, User.id == Refund.proposed_by_id)
    )
    if q.status:
        stmt = stmt.where(Refund.status.in_([RefundStatus(s) for s in q.status.split(",")]))
    if q.text.strip():
        like = f"%{q.text.strip()}%"
        stmt = stmt.where(
            or_(
                Patient.last_name.ilike(like),
                Payment.provider_ref.ilike(like),
                cast(Refund.reason, String).ilike(like),
            )
        )
    total, rows = _page(
        session, stmt, q, {"created_at": Refund.created_at, "amount": Refund.amount_minor}, Refund.created_at
    )
    return Page(
        [
            RefundRow(
                r.id,
                f"{fn or ''} {ln or ''}".strip() or "—",
                prov,
                ref,
                Money(r.amount_minor, r.currency),
                r.reason.value.replace("_", " "),
                r.status,
                who or "",
                r.created_at,
                r.note,
            )
            for r, prov, ref, fn, ln, who in rows
        ],
        total,
        q.offset,
    )


@dataclass(frozen=True, slots=True)
class DisputeRow:
    id: int
    kind: str
    provider_ref: str
    payment_ref: str
    patient: str
    amount: Money
    reason: str
    status: DisputeStatus
    due_at: datetime | None
    owner_role: str
    shift_id: int | None


def list_disputes(session: Session, q: ListQuery) -> Page[DisputeRow]:
    stmt = (
        select(Dispute, Payment.provider_ref, Payment.shift_id, Patient.first_name, Patient.last_name)
        .outerjoin(Payment, Payment.id == Dispute.payment_id)
        .outerjoin(Patient, Patient.id == Payment.patient_id)
    )
    if q.status == "open":
        stmt = stmt.where(Dispute.status.in_([DisputeStatus.OPEN, DisputeStatus.EVIDENCE_SUBMITTED]))
    elif q.status:
        stmt = stmt.where(Dispute.status == DisputeStatus(q.status))
    if q.text.strip():
        like = f"%{q.text.strip()}%"
        stmt = stmt.where(
            or_(Dispute.reason.ilike(like), Dispute.provider_ref.ilike(like), Patient.last_name.ilike(like))
        )
    total, rows = _page(session, stmt, q, {"due_at": Dispute.due_at, "amount": Dispute.amount_minor}, Dispute.due_at)
    return Page(
        [
            DisputeRow(
                d.id,
                d.kind.value.replace("_", " "),
                d.provider_ref,
                pref or "",
                f"{fn or ''} {ln or ''}".strip() or "—",
                Money(d.amount_minor, d.currency),
                d.reason,
                d.status,
                d.due_at,
                d.owner_role,
                shift,
            )
            for d, pref, shift, fn, ln in rows
        ],
        total,
        q.offset,
    )
