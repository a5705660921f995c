"""Exports: each header and a row, exactly."""

from __future__ import annotations

from datetime import date

import pytest

from app.errors import ValidationFailed
from app.ledger.accounting_exports import (
    ExternalAccountMap,
    journals_csv,
    qbo_journal_entries_csv,
    qbo_refund_receipts_csv,
    xero_credit_notes_csv,
    xero_manual_journals_csv,
)
from app.ledger.chart import AccountMap
from app.ledger.journal_builders import RefundRecord, TenderMethod, journal_for_refund
from app.ledger.journals import JournalEntry, JournalLine
from app.money import Money
from tests.ledger.factories import gbp

DAY = date(2026, 11, 2)
REFUND = RefundRecord("rf_1", DAY, gbp("45.00"), TenderMethod.CARD, "stripe", "P1", "Ann Smith", "cancelled session")
MAPPING = ExternalAccountMap(
    codes=(("4200", "260"),), names=(("1210", "Stripe Clearing"),), tracking=(("Clinic", "Leeds"),)
)


def _rows(data: bytes) -> list[str]:
    return data.decode("utf-8").split("\r\n")


def test_our_journal_csv() -> None:
    entry = journal_for_refund(REFUND, AccountMap())
    rows = _rows(journals_csv([entry]))
    assert rows[0] == "entry_id,date,account_code,account_name,debit,credit,memo,source"
    assert rows[1] == f"{entry.entry_id},2026-11-02,4200,Refunds,45.00,0.00,cancelled session,refund:rf_1"
    assert rows[2] == (
        f"{entry.entry_id},2026-11-02,1210,Card clearing - Stripe,0.00,45.00,refund by card stripe,refund:rf_1"
    )


def test_xero_manual_journal_csv() -> None:
    entry = journal_for_refund(REFUND, AccountMap())
    rows = _rows(xero_manual_journals_csv([entry], MAPPING))
    assert rows[0] == (
        "*Narration,*Date,Description,*AccountCode,*TaxRate,*Amount,"
        "TrackingName1,TrackingOption1,TrackingName2,TrackingOption2"
    )
    narration = f"Refund rf_1 to Ann Smith [{entry.entry_id}]"
    assert rows[1] == f"{narration},02/11/2026,cancelled session,260,No VAT,45.00,Clinic,Leeds,,"
    assert rows[2] == f"{narration},02/11/2026,refund by card stripe,1210,No VAT,-45.00,Clinic,Leeds,,"


def test_qbo_journal_csv() -> None:
    entry = journal_for_refund(REFUND, AccountMap())
    rows = _rows(qbo_journal_entries_csv([entry], MAPPING))
    assert rows[0] == "Journal No,Journal Date,Account,Debits,Credits,Description,Name,Currency Code"
    assert rows[1] == f"{entry.entry_id},02/11/2026,Refunds,45.00,,cancelled session,Ann Smith,GBP"
    assert rows[2] == f"{entry.entry_id},02/11/2026,Stripe Clearing,,45.00,refund by card stripe,Ann Smith,GBP"


def test_xero_credit_note_csv() -> None:
    rows = _rows(xero_credit_notes_csv([REFUND], AccountMap(), MAPPING))
    assert rows[0] == (
        "*ContactName,EmailAddress,*CreditNoteNumber,Reference,*CreditNoteDate,*Description,*Quantity,"
        "*UnitAmount,*AccountCode,*TaxType,TrackingName1,TrackingOption1,Currency"
    )
    assert rows[1] == "Ann Smith,,CN-rf_1,rf_1,02/11/2026,cancelled session,1,45.00,260,Exempt Income,Clinic,Leeds,GBP"


def test_qbo_refund_receipt_csv() -> None:
    rows = _rows(qbo_refund_receipts_csv([REFUND], AccountMap(), MAPPING))
    assert rows[0] == (
        "Refund Receipt No,Customer,Refund Receipt Date,Refund From,Payment Method,Memo,Product/Service,"
        "Description,Qty,Rate,Amount,Currency Code"
    )
    assert rows[1] == (
        "rf_1,Ann Smith,02/11/2026,Stripe Clearing,Card,cancelled session,Treatments,cancelled session,1,"
        "45.00,45.00,GBP"
    )


def test_exports_refuse_accounts_missing_from_the_chart() -> None:
    zero = Money.zero()
    entry = JournalEntry(
        "E1",
        DAY,
        "x",
        "test",
        "1",
        (JournalLine("1200", gbp("1"), zero), JournalLine("5555", zero, gbp("1"))),
    )
    with pytest.raises(ValidationFailed) as info:
        journals_csv([entry])
    assert info.value.problems == ["account 5555"]


def test_amounts_are_never_floats() -> None:
    entry = journal_for_refund(
        RefundRecord("rf_3", DAY, Money(10), TenderMethod.CASH, "", "P1", "Bo", "tiny"), AccountMap()
    )
    assert _rows(xero_manual_journals_csv([entry], ExternalAccountMap()))[1].split(",")[5] == "0.10"
