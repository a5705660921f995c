"""Display formatting: money, local time, statuses. Local time only here, never in the core."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from zoneinfo import ZoneInfo

from app.money import Money

DISPLAY_TZ = ZoneInfo("Europe/London")


def fmt(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Money):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(DISPLAY_TZ).strftime("%d %b %Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d %b %Y")
    if isinstance(value, Enum):
        return str(value.value).replace("_", " ").capitalize()
    return str(value)


def sort_value(value: object) -> object:
    if isinstance(value, Money):
        return value.minor
    if isinstance(value, Enum):
        return value.value
    return value
