"""Encounters, charges, invoices, payments, shifts, refunds and disputes."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db.models.base import Base, currency_column, money_column
from app.db.types import EnumText
from app.domain.status import (
    DisputeKind,
    DisputeStatus,
    InvoiceStatus,
    PaymentStatus,
    RefundReason,
    RefundStatus,
    ShiftStatus,
)


class Encounter(Base):
    __tablename__ = "encounter"
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioner.id"), index=True)
    service_date: Mapped[date] = mapped_column(Date, index=True)
    signed_off_at: Mapped[datetime | None]
    diagnosis_codes: Mapped[str] = mapped_column(String(120), default="")  # ICD-10, comma separated
    notes: Mapped[str] = mapped_column(Text, default="")
    consent_at: Mapped[datetime | None]
    booking_ref: Mapped[str] = mapped_column(String(60), default="", index=True)  # marketplace booking id


class Charge(Base):
    __tablename__ = "charge"
    id: Mapped[int] = mapped_column(primary_key=True)
    encounter_id: Mapped[int] = mapped_column(ForeignKey("encounter.id"), index=True)
    clinic_code: Mapped[str] = mapped_column(String(20))  # CCSD or clinic-local procedure code
    description: Mapped[str] = mapped_column(String(200))
    units: Mapped[int] = mapped_column(Integer, default=1)
    amount_minor: Mapped[int] = money_column()
    currency: Mapped[str] = currency_column()
    product_batch: Mapped[str] = mapped_column(String(40), default="", index=True)  # herbal product batch


class Invoice(Base):
    """What a patient (or payer) owes for an encounter; ``balance`` = total - paid."""

    __tablename__ = "invoice"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    encounter_id: Mapped[int | None] = mapped_column(ForeignKey("encounter.id"), index=True)
    issued_at: Mapped[datetime]
    total_minor: Mapped[int] = money_column()
    paid_minor: Mapped[int] = money_column()
    patient_due_minor: Mapped[int] = money_column()  # the patient's share (co-pay) after insurance
    currency: Mapped[str] = currency_column()
    status: Mapped[InvoiceStatus] = mapped_column(EnumText(InvoiceStatus), default=InvoiceStatus.OPEN)


class Shift(Base):
    __tablename__ = "shift"
    __table_args__ = (UniqueConstraint("clinic_id", "desk", "starts_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    desk: Mapped[str] = mapped_column(String(40))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    status: Mapped[ShiftStatus] = mapped_column(EnumText(ShiftStatus), default=ShiftStatus.OPEN)
    opening_float_minor: Mapped[int] = money_column()
    counted_cash_minor: Mapped[int | None] = money_column(nullable=True)
    cash_count_json: Mapped[str] = mapped_column(Text, default="{}")
    difference_reason: Mapped[str] = mapped_column(Text, default="")
    currency: Mapped[str] = currency_column()
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    closed_at: Mapped[datetime | None]
    provider_data_as_of: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)  # optimistic lock for concurrent close-outs

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy reads it as is


class Payment(Base):
    """Money taken from a patient or payer: card (Stripe/Square/PayPal), cash, marketplace, insurer."""

    __tablename__ = "payment"
    __table_args__ = (UniqueConstraint("provider", "provider_ref"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id"), index=True)
    practitioner_id: Mapped[int | None] = mapped_column(ForeignKey("practitioner.id"))
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id"), index=True)
    shift_id: Mapped[int | None] = mapped_column(ForeignKey("shift.id"), index=True)
    payout_id: Mapped[int | None] = mapped_column(ForeignKey("payout.id"), index=True)
    provider: Mapped[str] = mapped_column(String(20))  # stripe, square, paypal, cash, classpass, ...
    provider_ref: Mapped[str] = mapped_column(String(80))
    method: Mapped[str] = mapped_column(String(20), default="card_present")
    terminal_id: Mapped[str] = mapped_column(String(60), default="")
    card_fingerprint: Mapped[str] = mapped_column(String(60), default="", index=True)
    taken_at: Mapped[datetime] = mapped_column(index=True)
    gross_minor: Mapped[int] = money_column()
    fee_minor: Mapped[int] = money_column()
    net_minor: Mapped[int] = money_column()
    refunded_minor: Mapped[int] = money_column()
    currency: Mapped[str] = currency_column()
    status: Mapped[PaymentStatus] = mapped_column(EnumText(PaymentStatus), default=PaymentStatus.SUCCEEDED)
    product_batch: Mapped[str] = mapped_column(String(40), default="", index=True)


class Refund(Base):
    __tablename__ = "refund"
    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payment.id"), index=True)
    amount_minor: Mapped[int] = money_column()
    currency: Mapped[str] = currency_column()
    reason: Mapped[RefundReason] = mapped_column(EnumText(RefundReason))
    note: Mapped[str] = mapped_column(Text, default="")
    evidence_json: Mapped[str] = mapped_column(Text, default="{}")
    status: Mapped[RefundStatus] = mapped_column(EnumText(RefundStatus), default=RefundStatus.PROPOSED)
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    provider_ref: Mapped[str] = mapped_column(String(80), default="")
    method: Mapped[str] = mapped_column(String(20), default="original")  # original provider, or cash
    shift_id: Mapped[int | None] = mapped_column(ForeignKey("shift.id"))
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Dispute(Base):
    """One lifecycle for card disputes, patient billing disputes and remittance-line disputes."""

    __tablename__ = "dispute"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[DisputeKind] = mapped_column(EnumText(DisputeKind))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payment.id"), index=True)
    remittance_line_id: Mapped[int | None] = mapped_column(ForeignKey("remittance_line.id"))
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id"))
    provider: Mapped[str] = mapped_column(String(20), default="")
    provider_ref: Mapped[str] = mapped_column(String(80), default="", index=True)
    amount_minor: Mapped[int] = money_column()
    currency: Mapped[str] = currency_column()
    reason: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[DisputeStatus] = mapped_column(EnumText(DisputeStatus), default=DisputeStatus.OPEN)
    due_at: Mapped[datetime | None] = mapped_column(index=True)
    owner_role: Mapped[str] = mapped_column(String(20), default="manager")
    checklist_json: Mapped[str] = mapped_column(Text, default="[]")
    resolution: Mapped[str] = mapped_column(Text, default="")
    opened_at: Mapped[datetime]
