"""Small helpers shared by the CSV exports: decimal text for money, one writer."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from app.money import Money


def money_text(amount: Money) -> str:
    """Money as a plain decimal string with the currency's places ("12.50", "-3.00")."""
    return str(amount.amount)


def positive_or_blank(amount: Money) -> str:
    """Decimal string for a non-zero amount, empty for zero (debit/credit columns)."""
    return money_text(amount) if amount.minor else ""


def write_csv(header: Sequence[str], rows: Iterable[Sequence[str]]) -> bytes:
    """UTF-8 CSV bytes with CRLF line ends, as spreadsheet and accounting imports expect."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")
