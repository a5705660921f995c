"""Input records for cash application, as the lead maps them from remittance files and claims.

Amounts are :class:`~app.money.Money` in minor units and may be negative (reversals, takebacks).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum

from app.money import Money

REVERSAL_STATUS = "22"
DENIED_STATUS = "4"


class AdjustmentGroup(StrEnum):
    """X12 CAS01 claim adjustment group codes."""

    CONTRACTUAL = "CO"
    PATIENT_RESPONSIBILITY = "PR"
    OTHER = "OA"
    PAYER_INITIATED = "PI"
    CORRECTION = "CR"


@dataclass(frozen=True, slots=True)
class Adjustment:
    """One CAS adjustment: group, reason code (CARC, e.g. "45") and amount."""

    group: AdjustmentGroup
    reason_code: str
    amount: Money


@dataclass(frozen=True, slots=True)
class RemittanceLine:
    """One claim payment line (835 CLP loop, or a row of an XML/CSV remittance).

    ``status_code`` keeps the X12 CLP02 meaning: 1/2/3 processed as primary/secondary/tertiary,
    4 denied, 19/20/21 processed and forwarded, 22 reversal of a previous payment.
    """

    claim_id: str | None
    payer_claim_id: str | None
    patient_ref: str | None
    service_date: date | None
    status_code: str
    charged: Money
    paid: Money
    patient_responsibility: Money
    adjustments: tuple[Adjustment, ...] = ()

    @property
    def is_reversal(self) -> bool:
        return self.status_code == REVERSAL_STATUS

    def merged(self) -> RemittanceLine:
        """This line with one adjustment per CAS group and reason (amounts added, in order of first
        appearance): the CO-45 on each service line of a claim is one contractual write-off of the
        claim, and is checked against the write-off limit as one."""
        merged: dict[tuple[AdjustmentGroup, str], Money] = {}
        for a in self.adjustments:
            key = (a.group, a.reason_code)
            merged[key] = merged[key] + a.amount if key in merged else a.amount
        if len(merged) == len(self.adjustments):
            return self
        return replace(self, adjustments=tuple(Adjustment(g, r, m) for (g, r), m in merged.items()))

    @property
    def is_denial(self) -> bool:
        return self.status_code == DENIED_STATUS or (not self.is_reversal and self.paid.minor == 0)


@dataclass(frozen=True, slots=True)
class ProviderAdjustment:
    """One PLB provider-level adjustment.

    ``reason_code`` is the PLB03-1 code (L6 interest, WO overpayment recovery, FB forward
    balance, 72 authorised return, ...). As in the 835, a positive ``amount`` reduces the money
    paid to the clinic and a negative one increases it.
    """

    reason_code: str
    reference: str
    amount: Money


@dataclass(frozen=True, slots=True)
class Remittance:
    """A whole remittance advice from one payer: the claim lines plus PLB adjustments."""

    remittance_id: str
    payer_id: str
    paid_on: date
    lines: tuple[RemittanceLine, ...]
    provider_adjustments: tuple[ProviderAdjustment, ...] = ()
    currency: str = "GBP"


@dataclass(frozen=True, slots=True)
class OpenClaim:
    """A claim that may receive money: what we billed, expect, and have been paid so far.

    Include recently paid claims too (outstanding zero) so that reversals can find them.
    """

    claim_id: str
    patient_ref: str
    payer_id: str
    service_date: date
    charged: Money
    expected: Money
    already_paid: Money
    outstanding: Money
    payer_claim_id: str | None = None


@dataclass(frozen=True, slots=True)
class ToleranceRule:
    """How far a payment may fall short of the contract and still count as paid.

    A shortfall is within tolerance if it is at most ``absolute`` OR at most ``percent`` % of
    the expected amount (e.g. £1.00 or 0.5 %).
    """

    payer_id: str
    absolute: Money
    percent: Decimal = field(default=Decimal(0))

    def allowance(self, expected: Money) -> Money:
        """The larger of the absolute and the percentage allowance for ``expected``."""
        by_percent = abs(expected).times(self.percent / Decimal(100))
        return max(self.absolute, by_percent, key=lambda m: m.minor)
