"""What a shift report says, as frozen records, plus the plain-Python totals behind it.

The lead's services fill these from the database; :mod:`app.reports.shift_report` prints them.
Money is :class:`app.money.Money`; datetimes are aware UTC; the display zone is only for printing.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from app.errors import ValidationFailed
from app.money import Money
from app.reports.pdf_common import ClinicDetails, zone

#: Sterling notes and coins counted in a cash drawer, in pence, largest first.
UK_DENOMINATIONS: tuple[int, ...] = (5000, 2000, 1000, 500, 200, 100, 50, 20, 10, 5, 2, 1)


class ShiftState(enum.Enum):
    OPEN = "open"
    CLOSED = "closed"


class DepositStatus(enum.Enum):
    """How a provider's payout compares with what reached the bank."""

    MATCHED = "Matched"
    SHORT = "Short"
    OVER = "Over"
    AWAITING = "Awaiting"


@dataclass(frozen=True, slots=True)
class PaymentRow:
    """One payment taken during the shift."""

    taken_at: datetime
    provider: str  # "Stripe", "Square", "Cash"
    method: str  # "Card present", "Card online", "Cash"
    ref: str
    terminal: str
    practitioner: str
    gross: Money
    fee: Money
    net: Money


@dataclass(frozen=True, slots=True)
class TakingsLine:
    """Takings of one provider and payment method."""

    provider: str
    method: str
    count: int
    gross: Money
    fee: Money

    @property
    def net(self) -> Money:
        return self.gross - self.fee


@dataclass(frozen=True, slots=True)
class PayoutCheck:
    """A provider payout: what it should bring to the bank and what arrived."""

    provider: str
    payout_ref: str
    expected: Money
    received: Money | None  # None while the bank has not shown it yet

    @property
    def difference(self) -> Money | None:
        return None if self.received is None else self.received - self.expected

    @property
    def status(self) -> DepositStatus:
        diff = self.difference
        if diff is None:
            return DepositStatus.AWAITING
        if diff.minor == 0:
            return DepositStatus.MATCHED
        return DepositStatus.SHORT if diff.minor < 0 else DepositStatus.OVER


@dataclass(frozen=True, slots=True)
class DenominationCount:
    denomination: Money
    count: int

    @property
    def value(self) -> Money:
        return Money(self.denomination.minor * self.count, self.denomination.currency)

    @property
    def label(self) -> str:
        """``£50`` … ``£1`` for notes and pound coins, ``50p`` … ``1p`` for pence."""
        d = self.denomination
        if d.currency == "GBP":
            return f"£{d.minor // 100}" if d.minor >= 100 else f"{d.minor}p"
        return str(d)


@dataclass(frozen=True, slots=True)
class CashCount:
    """The cash drawer at close: float, what should be there, what was counted."""

    opening_float: Money
    expected_cash: Money  # float + cash taken - cash paid out
    counted: tuple[DenominationCount, ...]
    difference_reason: str | None = None

    @property
    def counted_total(self) -> Money:
        result = Money.zero(self.expected_cash.currency)
        for line in self.counted:
            result = result + line.value
        return result

    @property
    def difference(self) -> Money:
        """Counted minus expected: negative means the drawer is short."""
        return self.counted_total - self.expected_cash


def uk_cash_count(counts: Mapping[int, int]) -> tuple[DenominationCount, ...]:
    """Every sterling denomination (£50 … 1p) with its count from ``{pence: count}`` (missing = 0)."""
    unknown = sorted(set(counts) - set(UK_DENOMINATIONS))
    if unknown:
        raise ValidationFailed("The cash count has denominations that do not exist", [f"{u}p" for u in unknown])
    return tuple(DenominationCount(Money(d), counts.get(d, 0)) for d in UK_DENOMINATIONS)


@dataclass(frozen=True, slots=True)
class OpenDispute:
    provider: str
    ref: str
    payment_ref: str
    amount: Money
    reason: str
    evidence_due: date


@dataclass(frozen=True, slots=True)
class SettlementEta:
    """Money a provider still owes the clinic and when it should land."""

    provider: str
    amount: Money
    expected_on: date


@dataclass(frozen=True, slots=True)
class ShiftTotals:
    count: int
    gross: Money
    fee: Money
    net: Money


