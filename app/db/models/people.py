"""Clinics, practitioners, patients, payers and users."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db.models.base import Base
from app.db.types import EnumText
from app.domain.status import InsurerChannelKind, PayerKind, Role


class Clinic(Base):
    __tablename__ = "clinic"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    address: Mapped[str] = mapped_column(Text, default="")
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/London")
    currency: Mapped[str] = mapped_column(String(3), default="GBP")
    provider_number: Mapped[str] = mapped_column(String(40), default="")
    npi: Mapped[str] = mapped_column(String(10), default="")
    tax_id: Mapped[str] = mapped_column(String(20), default="")


class Practitioner(Base):
    __tablename__ = "practitioner"
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    profession: Mapped[str] = mapped_column(String(60), default="")
    registration_number: Mapped[str] = mapped_column(String(40), default="")
    npi: Mapped[str] = mapped_column(String(10), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Payer(Base):
    """Anyone who pays the clinic other than the patient: insurer, HMO, marketplace, card processor."""

    __tablename__ = "payer"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[PayerKind] = mapped_column(EnumText(PayerKind))
    channel: Mapped[InsurerChannelKind] = mapped_column(EnumText(InsurerChannelKind), default=InsurerChannelKind.NONE)
    payer_id_code: Mapped[str] = mapped_column(String(40), default="")  # X12 payer id / insurer provider code
    settings_json: Mapped[str] = mapped_column(Text, default="{}")  # non-secret endpoint settings


class Patient(Base):
    __tablename__ = "patient"
    __table_args__ = (UniqueConstraint("clinic_id", "ref"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    ref: Mapped[str] = mapped_column(String(40))  # the clinic's patient reference
    first_name: Mapped[str] = mapped_column(String(80))
    last_name: Mapped[str] = mapped_column(String(80), index=True)
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    gender: Mapped[str] = mapped_column(String(1), default="U")
    email: Mapped[str] = mapped_column(String(160), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    address: Mapped[str] = mapped_column(Text, default="")
    postcode: Mapped[str] = mapped_column(String(16), default="")
    insurer_id: Mapped[int | None] = mapped_column(ForeignKey("payer.id"))
    member_id: Mapped[str] = mapped_column(String(40), default="")
    authorisation_number: Mapped[str] = mapped_column(String(40), default="")
    cover_start: Mapped[date | None] = mapped_column(Date)
    cover_end: Mapped[date | None] = mapped_column(Date)


class User(Base):
    __tablename__ = "app_user"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[Role] = mapped_column(EnumText(Role))
    secret_hash: Mapped[str] = mapped_column(String(200))  # argon2id of the PIN or password
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    failed_attempts: Mapped[int] = mapped_column(default=0)
