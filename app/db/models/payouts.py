"""Payouts from card processors and marketplaces, and their lines."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db.models.base import Base, currency_column, money_column
from app.db.types import EnumText
from app.domain.status import PayoutStatus


class Payout(Base):
    __tablename__ = "payout"
    __table_args__ = (UniqueConstraint("source", "provider_ref"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(20))  # stripe, square, classpass, treatwell
    provider_ref: Mapped[str] = mapped_column(String(80))
    payer_id: Mapped[int | None] = mapped_column(ForeignKey("payer.id"))
    payout_date: Mapped[date] = mapped_column(Date, index=True)
    expected_minor: Mapped[int] = money_column()  # what the provider says it sent (net)
    received_minor: Mapped[int | None] = money_column(nullable=True)  # what the bank shows
    currency: Mapped[str] = currency_column()
    status: Mapped[PayoutStatus] = mapped_column(EnumText(PayoutStatus), default=PayoutStatus.RECEIVED)
    bank_line_ref: Mapped[str] = mapped_column(String(80), default="")
    raw_sha256: Mapped[str] = mapped_column(String(64), default="")
    held_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]


class PayoutLine(Base):
    __tablename__ = "payout_line"
    id: Mapped[int] = mapped_column(primary_key=True)
    payout_id: Mapped[int] = mapped_column(ForeignKey("payout.id", ondelete="CASCADE"), index=True)
    entry_type: Mapped[str] = mapped_column(String(20), default="charge")
    booking_id: Mapped[str] = mapped_column(String(60), default="", index=True)
    patient_ref: Mapped[str] = mapped_column(String(40), default="")
    service_date: Mapped[date | None] = mapped_column(Date)
    gross_minor: Mapped[int] = money_column()
    commission_minor: Mapped[int] = money_column()
    processing_fee_minor: Mapped[int] = money_column()
    vat_on_fees_minor: Mapped[int] = money_column()
    net_minor: Mapped[int] = money_column()
    currency: Mapped[str] = currency_column()
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payment.id"))
    match_rule: Mapped[str] = mapped_column(Text, default="")
    variance_minor: Mapped[int] = money_column()
    status: Mapped[str] = mapped_column(String(20), default="unmatched")  # matched, variance, unmatched, resolved


class BankLine(Base):
    """One line of an imported bank statement."""

    __tablename__ = "bank_line"
    id: Mapped[int] = mapped_column(primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    booked_on: Mapped[date] = mapped_column(Date, index=True)
    amount_minor: Mapped[int] = money_column()
    currency: Mapped[str] = currency_column()
    description: Mapped[str] = mapped_column(String(300), default="")
    reference: Mapped[str] = mapped_column(String(120), default="")
    source_file_sha256: Mapped[str] = mapped_column(String(64), index=True)
    imported_at: Mapped[datetime]
