"""Journal entries: balance is enforced, posting is idempotent, builders book the right accounts."""

from __future__ import annotations

import re
from datetime import date

import pytest

from app.errors import DomainError
from app.ledger.cash_application import apply_remittance
from app.ledger.chart import AccountMap
from app.ledger.journal_builders import (
    PayoutChannel,
    PayoutRecord,
    RefundRecord,
    ShiftAllocation,
    ShiftClose,
    ShiftFee,
    ShiftTakings,
    TakingsUse,
    TenderMethod,
    journal_for_application,
    journal_for_payout,
    journal_for_refund,
    journal_for_shift,
    journals_for_approved_adjustments,
)
from app.ledger.journals import JournalEntry, JournalLine, make_entry_id, post
from app.ledger.remittance import ProviderAdjustment
from app.money import Money
from tests.ledger.factories import LIMIT, adj, claim, gbp, line, remittance, rules

ZERO = Money.zero()
DAY = date(2026, 11, 2)


def _lines(entry: JournalEntry) -> list[tuple[str, str, str]]:
    return [(ln.account, str(ln.debit.amount), str(ln.credit.amount)) for ln in entry.lines]


def _entry(entry_id: str, *lines: JournalLine) -> JournalEntry:
    return JournalEntry(entry_id, DAY, "test", "test", "1", lines)


def test_unbalanced_entry_is_refused() -> None:
    with pytest.raises(DomainError, match=re.escape("does not balance: debits £10.00, credits £9.99")):
        _entry("E1", JournalLine("1200", gbp("10.00"), ZERO), JournalLine("4000", ZERO, gbp("9.99")))


def test_mixed_currencies_are_refused() -> None:
    eur = Money.zero("EUR")
    with pytest.raises(DomainError, match="mixes currencies: EUR, GBP"):
        _entry("E1", JournalLine("1200", gbp("10.00"), ZERO), JournalLine("4000", eur, Money(1000, "EUR")))
    with pytest.raises(DomainError, match="mixes GBP and EUR"):
        JournalLine("1200", gbp("1.00"), eur)


def test_line_needs_exactly_one_positive_side() -> None:
    with pytest.raises(DomainError, match="either a debit or a credit"):
        JournalLine("1200", gbp("1.00"), gbp("1.00"))
    with pytest.raises(DomainError, match="negative"):
        JournalLine("1200", gbp("-1.00"), ZERO)
    with pytest.raises(DomainError, match="at least two lines"):
        _entry("E1", JournalLine("1200", gbp("1.00"), ZERO))


def test_entry_id_is_deterministic_and_fits_qbo() -> None:
    first = make_entry_id("payout", "po_1", "payout")
    assert first == make_entry_id("payout", "po_1", "payout")
    assert first != make_entry_id("payout", "po_1", "fees")
    assert len(first) <= 21 and first.startswith("JE-")


def test_post_is_idempotent() -> None:
    payout = PayoutRecord(
        "po_1",
        "stripe",
        PayoutChannel.CARD_PROCESSOR,
        DAY,
        gbp("100"),
        ZERO,
        gbp("1.50"),
        gbp("0.30"),
        gbp("98.20"),
    )
    entry = journal_for_payout(payout, AccountMap())
    again = journal_for_payout(payout, AccountMap())
    first_run = post([entry, again], already_posted_ids=[])
    assert first_run == (entry,)
    assert post([again], already_posted_ids=[e.entry_id for e in first_run]) == ()


def test_post_refuses_two_different_entries_with_one_id() -> None:
    a = _entry("E1", JournalLine("1200", gbp("1.00"), ZERO), JournalLine("4000", ZERO, gbp("1.00")))
    b = _entry("E1", JournalLine("1200", gbp("2.00"), ZERO), JournalLine("4000", ZERO, gbp("2.00")))
    with pytest.raises(DomainError, match="share the id E1"):
        post([a, b], [])


def test_application_journal_books_cash_write_offs_patient_balance_and_interest() -> None:
    line_ = line(paid="60.00", pr="20.00", adjustments=(adj("CO", "45", "20.00"), adj("PR", "3", "20.00")))
    plb = (ProviderAdjustment("L6", "INT", gbp("-1.00")),)
    result = apply_remittance(remittance(line_, plb=plb), [claim()], rules(), LIMIT)
    entry = journal_for_application(result, AccountMap())
    assert entry is not None
    assert entry.entry_id == make_entry_id("remittance", "R1", "cash-application")
    assert _lines(entry) == [
        ("1200", "61.00", "0.00"),
        ("1100", "0.00", "60.00"),
        ("4100", "20.00", "0.00"),
        ("1100", "0.00", "20.00"),
        ("1110", "20.00", "0.00"),
        ("1100", "0.00", "20.00"),
        ("4900", "0.00", "1.00"),
    ]
    assert entry.lines[4].party == "P1" and entry.lines[5].party == "AXA"


