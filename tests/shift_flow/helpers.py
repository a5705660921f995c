"""Seeding a clinic day at the sandboxes, and the fee rules written out independently of the app."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy.orm import Session

from app.db.models import Payment
from app.domain.status import PaymentStatus

LONDON = ZoneInfo("Europe/London")


def half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def stripe_fee(amount: int) -> int:
    return half_up(Decimal(amount) * Decimal("0.015")) + 20


def square_fee(amount: int) -> int:
    return half_up(Decimal(amount) * Decimal("0.0175"))


CARD_AND_CASH = (
    ("pi_1", "stripe", "card_present", 4500, 88),
    ("sq_1", "square", "card_present", 6000, 105),
    ("cash-1", "cash", "cash", 3500, 0),
)


def add_takings(
    s: Session, clinic_id: int, shift_id: int, taken: datetime, rows: tuple[tuple[str, str, str, int, int], ...]
) -> None:
    """Succeeded payments (ref, provider, method, gross, fee in pence) in one shift, all at ``taken``."""
    for ref, provider, method, gross, fee in rows:
        s.add(
            Payment(
                clinic_id=clinic_id,
                shift_id=shift_id,
                provider=provider,
                provider_ref=ref,
                method=method,
                taken_at=taken,
                gross_minor=gross,
                fee_minor=fee,
                net_minor=gross - fee,
                currency="GBP",
                status=PaymentStatus.SUCCEEDED,
            )
        )


def at(day: date, hh: int, mm: int) -> datetime:
    return datetime.combine(day, time(hh, mm), LONDON).astimezone(UTC)


def square_payment(base: str, amount: int, when: datetime, device: str) -> str:
    body = {"amount": amount, "created_at": when.isoformat().replace("+00:00", "Z"), "device_id": device}
    response = httpx.post(f"{base}/_sandbox/payments", json=body, timeout=10)
    response.raise_for_status()
    return str(response.json()["payment"]["id"])


def square_control(base: str, path: str, body: dict[str, object]) -> dict[str, object]:
    response = httpx.post(f"{base}/_sandbox/{path}", json=body, timeout=10)
    response.raise_for_status()
    return response.json()  # type: ignore[no-any-return]
