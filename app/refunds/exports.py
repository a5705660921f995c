"""The refund log (CSV and XLSX, replacing the spreadsheet) and the accounting exports of refunds:
Xero sales credit notes and QuickBooks Online refund receipts."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from app.db.models import Patient, Payment, Refund, User
from app.domain.status import RefundStatus
from app.errors import ValidationFailed
from app.ledger.accounting_exports import ExternalAccountMap, qbo_refund_receipts_csv, xero_credit_notes_csv
from app.ledger.csv_text import money_text, write_csv
from app.money import Money
from app.refunds.communications import reference
from app.refunds.execution import account_map, refund_record

LOG_HEADER = (
    "reference",
    "created",
    "patient",
    "payment",
    "provider",
    "method",
    "amount",
    "currency",
    "reason",
    "note",
    "status",
    "proposed_by",
    "approved_by",
    "decision_reason",
    "provider_ref",
)


@dataclass(frozen=True, slots=True)
class LogRow:
    reference: str
    created: datetime
    patient: str
    payment: str
    provider: str
    method: str
    amount: Money
    reason: str
    note: str
    status: str
    proposed_by: str
    approved_by: str
    decision_reason: str
    provider_ref: str

    def cells(self) -> tuple[str, ...]:
        return (
            self.reference,
            self.created.isoformat(timespec="seconds"),
            self.patient,
            self.payment,
            self.provider,
            self.method,
            money_text(self.amount),
            self.amount.currency,
            self.reason,
            self.note,
            self.status,
            self.proposed_by,
            self.approved_by,
            self.decision_reason,
            self.provider_ref,
        )


def refund_log(session: Session) -> list[LogRow]:
    proposer, approver = aliased(User), aliased(User)
    q = (
        select(Refund, Payment, Patient, proposer.username, approver.username)
        .join(Payment, Payment.id == Refund.payment_id)
        .outerjoin(Patient, Patient.id == Payment.patient_id)
        .outerjoin(proposer, proposer.id == Refund.proposed_by_id)
        .outerjoin(approver, approver.id == Refund.approved_by_id)
        .order_by(Refund.created_at, Refund.id)
    )
    return [
        LogRow(
            reference(r),
            r.created_at,
            f"{pt.first_name} {pt.last_name}" if pt else "",
            p.provider_ref,
            p.provider,
            r.method,
            Money(r.amount_minor, r.currency),
            r.reason.value.replace("_", " "),
            r.note,
            r.status.value,
            who or "system",
            ok or "",
            r.decision_reason,
            r.provider_ref,
        )
        for r, p, pt, who, ok in session.execute(q)
    ]


def log_csv(session: Session) -> bytes:
    return write_csv(LOG_HEADER, [row.cells() for row in refund_log(session)])


def log_xlsx(session: Session) -> bytes:
    """The refund log as a workbook: amounts are numbers (2 decimals), dates real dates."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Refunds"
    ws.append(list(LOG_HEADER))
    for row in refund_log(session):
        cells: list[object] = list(row.cells())
        cells[1] = row.created.replace(tzinfo=None)  # Excel has no time zones: UTC, as in the CSV
        cells[6] = row.amount.amount
        ws.append(cells)
        ws.cell(ws.max_row, 7).number_format = "0.00"
        ws.cell(ws.max_row, 2).number_format = "yyyy-mm-dd hh:mm"
    ws.freeze_panes = "A2"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _succeeded(session: Session) -> list[tuple[Refund, Payment]]:
    q = (
        select(Refund, Payment)
        .join(Payment, Payment.id == Refund.payment_id)
        .where(Refund.status == RefundStatus.SUCCEEDED)
        .order_by(Refund.updated_at, Refund.id)
    )
    return [(r, p) for r, p in session.execute(q)]


def accounting_csv(session: Session, shape: str, mapping: ExternalAccountMap | None = None) -> bytes:
    """Succeeded refunds as Xero credit notes (``xero``) or QuickBooks refund receipts (``qbo``)."""
    records = [refund_record(session, r, p) for r, p in _succeeded(session)]
    accounts, mapping = account_map(session), mapping or ExternalAccountMap()
    if shape == "xero":
        return xero_credit_notes_csv(records, accounts, mapping)
    if shape == "qbo":
        return qbo_refund_receipts_csv(records, accounts, mapping)
    raise ValidationFailed(f"Unknown accounting export {shape!r}: use 'xero' or 'qbo'.")


FORMATS: dict[str, Callable[[Session], bytes]] = {
    "csv": log_csv,
    "xlsx": log_xlsx,
    "xero": lambda s: accounting_csv(s, "xero"),
    "qbo": lambda s: accounting_csv(s, "qbo"),
}
