"""Read side of the Remittances view: the list, and one remittance with its lines and held postings."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.db.models import Claim, LedgerPosting, Payer, Remittance, RemittanceLine
from app.domain.status import RemittanceStatus
from app.errors import NotFound
from app.money import Money
from app.queries.paging import AnySelect, ListQuery, Page


@dataclass(frozen=True, slots=True)
class RemittanceRow:
    id: int
    payer: str
    trace: str
    payment_date: date | None
    total: Money
    unapplied: Money
    status: RemittanceStatus
    source: str
    filename: str


@dataclass(frozen=True, slots=True)
class LineRow:
    number: int
    claim_ref: str
    payer_ref: str
    status_code: str
    charged: Money
    paid: Money
    patient_resp: Money
    applied_to: str  # our claim number, or "" when not applied
    explanation: str


@dataclass(frozen=True, slots=True)
class PostingRow:
    id: int
    kind: str
    amount: Money
    claim: str
    memo: str
    status: str


@dataclass(frozen=True, slots=True)
class RemittanceDetail:
    row: RemittanceRow
    lines: list[LineRow]
    held: list[PostingRow]
    provider_adjustments: list[dict[str, str]]

    @property
    def lines_applied(self) -> int:
        return sum(1 for ln in self.lines if ln.applied_to)


SORTS: dict[str, Any] = {
    "payment_date": Remittance.payment_date,
    "total": Remittance.total_paid_minor,
    "unapplied": Remittance.unapplied_minor,
    "status": Remittance.status,
    "trace": Remittance.trace_number,
}


def _select() -> AnySelect:
    return select(
        Remittance.id,
        func.coalesce(Payer.name, Remittance.payer_name),
        Remittance.trace_number,
        Remittance.payment_date,
        Remittance.total_paid_minor,
        Remittance.unapplied_minor,
        Remittance.currency,
        Remittance.status,
        Remittance.source_format,
        Remittance.filename,
    ).outerjoin(Payer, Payer.id == Remittance.payer_id)


def _row(r: Any) -> RemittanceRow:
    return RemittanceRow(r[0], r[1] or "", r[2], r[3], Money(r[4], r[6]), Money(r[5], r[6]), r[7], r[8], r[9])


def list_remittances(session: Session, q: ListQuery) -> Page[RemittanceRow]:
    stmt = _select()
    if q.status:
        stmt = stmt.where(Remittance.status.in_([RemittanceStatus(s) for s in q.status.split(",")]))
    if q.payer_id:
        stmt = stmt.where(Remittance.payer_id == q.payer_id)
    text = q.text.strip()
    if text:
        like = f"%{text}%"
        stmt = stmt.where(
            or_(Remittance.trace_number.ilike(like), Payer.name.ilike(like), Remittance.filename.ilike(like))
        )
    total = int(session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0)
    key = SORTS.get(q.sort_key, Remittance.id)
    order = [key.desc() if q.descending else key.asc(), Remittance.id.desc() if q.descending else Remittance.id.asc()]
    rows = [_row(r) for r in session.execute(stmt.order_by(*order).offset(q.offset).limit(q.limit))]
    return Page(rows, total, q.offset)


def remittance_detail(session: Session, remittance_id: int, max_lines: int = 500) -> RemittanceDetail:
    found = session.execute(_select().where(Remittance.id == remittance_id)).first()
    if found is None:
        raise NotFound(f"Remittance {remittance_id} does not exist.")
    row = _row(found)
    cur = row.total.currency
    lines_q = (
        select(RemittanceLine, Claim.number)
        .outerjoin(Claim, Claim.id == RemittanceLine.claim_id)
        .where(RemittanceLine.remittance_id == remittance_id)
        .order_by(RemittanceLine.id)
        .limit(max_lines)
    )
    lines = [
        LineRow(
            n,
            ln.claim_ref,
            ln.payer_claim_ref,
            ln.status_code,
            Money(ln.charged_minor, cur),
            Money(ln.paid_minor, cur),
            Money(ln.patient_resp_minor, cur),
            number if ln.applied and number else "",
            ln.match_rule,
        )
        for n, (ln, number) in enumerate(session.execute(lines_q), start=1)
    ]
    held_q = (
        select(LedgerPosting, Claim.number)
        .outerjoin(Claim, Claim.id == LedgerPosting.claim_id)
        .where(LedgerPosting.source_kind == "remittance", LedgerPosting.source_id == remittance_id)
        .where(LedgerPosting.status == "held")
        .order_by(LedgerPosting.id)
    )
    held = [
        PostingRow(p.id, p.kind, Money(p.amount_minor, p.currency), number or "", p.memo, p.status)
        for p, number in session.execute(held_q)
    ]
    rem = session.get(Remittance, remittance_id)
    assert rem is not None
    return RemittanceDetail(row, lines, held, json.loads(rem.provider_adjustments_json))
