"""Property: any remittance, however odd, applies without losing a penny and journals balance."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.ledger.accounting_exports import ExternalAccountMap, journals_csv, xero_manual_journals_csv
from app.ledger.cash_application import apply_remittance, cash_application_csv
from app.ledger.chart import AccountMap, AccountRole
from app.ledger.journal_builders import journal_for_application, journals_for_approved_adjustments
from app.ledger.postings import LineApplication, UnmatchedLine
from app.ledger.remittance import (
    Adjustment,
    AdjustmentGroup,
    OpenClaim,
    ProviderAdjustment,
    Remittance,
    RemittanceLine,
    ToleranceRule,
)
from app.money import Money, total
from tests.ledger.factories import PAID_ON

DAY0 = date(2026, 10, 1)
pence = st.integers(min_value=-20_000, max_value=20_000).map(Money)
positive = st.integers(min_value=0, max_value=20_000).map(Money)
patients = st.sampled_from(["P1", "P2", "P3"])
days = st.integers(min_value=0, max_value=2).map(lambda n: DAY0 + timedelta(days=n))


@st.composite
def open_claims(draw: st.DrawFn) -> list[OpenClaim]:
    count = draw(st.integers(min_value=0, max_value=5))
    claims = []
    for n in range(count):
        charged = draw(positive)
        paid = draw(positive)
        claims.append(
            OpenClaim(
                f"C{n}",
                draw(patients),
                draw(st.sampled_from(["AXA", "BUPA"])),
                draw(days),
                charged,
                draw(positive),
                paid,
                draw(pence),
                draw(st.sampled_from([None, f"X{n}", "X0"])),
            )
        )
    return claims


@st.composite
def remittance_lines(draw: st.DrawFn) -> RemittanceLine:
    status = draw(st.sampled_from(["1", "2", "3", "4", "19", "22"]))
    paid = draw(pence)
    if status == "22":
        paid = -abs(paid)
    adjustments = tuple(
        Adjustment(
            draw(st.sampled_from(list(AdjustmentGroup))),
            draw(st.sampled_from(["45", "3", "23"])),
            draw(pence),
        )
        for _ in range(draw(st.integers(min_value=0, max_value=3)))
    )
    return RemittanceLine(
        draw(st.sampled_from([None, "C0", "C1", "C2", "ZZ"])),
        draw(st.sampled_from([None, "X0", "X1", "X9"])),
        draw(st.sampled_from([None, "P1", "P2", "P9"])),
        draw(st.sampled_from([None, DAY0, DAY0 + timedelta(days=1)])),
        status,
        draw(positive),
        paid,
        draw(positive),
        adjustments,
    )


plbs = st.lists(
    st.builds(ProviderAdjustment, st.sampled_from(["L6", "WO", "FB", "72"]), st.just("ref"), pence),
    max_size=2,
)


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    claims=open_claims(),
    lines=st.lists(remittance_lines(), min_size=1, max_size=8),
    plb=plbs,
    absolute=positive,
    limit=positive,
)
def test_random_remittances_always_balance(
    claims: list[OpenClaim],
    lines: list[RemittanceLine],
    plb: list[ProviderAdjustment],
    absolute: Money,
    limit: Money,
) -> None:
    remittance = Remittance("R", "AXA", PAID_ON, tuple(lines), tuple(plb))
    rules = {"*": ToleranceRule("*", absolute)}
    result = apply_remittance(remittance, claims, rules, limit)

    assert len(result.applications) + len(result.unmatched) == len(lines)
    groups: list[LineApplication | UnmatchedLine] = [*result.applications, *result.unmatched]
    for group in groups:
        assert total([p.amount for p in group.postings if p.is_cash]) == group.line.paid
    expected_cash = total([ln.paid for ln in lines]) - total([p.amount for p in plb])
    assert result.total_cash == expected_cash
    assert all(p.needs_approval == (abs(p.amount) > limit) for p in result.postings if p.kind.name.endswith("OFF"))

    accounts = AccountMap()
    entries = []
    entry = journal_for_application(result, accounts)
    if entry is not None:
        entries.append(entry)
        assert entry.total_debits == entry.total_credits
        bank = accounts.code(AccountRole.BANK)
        assert total([ln.signed for ln in entry.lines if ln.account == bank]) == expected_cash
    held = [p.posting_id for p in result.postings if p.held]
    approved = journals_for_approved_adjustments(result, held, accounts)
    assert len(approved) == len(held)
    entries += approved
    assert all(e.total_debits == e.total_credits for e in entries)
    journals_csv(entries)
    xero_manual_journals_csv(entries, ExternalAccountMap())
    cash_application_csv(result)
