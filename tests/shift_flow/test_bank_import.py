"""Bank statement import for settlement: saved CSV mapping or OFX, all-or-nothing, duplicates recognised."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from app.audit import Actor
from app.context import AppContext
from app.db.models import BankLine, Clinic, ImportedFile
from app.domain.status import Role
from app.errors import DuplicateImport, ValidationFailed
from app.imports.csv_mapping import ColumnMapping
from app.settings import set_setting
from app.shifts.bank import import_bank_file

MANAGER = Actor(None, "manager", Role.MANAGER)
HEADER = "Date,Description,Reference,Amount\n"


@pytest.fixture
def bank_ctx(ctx: AppContext) -> AppContext:
    mapping = ColumnMapping(
        "clinic bank",
        {"posted_on": "Date", "amount": "Amount", "description": "Description", "reference": "Reference"},
        date_formats=("%d/%m/%Y",),
    )
    with ctx.db.unit_of_work() as s:
        set_setting(s, ctx.clock, MANAGER, "csv_mappings.bank", {"current account": mapping.to_dict()})
    return ctx


def _lines(ctx: AppContext) -> int:
    with ctx.db.read() as s:
        return int(s.scalar(select(func.count()).select_from(BankLine)) or 0)


def test_bad_amounts_are_named_by_row_and_column_and_nothing_is_imported(bank_ctx: AppContext) -> None:
    data = (HEADER + "20/11/2026,STRIPE,PO1,100.79\n21/11/2026,SQUARE,PO2,12.5.0\n22/11/2026,SQUARE,PO3,abc\n").encode()
    with pytest.raises(ValidationFailed) as err:
        import_bank_file(bank_ctx, MANAGER, "november.csv", data)
    message = str(err.value)
    assert "november.csv was not imported; nothing was changed" in message
    assert "row 3, column 'Amount'" in message and "row 4, column 'Amount'" in message
    assert _lines(bank_ctx) == 0
    with bank_ctx.db.read() as s:
        kept = s.scalar(select(ImportedFile))
    assert kept is not None and kept.status == "quarantined" and "row 3" in kept.message


def test_wrong_columns_are_named_and_nothing_is_imported(bank_ctx: AppContext) -> None:
    data = b"Booked,Details,Value\n20/11/2026,STRIPE,100.79\n"
    with pytest.raises(ValidationFailed) as err:
        import_bank_file(bank_ctx, MANAGER, "export.csv", data)
    assert "column 'Date' (for 'posted_on') is not in the file; the file has: Booked, Details, Value" in str(err.value)
    assert "column 'Amount'" in str(err.value)
    assert _lines(bank_ctx) == 0


def test_the_same_statement_twice_changes_nothing(bank_ctx: AppContext) -> None:
    data = (HEADER + "20/11/2026,STRIPE PAYMENTS,PO1,100.79\n20/11/2026,CARD FEES,,-3.20\n").encode()
    first = import_bank_file(bank_ctx, MANAGER, "week47.csv", data)
    assert (first.lines, first.new_lines) == (2, 2)
    with bank_ctx.db.read() as s:
        before = [
            (b.booked_on, b.amount_minor, b.description) for b in s.scalars(select(BankLine).order_by(BankLine.id))
        ]
    assert before == [(date(2026, 11, 20), 10079, "STRIPE PAYMENTS"), (date(2026, 11, 20), -320, "CARD FEES")]
    with pytest.raises(DuplicateImport, match=r"already imported on .* \(as week47.csv\); nothing changed"):
        import_bank_file(bank_ctx, MANAGER, "week47-again.csv", data)
    assert _lines(bank_ctx) == 2


def test_an_ofx_statement_is_imported_without_a_mapping(ctx: AppContext) -> None:
    ofx = b"""OFXHEADER:100
DATA:OFXSGML
VERSION:102
SECURITY:NONE
ENCODING:USASCII
CHARSET:1252
COMPRESSION:NONE
OLDFILEUID:NONE
NEWFILEUID:NONE

<OFX><SIGNONMSGSRSV1><SONRS><STATUS><CODE>0<SEVERITY>INFO</STATUS><DTSERVER>20261123<LANGUAGE>ENG</SONRS>
</SIGNONMSGSRSV1><BANKMSGSRSV1><STMTTRNRS><TRNUID>1<STATUS><CODE>0<SEVERITY>INFO</STATUS><STMTRS>
<CURDEF>GBP<BANKACCTFROM><BANKID>402030<ACCTID>12345678<ACCTTYPE>CHECKING</BANKACCTFROM>
<BANKTRANLIST><DTSTART>20261120<DTEND>20261123>
<STMTTRN><TRNTYPE>CREDIT<DTPOSTED>20261121<TRNAMT>100.79<FITID>TX-1<NAME>STRIPE PAYMENTS<MEMO>PO1</STMTTRN>
<STMTTRN><TRNTYPE>CREDIT<DTPOSTED>20261122<TRNAMT>257.63<FITID>TX-2<NAME>SQUARE<MEMO>PAYOUT</STMTTRN>
</BANKTRANLIST><LEDGERBAL><BALAMT>358.42<DTASOF>20261123</LEDGERBAL></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>
"""
    result = import_bank_file(ctx, MANAGER, "statement.ofx", ofx)
    assert (result.lines, result.new_lines) == (2, 2)
    with ctx.db.read() as s:
        amounts = sorted(s.scalars(select(BankLine.amount_minor)))
    assert amounts == [10079, 25763]


def test_demo_seed_gives_a_schedule_and_a_bank_mapping(ctx: AppContext) -> None:
    from app.shifts.demo import seed_demo
    from app.shifts.schedule import clinic_slots

    with ctx.db.unit_of_work() as s:
        s.add_all([Clinic(name="North"), Clinic(name="South")])
        s.flush()
        seed_demo(s, ctx.clock)
    with ctx.db.read() as s:
        desks = [(slot.desk, slot.start.hour) for slot in clinic_slots(s, 2)]
    assert desks == [("Front desk B", 8), ("Front desk B", 14)]
    data = b"Date,Description,Reference,Amount\n21/11/2026,STRIPE PAYMENTS,PO1,100.79\n"
    assert import_bank_file(ctx, MANAGER, "demo.csv", data).new_lines == 1
