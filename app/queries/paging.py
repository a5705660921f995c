"""A page of rows plus the total, and the query parameters every list view sends."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Generic, TypeVar

from sqlalchemy import Select

T = TypeVar("T")
AnySelect = Select[*tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class ListQuery:
    text: str = ""
    sort_key: str = ""
    descending: bool = True
    offset: int = 0
    limit: int = 200
    status: str = ""
    payer_id: int | None = None
    clinic_id: int | None = None
    practitioner_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    extra: tuple[tuple[str, str], ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    rows: list[T]
    total: int
    offset: int
