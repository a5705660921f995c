"""Claims and their lines, remittances and their lines, settlement runs, stored artefacts."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db.models.base import BIGINT, Base, currency_column, money_column
from app.db.types import EnumText
from app.domain.status import ClaimStatus, RemittanceStatus, SettlementStatus


class Claim(Base):
    __tablename__ = "claim"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)  # CLM-000123: what insurers see
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioner.id"), index=True)
    payer_id: Mapped[int] = mapped_column(ForeignKey("payer.id"), index=True)
    encounter_id: Mapped[int | None] = mapped_column(ForeignKey("encounter.id"))
    service_date: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[ClaimStatus] = mapped_column(EnumText(ClaimStatus), default=ClaimStatus.DRAFT, index=True)
    total_minor: Mapped[int] = money_column()
    paid_minor: Mapped[int] = money_column()
    patient_resp_minor: Mapped[int] = money_column()
    currency: Mapped[str] = currency_column()
    insurer_ref: Mapped[str] = mapped_column(String(60), default="", index=True)
    authorisation_number: Mapped[str] = mapped_column(String(40), default="")
    risk_score: Mapped[Decimal | None] = mapped_column(Numeric(4, 2))
    risk_reasons: Mapped[str] = mapped_column(Text, default="[]")
    submission_count: Mapped[int] = mapped_column(Integer, default=0)
    replaces_claim_id: Mapped[int | None] = mapped_column(ForeignKey("claim.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime] = mapped_column(index=True)
    submitted_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    adjudicated_at: Mapped[datetime | None]


class ClaimLine(Base):
    __tablename__ = "claim_line"
    __table_args__ = (UniqueConstraint("claim_id", "line_no"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claim.id", ondelete="CASCADE"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    clinic_code: Mapped[str] = mapped_column(String(20))
    insurer_code: Mapped[str] = mapped_column(String(20), default="")
    description: Mapped[str] = mapped_column(String(200), default="")
    units: Mapped[int] = mapped_column(Integer, default=1)
    amount_minor: Mapped[int] = money_column()
    currency: Mapped[str] = currency_column()


class Remittance(Base):
    """One payment from a payer (one BPR/TRN of an 835, one insurer remittance file, one CSV)."""

    __tablename__ = "remittance"
    __table_args__ = (UniqueConstraint("payer_id", "trace_number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    payer_id: Mapped[int | None] = mapped_column(ForeignKey("payer.id"), index=True)
    source_format: Mapped[str] = mapped_column(String(20))  # x12_835, insurer_xml, csv
    filename: Mapped[str] = mapped_column(String(200))
    raw_sha256: Mapped[str] = mapped_column(String(64), index=True)
    trace_number: Mapped[str] = mapped_column(String(60))
    payment_date: Mapped[date | None] = mapped_column(Date)
    total_paid_minor: Mapped[int] = money_column()
    unapplied_minor: Mapped[int] = money_column()
    currency: Mapped[str] = currency_column()
    payer_name: Mapped[str] = mapped_column(String(120), default="")
    method: Mapped[str] = mapped_column(String(10), default="")  # BPR04: ACH, CHK, NON, ...
    provider_adjustments_json: Mapped[str] = mapped_column(Text, default="[]")
    imported_file_id: Mapped[int | None] = mapped_column(ForeignKey("imported_file.id"))
    status: Mapped[RemittanceStatus] = mapped_column(EnumText(RemittanceStatus), default=RemittanceStatus.RECEIVED)
    received_at: Mapped[datetime]


class RemittanceLine(Base):
    __tablename__ = "remittance_line"
    id: Mapped[int] = mapped_column(primary_key=True)
    remittance_id: Mapped[int] = mapped_column(ForeignKey("remittance.id", ondelete="CASCADE"), index=True)
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claim.id"), index=True)
    claim_ref: Mapped[str] = mapped_column(String(40), default="")  # CLP01 as received
    payer_claim_ref: Mapped[str] = mapped_column(String(60), default="")
    status_code: Mapped[str] = mapped_column(String(4), default="")
    charged_minor: Mapped[int] = money_column()
    paid_minor: Mapped[int] = money_column()
    patient_resp_minor: Mapped[int] = money_column()
    currency: Mapped[str] = currency_column()
    adjustments_json: Mapped[str] = mapped_column(Text, default="[]")  # claim and service level
    services_json: Mapped[str] = mapped_column(Text, default="[]")  # "": kept in remittance.json only
    service_date: Mapped[date | None] = mapped_column(Date)
    patient_ref: Mapped[str] = mapped_column(String(40), default="")
    match_rule: Mapped[str] = mapped_column(String(200), default="")
    applied: Mapped[bool] = mapped_column(default=False)
    # What applying the line did; cash-application.csv is rebuilt from these and the postings.
    # The line's routine postings (its cash applied, and adjustments that need nobody's approval)
    # are not stored as ledger_posting rows: app.remittance.postings derives them from the line.
    outcome: Mapped[str] = mapped_column(String(30), default="", server_default="")
    rule: Mapped[str] = mapped_column(String(30), default="", server_default="")
    score: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    explanation: Mapped[str] = mapped_column(Text, default="", server_default="")
    posting_prefix: Mapped[str] = mapped_column(String(60), default="", server_default="")  # "REM5:12"
    cash_minor: Mapped[int] = mapped_column(BIGINT, default=0, server_default="0")
    written_off_minor: Mapped[int] = mapped_column(BIGINT, default=0, server_default="0")
    applied_at: Mapped[datetime | None]


class SettlementRun(Base):
    """HMO-style: approved claims aggregated per provider into one remittance to pay."""

    __tablename__ = "settlement_run"
    id: Mapped[int] = mapped_column(primary_key=True)
    payer_id: Mapped[int] = mapped_column(ForeignKey("payer.id"), index=True)
    practitioner_id: Mapped[int | None] = mapped_column(ForeignKey("practitioner.id"))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    claims_total_minor: Mapped[int] = money_column()
    capitation_minor: Mapped[int] = money_column()
    currency: Mapped[str] = currency_column()
    status: Mapped[SettlementStatus] = mapped_column(EnumText(SettlementStatus), default=SettlementStatus.GENERATED)
    payment_proof_sha256: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime]


class Artefact(Base):
    """A file kept with a record (claim pack parts, remittance raw file, PDFs) in the content store."""

    __tablename__ = "artefact"
    __table_args__ = (UniqueConstraint("owner_type", "owner_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    owner_type: Mapped[str] = mapped_column(String(30))
    owner_id: Mapped[int] = mapped_column(index=True)
    name: Mapped[str] = mapped_column(String(120))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    created_at: Mapped[datetime]
