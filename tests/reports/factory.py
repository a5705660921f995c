"""A realistic shift for report tests and the benchmark (deterministic: seeded random)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

from app.money import Money
from app.reports.pdf_common import ClinicDetails
from app.reports.shift_report import (
    CashCount,
    OpenDispute,
    PaymentRow,
    PayoutCheck,
    SettlementEta,
    ShiftReport,
    ShiftState,
    payment_totals,
    takings_by_provider,
    uk_cash_count,
)

CLINIC = ClinicDetails(
    name="Northside Physio & Sports Clinic",
    address_lines=("14 Canal Street", "Manchester M1 3HE"),
    phone="0161 555 0142",
    email="accounts@northside-physio.example",
    registration="Company no. 09876543 · VAT GB 123 4567 89",
)
START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
END = datetime(2026, 11, 23, 18, 30, tzinfo=UTC)
PRACTITIONERS = (
    "Dr Amara Okafor",
    "Sam Lindqvist",
    "Priya Raman",
    "Tom Hughes",
    "Dr Eleanor Fitzgerald-Brown",
)
PROVIDERS = (
    ("Stripe", "Card present", "pi_", "tmr_FDOt2wlRZEdpd7"),
    ("Stripe", "Card online", "pi_", "web"),
    ("Square", "Card present", "sq_", "SQ-DESK-1"),
    ("Cash", "Cash", "CASH-", "DESK-1"),
)
FEE_RATE = {"Stripe": 0.015, "Square": 0.0175, "Cash": 0.0}


def make_payments(n: int, seed: int = 7) -> tuple[PaymentRow, ...]:
    rng = random.Random(seed)
    span = int((END - START).total_seconds())
    rows = []
    for i in range(n):
        provider, method, prefix, terminal = rng.choices(PROVIDERS, weights=(45, 25, 20, 10))[0]
        gross = Money(rng.choice((4500, 5500, 6000, 7500, 8000, 9500, 12000)) + rng.randrange(0, 5) * 250)
        fee = Money(
            (gross.minor * round(FEE_RATE[provider] * 10_000) + 5000) // 10_000 + (20 if fee_fixed(provider) else 0)
        )
        taken = START + timedelta(seconds=span * i // max(n, 1))
        tail = "".join(rng.choices("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789", k=16))
        ref = f"{prefix}3Q{i:06d}{tail}" if prefix != "CASH-" else f"CASH-{i:06d}"
        rows.append(
            PaymentRow(taken, provider, method, ref, terminal, rng.choice(PRACTITIONERS), gross, fee, gross - fee)
        )
    return tuple(rows)


def fee_fixed(provider: str) -> bool:
    return provider == "Stripe"


def make_shift(n_payments: int = 300, *, stale: bool = False, state: ShiftState = ShiftState.CLOSED) -> ShiftReport:
    payments = make_payments(n_payments)
    cash_taken = payment_totals([p for p in payments if p.provider == "Cash"]).gross
    float_ = Money.of("150.00")
    expected = float_ + cash_taken
    # A drawer counted £2.50 short: a realistic mix of notes, the rest in coins.
    counts = {5000: 12, 2000: 31, 1000: 18, 500: 9, 200: 14, 100: 11, 50: 7, 20: 13, 10: 8, 5: 6, 2: 9, 1: 12}
    remaining = expected.minor - 250 - sum(p * c for p, c in counts.items())
    counts[2000] += remaining // 2000
    remaining %= 2000
    for pence in (1000, 500, 200, 100, 50, 20, 10, 5, 2, 1):
        extra, remaining = divmod(remaining, pence)
        counts[pence] += extra
    generated = END + timedelta(minutes=12)
    return ShiftReport(
        shift_ref="SH-2026-11-23-A",
        clinic=CLINIC,
        desk="Front desk 1",
        terminal="Stripe Reader S700 (tmr_FDOt2wlRZEdpd7)",
        staff=("Jo Bailey", "Marcus Webb"),
        state=state,
        period_start=START,
        period_end=END if state is ShiftState.CLOSED else None,
        display_timezone="Europe/London",
        takings=takings_by_provider(payments),
        payouts=(
            PayoutCheck("Stripe", "po_1QxYz8Lkd92Ma", Money.of("2415.60"), Money.of("2415.60")),
            PayoutCheck("Square", "SQP-7781-22", Money.of("1180.25"), Money.of("1167.75")),
            PayoutCheck("Stripe", "po_1QxZa1Lkd00Qb", Money.of("965.10"), None),
        ),
        cash=CashCount(float_, expected, uk_cash_count(counts), "Change given twice to one patient (£2.50)."),
        payments=payments,
        disputes=(
            OpenDispute(
                "Stripe",
                "dp_1Qa8mKd2",
                "pi_3Q000017ab",
                Money.of("85.00"),
                "Product not received",
                date(2026, 11, 25),
            ),
            OpenDispute(
                "Square",
                "SQD-55120",
                "sq_3Q000204cd",
                Money.of("60.00"),
                "Duplicate charge",
                date(2026, 12, 4),
            ),
        ),
        settlements=(
            SettlementEta("Stripe", Money.of("965.10"), date(2026, 11, 25)),
            SettlementEta("Square", Money.of("1402.50"), date(2026, 11, 24)),
        ),
        closed_by="Jo Bailey",
        checked_by="Helen Carter (Practice manager)",
        generated_at=generated,
        provider_data_as_of=END - timedelta(hours=1, minutes=3) if stale else generated - timedelta(minutes=2),
    )
