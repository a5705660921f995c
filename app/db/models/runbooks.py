"""Tables the runbooks share: code mappings, insurer dictionaries, imported files, ledger postings,
shift adjustments and numbered sequences."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from app.db.models.base import Base, currency_column, money_column


class CodeMapping(Base):
    """A clinic's procedure code (CCSD or clinic-local) mapped to one insurer's code, per clinic."""

    __tablename__ = "code_mapping"
    __table_args__ = (UniqueConstraint("clinic_id", "payer_id", "clinic_code", "valid_from"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    payer_id: Mapped[int] = mapped_column(ForeignKey("payer.id"), index=True)
    clinic_code: Mapped[str] = mapped_column(String(20))
    insurer_code: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(String(200), default="")
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    requires_authorisation: Mapped[bool] = mapped_column(Boolean, default=False)


class InsurerCode(Base):
    """One code of an insurer's dictionary (CPT or the insurer's own), with validity and max units."""

    __tablename__ = "insurer_code"
    __table_args__ = (UniqueConstraint("payer_id", "code", "valid_from"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    payer_id: Mapped[int] = mapped_column(ForeignKey("payer.id"), index=True)
    code: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(String(200), default="")
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    max_units: Mapped[int | None] = mapped_column(Integer)


class ImportedFile(Base):
    """Every file that came in (remittance, acknowledgement, settlement, bank statement), kept raw in
    the archive by SHA-256. The same file twice is recognised here; a bad one is quarantined."""

    __tablename__ = "imported_file"
    __table_args__ = (UniqueConstraint("kind", "sha256"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), index=True)  # x12_835, x12_999, x12_277ca, insurer_xml, ...
    source: Mapped[str] = mapped_column(String(40), default="")  # payer / provider code
    filename: Mapped[str] = mapped_column(String(260))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    status: Mapped[str] = mapped_column(String(20), default="processed")  # processed, quarantined, flagged
    message: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime]


class LedgerPosting(Base):
    """One money movement from cash application, a payout or a dispute resolution (write-off,
    patient responsibility, unapplied cash, takeback, correction). Held ones wait for approval."""

    __tablename__ = "ledger_posting"
    # postings are looked up by source (a remittance's) and by claim (its write-offs); every other
    # index would only slow down the 100,000-claim remittance that inserts 300,000 of them
    __table_args__ = (UniqueConstraint("posting_key"), Index("ix_ledger_posting_source", "source_kind", "source_id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    posting_key: Mapped[str] = mapped_column(String(120))  # deterministic: re-running posts nothing twice
    source_kind: Mapped[str] = mapped_column(String(30))
    source_id: Mapped[int] = mapped_column()
    kind: Mapped[str] = mapped_column(String(30))
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claim.id"), index=True)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id"))
    amount_minor: Mapped[int] = money_column()
    currency: Mapped[str] = currency_column()
    reason_code: Mapped[str] = mapped_column(String(20), default="")
    memo: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="posted")  # posted, held, approved, rejected
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime]
    needs_approval: Mapped[bool] = mapped_column(default=False, server_default=false())  # above a write-off limit
    needs_review: Mapped[bool] = mapped_column(default=False, server_default=false())  # a person should look


class ShiftAdjustment(Base):
    """A correction to a closed shift: a new, audit-logged entry, never an edit of the shift."""

    __tablename__ = "shift_adjustment"
    id: Mapped[int] = mapped_column(primary_key=True)
    shift_id: Mapped[int] = mapped_column(ForeignKey("shift.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))  # cash_correction, late_payment, refund_from_drawer
    amount_minor: Mapped[int] = money_column()
    currency: Mapped[str] = currency_column()
    reason: Mapped[str] = mapped_column(Text)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payment.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime]


class SequenceCounter(Base):
    """Named counters (X12 interchange/group/transaction control numbers, claim numbers)."""

    __tablename__ = "sequence_counter"
    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[int] = mapped_column(default=0)