def test_held_write_off_is_booked_only_once_approved() -> None:
    line_ = line(paid="30.00", adjustments=(adj("CO", "45", "70.00"),))
    result = apply_remittance(remittance(line_), [claim(expected="30.00")], rules(), LIMIT)
    entry = journal_for_application(result, AccountMap())
    assert entry is not None and _lines(entry) == [("1200", "30.00", "0.00"), ("1100", "0.00", "30.00")]
    (held,) = result.awaiting_approval
    assert journals_for_approved_adjustments(result, [], AccountMap()) == ()
    (approved,) = journals_for_approved_adjustments(result, [held.posting_id, "other:1"], AccountMap())
    assert _lines(approved) == [("4100", "70.00", "0.00"), ("1100", "0.00", "70.00")]
    assert approved.entry_id == make_entry_id("remittance", "R1", f"approved:{held.posting_id}")


def test_unmatched_and_reversal_journal() -> None:
    lines = (line(None, patient="P9", paid="10.00"), line(status="22", paid="-25.00"))
    result = apply_remittance(remittance(*lines), [claim(already_paid="25.00")], rules(), LIMIT)
    entry = journal_for_application(result, AccountMap())
    assert entry is not None
    assert _lines(entry) == [("1200", "0.00", "15.00"), ("2100", "0.00", "10.00"), ("1100", "25.00", "0.00")]


def test_payout_journal() -> None:
    payout = PayoutRecord(
        "tw_9",
        "treatwell",
        PayoutChannel.MARKETPLACE,
        DAY,
        gbp("200.00"),
        gbp("30.00"),
        gbp("4.00"),
        gbp("6.80"),
        gbp("159.20"),
    )
    accounts = AccountMap.from_json('{"marketplace_clearing": {"Treatwell": "1220"}}')
    entry = journal_for_payout(payout, accounts)
    assert _lines(entry) == [
        ("1200", "159.20", "0.00"),
        ("7610", "30.00", "0.00"),
        ("7600", "4.00", "0.00"),
        ("1300", "6.80", "0.00"),
        ("1220", "0.00", "200.00"),
    ]


def test_payout_whose_parts_do_not_add_up_is_refused() -> None:
    payout = PayoutRecord(
        "po_2", "stripe", PayoutChannel.CARD_PROCESSOR, DAY, gbp("100"), ZERO, gbp("1.50"), ZERO, gbp("98.00")
    )
    with pytest.raises(DomainError, match=re.escape("is not the net £98.00")):
        journal_for_payout(payout, AccountMap())


def test_shift_journal_with_fees_and_cash_short() -> None:
    shift = ShiftClose(
        "S1",
        DAY,
        (
            ShiftTakings(TenderMethod.CARD, "sumup", gbp("120.00")),
            ShiftTakings(TenderMethod.CASH, "", gbp("40.00")),
        ),
        (
            ShiftAllocation(TakingsUse.TREATMENTS, gbp("130.00")),
            ShiftAllocation(TakingsUse.PRODUCTS, gbp("10.00")),
            ShiftAllocation(TakingsUse.PATIENT_BALANCES, gbp("20.00")),
        ),
        fees=(ShiftFee("sumup", gbp("2.00"), gbp("0.40")),),
        cash_counted=gbp("39.50"),
    )
    entry = journal_for_shift(shift, AccountMap())
    assert entry is not None
    assert _lines(entry) == [
        ("1211", "120.00", "0.00"),
        ("1230", "40.00", "0.00"),
        ("4000", "0.00", "130.00"),
        ("4010", "0.00", "10.00"),
        ("1110", "0.00", "20.00"),
        ("7600", "2.00", "0.00"),
        ("1300", "0.40", "0.00"),
        ("1211", "0.00", "2.40"),
        ("1230", "0.00", "0.50"),
        ("9999", "0.50", "0.00"),
    ]


def test_shift_allocations_must_match_takings() -> None:
    shift = ShiftClose(
        "S2",
        DAY,
        (ShiftTakings(TenderMethod.CASH, "", gbp("40.00")),),
        (ShiftAllocation(TakingsUse.TREATMENTS, gbp("30.00")),),
    )
    with pytest.raises(DomainError, match=re.escape("takings £40.00 but £30.00 allocated")):
        journal_for_shift(shift, AccountMap())


def test_refund_journal() -> None:
    refund = RefundRecord(
        "rf_1", DAY, gbp("45.00"), TenderMethod.CARD, "stripe", "P1", "Ann Smith", "cancelled session"
    )
    entry = journal_for_refund(refund, AccountMap())
    assert _lines(entry) == [("4200", "45.00", "0.00"), ("1210", "0.00", "45.00")]
    assert (entry.source_kind, entry.source_id) == ("refund", "rf_1")
    with pytest.raises(DomainError, match="must be for more than"):
        journal_for_refund(RefundRecord("rf_2", DAY, ZERO, TenderMethod.CASH, "", "P1", "Ann", "x"), AccountMap())
