"""Seeding a clinic day at the sandboxes, and the fee rules written out independently of the app."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import httpx

LONDON = ZoneInfo("Europe/London")


def half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def stripe_fee(amount: int) -> int:
    return half_up(Decimal(amount) * Decimal("0.015")) + 20


def square_fee(amount: int) -> int:
    return half_up(Decimal(amount) * Decimal("0.0175"))


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
