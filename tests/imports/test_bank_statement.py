"""Bank statements from CSV (saved mapping) and OFX 1.x/2.x; duplicate recognition by fingerprint."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from app.errors import ParseError, ValidationFailed
from app.imports.bank_statement import BANK_STATEMENT_SCHEMA, file_sha256, new_lines, read_bank_csv, read_ofx
from app.imports.csv_mapping import ColumnMapping, SignConvention, suggest_mapping
from app.money import Money

DATA = Path(__file__).parent / "data"
BANK_MAPPING = ColumnMapping(
    source="high-street-bank",
    columns={"posted_on": "Date", "description": "Description", "reference": "Reference"},
    date_formats=("%d/%m/%Y",),
    header_row=1,
    sign=SignConvention.DEBIT_CREDIT,
    debit_column="Money out",
    credit_column="Money in",
)


def test_bank_csv_lines() -> None:
    statement = read_bank_csv((DATA / "bank-export.csv").read_bytes(), "bank-export.csv", BANK_MAPPING, "41234567")
    assert [(line.posted_on, line.amount) for line in statement.lines] == [
        (date(2026, 3, 2), Money(123456)),
        (date(2026, 3, 3), Money(-4500)),
        (date(2026, 3, 3), Money(-450)),
        (date(2026, 3, 3), Money(-450)),
        (date(2026, 3, 4), Money(20608)),
    ]
    assert statement.lines[0].reference == "PO-2026-0009"
    # two identical coffee purchases on one day are two lines, not one duplicate
    assert len({line.fingerprint for line in statement.lines}) == 5


def test_same_csv_imported_twice_is_recognised() -> None:
    data = (DATA / "bank-export.csv").read_bytes()
    first = read_bank_csv(data, "march.csv", BANK_MAPPING, "41234567")
    again = read_bank_csv(data, "march (1).csv", BANK_MAPPING, "41234567")
    assert again.file_sha256 == first.file_sha256 == file_sha256(data)
    assert [line.fingerprint for line in again.lines] == [line.fingerprint for line in first.lines]
    assert new_lines(again, {line.fingerprint for line in first.lines}) == []


def test_overlapping_statement_brings_only_new_lines() -> None:
    data = (DATA / "bank-export.csv").read_bytes()
    first = read_bank_csv(data, "march.csv", BANK_MAPPING, "41234567")
    overlap = data.decode() + "05/03/2026,RENT,MAR-RENT,900.00,,4486.64\n"
    second = read_bank_csv(overlap.encode(), "march-later.csv", BANK_MAPPING, "41234567")
    assert second.file_sha256 != first.file_sha256
    fresh = new_lines(second, {line.fingerprint for line in first.lines})
    assert [(line.description, line.amount) for line in fresh] == [("RENT", Money(-90000))]


@pytest.mark.parametrize(
    ("name", "account", "currency", "ids"),
    [
        ("statement-sgml.ofx", "41234567", "GBP", ["202603020001", "202603030002"]),
        ("statement-xml.ofx", "IE29AIBK93115212345678", "EUR", ["X-7781", "X-7782"]),
    ],
)
def test_ofx_statements(name: str, account: str, currency: str, ids: list[str]) -> None:
    data = (DATA / name).read_bytes()
    statement = read_ofx(data, name)
    assert statement.account == account
    assert [line.bank_txn_id for line in statement.lines] == ids
    assert {line.amount.currency for line in statement.lines} == {currency}
    assert read_ofx(data, name).lines == statement.lines  # same file again -> same fingerprints


def test_ofx_amounts_and_descriptions() -> None:
    statement = read_ofx((DATA / "statement-sgml.ofx").read_bytes(), "s.ofx")
    first, second = statement.lines
    assert (first.posted_on, first.amount, first.description) == (
        date(2026, 3, 2),
        Money(123456),
        "CLASSPASS PAYOUT PO-2026-0009",
    )
    assert second.amount == Money(-4500)


def test_broken_files_are_refused_with_a_reason() -> None:
    with pytest.raises(ParseError, match=r"broken\.ofx"):
        read_ofx(b"this is not OFX", "broken.ofx")
    bad_csv = b"Account\nDate,Description,Reference,Money out,Money in\n31/13/2026,X,,1.00,\n"
    with pytest.raises(ValidationFailed) as caught:
        read_bank_csv(bad_csv, "bad.csv", BANK_MAPPING)
    assert caught.value.problems == ["row 3, column 'Date': '31/13/2026' is not a date (expected DD/MM/YYYY)"]


def test_mapping_dialog_suggestion_for_a_bank_header() -> None:
    header = ["Date", "Description", "Reference", "Amount", "Balance"]
    assert suggest_mapping(header, BANK_STATEMENT_SCHEMA) == {
        "posted_on": "Date",
        "amount": "Amount",
        "description": "Description",
        "reference": "Reference",
    }