def payment_totals(payments: Iterable[PaymentRow], currency: str = "GBP") -> ShiftTotals:
    """Count and gross/fee/net sums of ``payments`` (plain Python over Money)."""
    count, gross, fee, net = 0, Money.zero(currency), Money.zero(currency), Money.zero(currency)
    for p in payments:
        count += 1
        gross, fee, net = gross + p.gross, fee + p.fee, net + p.net
    return ShiftTotals(count, gross, fee, net)


def takings_by_provider(payments: Iterable[PaymentRow], currency: str = "GBP") -> tuple[TakingsLine, ...]:
    """Takings grouped by (provider, method), sorted by name."""
    groups: dict[tuple[str, str], tuple[int, Money, Money]] = {}
    zero = Money.zero(currency)
    for p in payments:
        count, gross, fee = groups.get((p.provider, p.method), (0, zero, zero))
        groups[(p.provider, p.method)] = (count + 1, gross + p.gross, fee + p.fee)
    return tuple(TakingsLine(prov, meth, c, g, f) for (prov, meth), (c, g, f) in sorted(groups.items()))


@dataclass(frozen=True, slots=True)
class ShiftReport:
    """Everything printed on a shift close-out (or interim, while open) report."""

    shift_ref: str
    clinic: ClinicDetails
    desk: str
    terminal: str
    staff: tuple[str, ...]
    state: ShiftState
    period_start: datetime
    period_end: datetime | None  # None while the shift is open
    display_timezone: str  # e.g. "Europe/London"
    takings: tuple[TakingsLine, ...]
    payouts: tuple[PayoutCheck, ...]
    cash: CashCount | None
    payments: tuple[PaymentRow, ...]
    disputes: tuple[OpenDispute, ...]
    settlements: tuple[SettlementEta, ...]
    closed_by: str | None
    checked_by: str | None
    generated_at: datetime
    provider_data_as_of: datetime | None = None  # when card-provider figures were last fetched
    stale_after: timedelta = timedelta(minutes=15)
    currency: str = "GBP"

    def __post_init__(self) -> None:
        problems: list[str] = []
        stamps = {
            "period start": self.period_start,
            "period end": self.period_end,
            "generated at": self.generated_at,
            "provider data as of": self.provider_data_as_of,
        }
        for label, value in stamps.items():
            if value is not None and value.utcoffset() is None:
                problems.append(f"{label} has no time zone")
        naive = sum(1 for p in self.payments if p.taken_at.utcoffset() is None)
        if naive:
            problems.append(f"{naive} payment time(s) have no time zone")
        if not problems and self.period_end is not None and self.period_end < self.period_start:
            problems.append("the shift ends before it starts")
        if self.state is ShiftState.CLOSED and self.period_end is None:
            problems.append("a closed shift needs an end time")
        try:
            zone(self.display_timezone)
        except ValueError as exc:
            problems.append(str(exc))
        problems += self._currency_problems()
        if problems:
            raise ValidationFailed(f"Shift report {self.shift_ref} cannot be printed", problems)

    def _currency_problems(self) -> list[str]:
        amounts: list[Money] = [a for t in self.takings for a in (t.gross, t.fee)]
        amounts += [a for p in self.payouts for a in (p.expected, p.received) if a is not None]
        amounts += [d.amount for d in self.disputes] + [s.amount for s in self.settlements]
        if self.cash is not None:
            amounts += [self.cash.opening_float, self.cash.expected_cash]
            amounts += [c.denomination for c in self.cash.counted]
        wrong = sum(1 for a in amounts if a.currency != self.currency)
        wrong += sum(1 for p in self.payments if {p.gross.currency, p.fee.currency, p.net.currency} != {self.currency})
        return [f"{wrong} amount(s) are not in {self.currency}"] if wrong else []

    @property
    def tz(self) -> ZoneInfo:
        return zone(self.display_timezone)

    @property
    def totals(self) -> ShiftTotals:
        """Totals of the takings table (what the summary boxes show)."""
        zero = Money.zero(self.currency)
        gross, fee = zero, zero
        for line in self.takings:
            gross, fee = gross + line.gross, fee + line.fee
        return ShiftTotals(sum(t.count for t in self.takings), gross, fee, gross - fee)

    @property
    def deposits_difference(self) -> Money:
        """Sum of differences on payouts that have arrived (negative = short)."""
        result = Money.zero(self.currency)
        for p in self.payouts:
            if p.difference is not None:
                result = result + p.difference
        return result

    @property
    def provider_data_is_stale(self) -> bool:
        return self.provider_data_as_of is not None and self.generated_at - self.provider_data_as_of > self.stale_after
