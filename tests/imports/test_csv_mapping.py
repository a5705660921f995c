"""The saved-mapping CSV importer: typed values, all-or-nothing errors naming row and column."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from app.errors import ParseError, ValidationFailed
from app.imports.csv_mapping import (
    ColumnMapping,
    FieldKind,
    FieldSpec,
    ImportSchema,
    SignConvention,
    read_mapped_csv,
    suggest_mapping,
)
from app.imports.values import parse_amount
from app.money import Money

SCHEMA = ImportSchema(
    name="test",
    fields=(
        FieldSpec("ref", FieldKind.TEXT, aliases=("reference",)),
        FieldSpec("on", FieldKind.DATE, aliases=("date",)),
        FieldSpec("amount", FieldKind.MONEY, aliases=("value",)),
        FieldSpec("count", FieldKind.INT, required=False, aliases=("qty",)),
        FieldSpec("note", FieldKind.TEXT, required=False),
    ),
)
MAPPING = ColumnMapping(
    source="test",
    columns={"ref": "Reference", "on": "Date", "amount": "Value", "count": "Qty"},
    date_formats=("%d/%m/%Y", "%Y-%m-%d"),
)


@pytest.mark.parametrize(
    ("text", "kwargs", "minor"),
    [
        ("£1,234.56", {}, 123456),
        ("(12.00)", {}, -1200),
        ("-12.00", {}, -1200),
        ("12.00-", {}, -1200),
        ("-£5", {}, -500),
        ("12,50", {"decimal_separator": ",", "thousands_separator": "."}, 1250),
        ("1.234,5", {"decimal_separator": ",", "thousands_separator": "."}, 123450),
        ("1 234,56", {"decimal_separator": ",", "thousands_separator": " "}, 123456),
        ("12.50 GBP", {}, 1250),
    ],
)
def test_amounts_are_read_exactly_to_minor_units(text: str, kwargs: dict[str, str], minor: int) -> None:
    assert parse_amount(text, "GBP", **kwargs) == minor


@pytest.mark.parametrize("text", ["12,50", "1.2.3", "abc", "12.345", "", "£", "1,23,456.00"])
def test_ambiguous_or_bad_amounts_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_amount(text, "GBP")


def test_rows_come_back_typed() -> None:
    data = b'Reference,Date,Value,Qty\nA1,02/03/2026,"\xc2\xa31,234.56",2\nA2,2026-03-04,(7.50),\n'
    rows = read_mapped_csv(data, "in.csv", MAPPING, SCHEMA)
    assert rows == [
        {"ref": "A1", "on": date(2026, 3, 2), "amount": Money(123456, "GBP"), "count": 2, "note": None},
        {"ref": "A2", "on": date(2026, 3, 4), "amount": Money(-750, "GBP"), "count": None, "note": None},
    ]


def test_every_problem_is_reported_at_once_and_nothing_is_imported() -> None:
    data = (
        b"Reference,Date,Value\n"
        b"A1,02/03/2026,10.00\n"
        b"A2,31/02/2026,10.00\n"  # row 3: impossible date
        b"A3,04/03/2026,ten\n"  # row 4: not an amount
        b",05/03/2026,1.00\n"  # row 5: required reference missing
        b"A5,06/03/2026\n"  # row 6: too few values
    )
    mapping = ColumnMapping(source="test", columns={**MAPPING.columns, "count": "Quantity"}, date_formats=("%d/%m/%Y",))
    with pytest.raises(ValidationFailed) as caught:
        read_mapped_csv(data, "in.csv", mapping, SCHEMA)
    problems = caught.value.problems
    assert problems[0].startswith("column 'Quantity' (for 'count') is not in the file")
    assert "row 3, column 'Date': '31/02/2026' is not a date (expected DD/MM/YYYY)" in problems
    assert "row 4, column 'Value': 'ten' is not an amount" in problems
    assert "row 5, column 'Reference': value is missing" in problems
    assert "row 6: has 2 values but the header has 3" in problems
    assert len(problems) == 5
    assert "in.csv was not imported; nothing was changed" in str(caught.value)


def test_unmapped_required_field_is_named() -> None:
    mapping = ColumnMapping(source="test", columns={"ref": "Reference", "on": "Date"})
    with pytest.raises(ValidationFailed) as caught:
        read_mapped_csv(b"Reference,Date\nA,2026-01-01\n", "x.csv", mapping, SCHEMA)
    assert caught.value.problems == ["field 'amount' is required but no column is chosen for it"]


def test_debit_credit_columns_semicolons_decimal_comma_and_preamble() -> None:
    mapping = ColumnMapping(
        source="bank",
        columns={"ref": "Ref", "on": "Booked"},
        delimiter=";",
        decimal_separator=",",
        thousands_separator=".",
        header_row=2,
        date_formats=("%d.%m.%Y",),
        sign=SignConvention.DEBIT_CREDIT,
        debit_column="Debit",
        credit_column="Credit",
        currency="EUR",
    )
    data = (
        "Account;DE001 Zahnärzte\nExported;2026-03-05\nBooked;Ref;Debit;Credit\n"
        "01.03.2026;R1;;1.250,50\n02.03.2026;R2;12,00;\n"
    )
    rows = read_mapped_csv(data.encode("cp1252"), "bank.csv", dataclasses.replace(mapping, encoding="cp1252"), SCHEMA)
    assert [r["amount"] for r in rows] == [Money(125050, "EUR"), Money(-1200, "EUR")]


def test_mapping_survives_json_and_a_broken_one_is_refused() -> None:
    mapping = ColumnMapping(
        source="bank",
        columns={"a": "A"},
        sign=SignConvention.DEBIT_CREDIT,
        debit_column="D",
        credit_column="C",
    )
    assert ColumnMapping.from_json(mapping.to_json()) == mapping
    with pytest.raises(ValidationFailed, match="saved column mapping"):
        ColumnMapping.from_json('{"source": "x", "columns": {}, "sign": "sideways"}')


def test_undecodable_file_and_missing_header_are_parse_errors() -> None:
    with pytest.raises(ParseError, match="cannot be read as utf-8"):
        read_mapped_csv(b"\xff\xfe\xfa", "bad.csv", MAPPING, SCHEMA)
    with pytest.raises(ParseError, match="no header row"):
        read_mapped_csv(b"", "empty.csv", MAPPING, SCHEMA)


def test_suggest_mapping_guesses_from_header_names() -> None:
    header = ["Transaction Date", "Reference No", "Value (GBP)", "Qty", "Other"]
    assert suggest_mapping(header, SCHEMA) == {
        "ref": "Reference No",
        "on": "Transaction Date",
        "amount": "Value (GBP)",
        "count": "Qty",
    }
