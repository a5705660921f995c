from decimal import Decimal

import pytest

from app.money import Money, to_decimal, to_minor, total


def test_money_from_decimal_text_is_exact_in_pence() -> None:
    assert Money.of("12.34").minor == 1234
    assert Money.of("0.005").minor == 1  # ROUND_HALF_UP, stated explicitly
    assert Money.of("-0.005").minor == -1
    assert to_decimal(1234) == Decimal("12.34")


def test_money_refuses_float_and_mixed_currency() -> None:
    with pytest.raises(TypeError):
        Money(1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        to_minor(0.1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="GBP with EUR"):
        Money(100) + Money(100, "EUR")


def test_money_arithmetic_and_display() -> None:
    assert Money(1000) - Money(250) == Money(750)
    assert str(Money(-123456)) == "-£1,234.56"
    assert Money(10_000).times(Decimal("0.014")) == Money(140)
    assert total([Money(1), Money(2)]) == Money(3)
    assert str(Money(5, "JPY")) == "5 JPY"


def test_bad_amount_text_is_refused() -> None:
    with pytest.raises(ValueError, match="not an amount"):
        to_minor("12,3x")
