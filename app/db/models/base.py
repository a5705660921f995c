"""Declarative base with a constraint naming convention (Alembic batch mode on SQLite needs names)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import BigInteger, Integer, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.db.types import UTCDateTime
from app.money import Money

# 64-bit on PostgreSQL; INTEGER on SQLite (64-bit there too, and required for rowid primary keys).
BIGINT = BigInteger().with_variant(Integer(), "sqlite")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), int: BIGINT}


def money_column(nullable: bool = False) -> Mapped[int]:
    """Integer minor units (pence). Paired with a ``currency`` column on the same row."""
    return mapped_column(BIGINT, nullable=nullable, default=0)


def currency_column() -> Mapped[str]:
    return mapped_column(String(3), nullable=False, default="GBP")


def as_money(minor: int | None, currency: str) -> Money:
    return Money(int(minor or 0), currency)
