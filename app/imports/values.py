"""Reading one cell of an imported file: amounts (to minor units, never float) and dates.

Each parser raises ``ValueError`` with a short reason a clinic manager can read; the importer
adds the row and column.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from app.money import exponent

_CURRENCY_MARKS = re.compile(r"^(?:[£€$]|GBP|EUR|USD)\s*|\s*(?:[£€$]|GBP|EUR|USD)$", re.IGNORECASE)
_FORMAT_WORDS = {
    "%d": "DD",
    "%m": "MM",
    "%Y": "YYYY",
    "%y": "YY",
    "%b": "Mon",
    "%H": "hh",
    "%M": "mm",
    "%S": "ss",
}


def parse_amount(text: str, currency: str, *, decimal_separator: str = ".", thousands_separator: str = ",") -> int:
    """Amount text -> minor units: ``"£1,234.56"``, ``"(12.00)"``, ``"-12.00"``, ``"12.00-"``, ``"12,50"``.

    Thousands separators must group digits by three, so ``"12,50"`` is refused unless the
    decimal separator is a comma. More decimals than the currency has are refused, not rounded.
    """
    raw = text.strip()
    if not raw:
        raise ValueError("no amount given")
    negative = False
    body = raw
    if body.startswith("(") and body.endswith(")"):
        negative, body = True, body[1:-1].strip()
    body = _CURRENCY_MARKS.sub("", body).strip()
    if body.startswith(("-", "+")):
        negative, body = negative ^ (body[0] == "-"), body[1:].strip()
    elif body.endswith("-"):
        negative, body = not negative, body[:-1].strip()
    body = _CURRENCY_MARKS.sub("", body).strip()
    whole, _, fraction = body.partition(decimal_separator)
    if thousands_separator and thousands_separator in whole:
        groups = whole.split(thousands_separator)
        if not groups[0].isdigit() or len(groups[0]) > 3 or any(len(g) != 3 or not g.isdigit() for g in groups[1:]):
            raise ValueError(f"{raw!r} is not an amount (digit grouping is wrong)")
        whole = "".join(groups)
    if not whole.isdigit() or (fraction and not fraction.isdigit()) or (decimal_separator in body and not fraction):
        raise ValueError(f"{raw!r} is not an amount")
    try:
        value = Decimal(f"{whole}.{fraction or '0'}")
    except InvalidOperation as exc:  # pragma: no cover - digits only reach here
        raise ValueError(f"{raw!r} is not an amount") from exc
    scaled = value.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{raw!r} has more than {exponent(currency)} decimal places for {currency}")
    minor = int(scaled)
    return -minor if negative else minor


def parse_decimal_amount(value: object, currency: str) -> int:
    """A JSON amount (decimal string, int or Decimal; never float) -> minor units, exactly."""
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise ValueError(f"{value!r} is not an amount")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValueError(f"{value!r} is not an amount") from exc
    if not number.is_finite():
        raise ValueError(f"{value!r} is not an amount")
    scaled = number.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value!r} has more than {exponent(currency)} decimal places for {currency}")
    return int(scaled)


def parse_date(text: str, formats: tuple[str, ...]) -> date:
    """Try each ``strptime`` format in order; a date-time keeps only its date."""
    raw = text.strip()
    if not raw:
        raise ValueError("no date given")
    for fmt in formats:
        try:
            return datetime.strptime(raw, fmt).date()  # noqa: DTZ007 - a calendar date, no instant
        except ValueError:
            continue
    expected = " or ".join(describe_format(f) for f in formats)
    raise ValueError(f"{raw!r} is not a date (expected {expected})")


def parse_int(text: str) -> int:
    raw = text.strip().replace(",", "")
    if not re.fullmatch(r"[+-]?\d+", raw):
        raise ValueError(f"{text.strip()!r} is not a whole number")
    return int(raw)


def describe_format(fmt: str) -> str:
    """``"%d/%m/%Y"`` -> ``"DD/MM/YYYY"`` for messages."""
    for code, word in _FORMAT_WORDS.items():
        fmt = fmt.replace(code, word)
    return fmt
