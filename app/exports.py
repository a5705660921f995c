"""Plain-table exports (CSV/JSON) of what a clinic manager may want outside the app."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import AuditEvent, Claim, Dispute, Patient, Payer, Payment, Payout, Refund, Task
from app.money import to_decimal


def _cell(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    return value


def _rows(session: Session, model: type[Any], order: Any, money: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    out = []
    cols = [c.key for c in model.__mapper__.column_attrs]
    for obj in session.scalars(select(model).order_by(order)):
        row = {c: _cell(getattr(obj, c)) for c in cols}
        for m in money:  # minor units -> decimal strings next to them, for spreadsheets
            row[m.removesuffix("_minor")] = str(to_decimal(int(row[m] or 0), row.get("currency", "GBP")))
        out.append(row)
    return out


EXPORTS: dict[str, Callable[[Session], list[dict[str, Any]]]] = {
    "claims": lambda s: _rows(s, Claim, Claim.id, ("total_minor", "paid_minor", "patient_resp_minor")),
    "payments": lambda s: _rows(s, Payment, Payment.id, ("gross_minor", "fee_minor", "net_minor", "refunded_minor")),
    "payouts": lambda s: _rows(s, Payout, Payout.id, ("expected_minor",)),
    "refunds": lambda s: _rows(s, Refund, Refund.id, ("amount_minor",)),
    "disputes": lambda s: _rows(s, Dispute, Dispute.id, ("amount_minor",)),
    "tasks": lambda s: _rows(s, Task, Task.id),
    "patients": lambda s: _rows(s, Patient, Patient.id),
    "payers": lambda s: _rows(s, Payer, Payer.id),
    "audit": lambda s: _rows(s, AuditEvent, AuditEvent.id),
}


def export_table(session: Session, what: str) -> list[dict[str, Any]]:
    return EXPORTS[what](session)
