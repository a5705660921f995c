"""Small builders for remittance lines and claims in ledger tests."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from app.ledger.remittance import (
    Adjustment,
    AdjustmentGroup,
    OpenClaim,
    ProviderAdjustment,
    Remittance,
    RemittanceLine,
    ToleranceRule,
)
from app.money import Money

DOS = date(2026, 10, 1)
PAID_ON = date(2026, 11, 2)


def gbp(text: str) -> Money:
    return Money.of(text)


def claim(
    claim_id: str = "C1",
    *,
    patient: str = "P1",
    payer: str = "AXA",
    service_date: date = DOS,
    charged: str = "100.00",
    expected: str = "80.00",
    already_paid: str = "0.00",
    outstanding: str | None = None,
    payer_claim_id: str | None = None,
) -> OpenClaim:
    left = outstanding if outstanding is not None else str(Money.of(charged).amount - Decimal(already_paid))
    return OpenClaim(
        claim_id,
        patient,
        payer,
        service_date,
        gbp(charged),
        gbp(expected),
        gbp(already_paid),
        gbp(left),
        payer_claim_id,
    )


def adj(group: str, code: str, amount: str) -> Adjustment:
    return Adjustment(AdjustmentGroup(group), code, gbp(amount))


def line(
    claim_id: str | None = "C1",
    *,
    payer_claim_id: str | None = None,
    patient: str | None = "P1",
    service_date: date | None = DOS,
    status: str = "1",
    charged: str = "100.00",
    paid: str = "80.00",
    pr: str = "0.00",
    adjustments: tuple[Adjustment, ...] = (),
) -> RemittanceLine:
    return RemittanceLine(
        claim_id, payer_claim_id, patient, service_date, status, gbp(charged), gbp(paid), gbp(pr), adjustments
    )


def remittance(
    *lines: RemittanceLine, plb: tuple[ProviderAdjustment, ...] = (), payer: str = "AXA", rid: str = "R1"
) -> Remittance:
    return Remittance(rid, payer, PAID_ON, tuple(lines), plb)


def rules(absolute: str = "0.00", percent: str = "0", payer: str = "AXA") -> dict[str, ToleranceRule]:
    return {payer: ToleranceRule(payer, gbp(absolute), Decimal(percent))}


LIMIT = gbp("50.00")
