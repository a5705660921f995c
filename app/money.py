"""Money as integer minor units plus a currency. Never float.

``Money`` refuses floats and mixed currencies; conversion from decimal text uses an explicit
rounding mode (ROUND_HALF_UP, the convention on UK invoices) and is exact for 2-decimal
currencies.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Final

DEFAULT_CURRENCY: Final = "GBP"
_EXPONENT: Final[dict[str, int]] = {"JPY": 0, "KRW": 0, "BHD": 3, "KWD": 3, "OMR": 3}


def exponent(currency: str) -> int:
    """Number of minor-unit digits of an ISO 4217 currency (2 unless listed)."""
    return _EXPONENT.get(currency.upper(), 2)


def to_minor(amount: Decimal | str | int, currency: str = DEFAULT_CURRENCY) -> int:
    """Decimal text or Decimal in major units -> integer minor units (ROUND_HALF_UP)."""
    if isinstance(amount, float):
        raise TypeError("money must not be a float; pass a Decimal or a string")
    try:
        value = Decimal(str(amount).strip().replace(",", ""))
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {amount!r}") from exc
    if not value.is_finite():
        raise ValueError(f"not an amount: {amount!r}")
    scaled = value.scaleb(exponent(currency)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return int(scaled)


def to_decimal(minor: int, currency: str = DEFAULT_CURRENCY) -> Decimal:
    """Integer minor units -> Decimal in major units with the currency's exponent."""
    exp = exponent(currency)
    return Decimal(minor).scaleb(-exp).quantize(Decimal(1).scaleb(-exp))


@dataclass(frozen=True, slots=True, order=True)
class Money:
    """An amount in integer minor units (pence, cents) of one currency."""

    minor: int
    currency: str = DEFAULT_CURRENCY

    def __post_init__(self) -> None:
        if isinstance(self.minor, bool) or not isinstance(self.minor, int):
            raise TypeError(f"Money.minor must be an int, got {type(self.minor).__name__}")
        if len(self.currency) != 3 or not self.currency.isalpha() or not self.currency.isupper():
            raise ValueError(f"not an ISO 4217 currency code: {self.currency!r}")

    @classmethod
    def of(cls, amount: Decimal | str | int, currency: str = DEFAULT_CURRENCY) -> Money:
        """Build from major units: ``Money.of("12.50")`` is £12.50."""
        return cls(to_minor(amount, currency), currency)

    @classmethod
    def zero(cls, currency: str = DEFAULT_CURRENCY) -> Money:
        return cls(0, currency)

    @property
    def amount(self) -> Decimal:
        return to_decimal(self.minor, self.currency)

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise ValueError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __abs__(self) -> Money:
        return Money(abs(self.minor), self.currency)

    def __bool__(self) -> bool:
        return self.minor != 0

    def times(self, factor: Decimal | int) -> Money:
        """Multiply by a Decimal factor (e.g. a fee rate), rounding half up to the minor unit."""
        if isinstance(factor, float):
            raise TypeError("factor must not be a float")
        result = (Decimal(self.minor) * Decimal(factor)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        return Money(int(result), self.currency)

    def __str__(self) -> str:
        symbol = {"GBP": "£", "EUR": "€", "USD": "$"}.get(self.currency)
        text = f"{abs(self.amount):,}"
        sign = "-" if self.minor < 0 else ""
        return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {self.currency}"


def total(amounts: list[Money] | tuple[Money, ...], currency: str = DEFAULT_CURRENCY) -> Money:
    """Sum of several Money values of one currency (zero in ``currency`` when empty)."""
    result = Money.zero(amounts[0].currency if amounts else currency)
    for m in amounts:
        result = result + m
    return result
