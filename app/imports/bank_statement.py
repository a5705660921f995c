"""Bank statement lines from a bank's CSV export (through a saved mapping) or from OFX.

Every line gets a ``fingerprint`` so a statement imported twice, or two statements that overlap,
are recognised: the bank's own transaction id (FITID) when there is one, otherwise the date,
amount, description and reference plus how many identical lines came before it in the file.
The whole file also gets a SHA-256.
"""

from __future__ import annotations

import hashlib
import io
import re
import warnings
from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import ofxparse
from bs4 import XMLParsedAsHTMLWarning

from app.errors import ParseError
from app.imports.csv_mapping import ColumnMapping, FieldKind, FieldSpec, ImportSchema, read_mapped_csv
from app.imports.values import parse_decimal_amount
from app.money import Money

BANK_STATEMENT_SCHEMA = ImportSchema(
    name="bank statement",
    fields=(
        FieldSpec("posted_on", FieldKind.DATE, aliases=("date", "transaction date", "posting date", "value date")),
        FieldSpec("amount", FieldKind.MONEY, aliases=("amount", "value", "paid in/out")),
        FieldSpec("description", FieldKind.TEXT, aliases=("details", "narrative", "payee", "memo")),
        FieldSpec("reference", FieldKind.TEXT, required=False, aliases=("ref", "payment reference")),
        FieldSpec("bank_txn_id", FieldKind.TEXT, required=False, aliases=("transaction id", "fitid", "id")),
        FieldSpec("currency", FieldKind.TEXT, required=False, aliases=("ccy",)),
    ),
    currency_field="currency",
)


@dataclass(frozen=True, slots=True)
class StatementLine:
    posted_on: date
    amount: Money  # positive = money into the clinic's account
    description: str
    reference: str
    bank_txn_id: str | None
    fingerprint: str


@dataclass(frozen=True, slots=True)
class BankStatement:
    filename: str
    file_sha256: str
    account: str | None
    lines: tuple[StatementLine, ...]


def file_sha256(data: bytes) -> str:
    """Hex SHA-256 of the file's exact bytes: the same file imported twice has the same hash."""
    return hashlib.sha256(data).hexdigest()


def new_lines(statement: BankStatement, known_fingerprints: Collection[str]) -> list[StatementLine]:
    """The lines of ``statement`` not imported before (by fingerprint)."""
    return [line for line in statement.lines if line.fingerprint not in known_fingerprints]


def read_bank_csv(data: bytes, filename: str, mapping: ColumnMapping, account: str | None = None) -> BankStatement:
    """A bank's CSV export through its saved mapping (signed or debit/credit amounts)."""
    rows = read_mapped_csv(data, filename, mapping, BANK_STATEMENT_SCHEMA)
    return BankStatement(filename, file_sha256(data), account, _with_fingerprints(account, rows))


def read_ofx(data: bytes, filename: str) -> BankStatement:
    """An OFX 1.x (SGML) or 2.x (XML) statement download."""
    try:
        with warnings.catch_warnings():
            # ofxparse calls bs4 APIs that bs4 flags as deprecated / "XML parsed as HTML": harmless noise.
            warnings.filterwarnings("ignore", category=DeprecationWarning, module="ofxparse")
            warnings.filterwarnings("ignore", category=XMLParsedAsHTMLWarning)
            ofx = ofxparse.OfxParser.parse(io.BytesIO(data))
    except Exception as exc:  # ofxparse raises many unrelated types for one bad file
        raise ParseError(filename, "whole file", f"not a readable OFX statement ({exc})") from exc
    account = getattr(ofx, "account", None)
    statement = getattr(account, "statement", None)
    if account is None or statement is None:
        raise ParseError(filename, "whole file", "the OFX file holds no bank statement")
    currency = str(getattr(statement, "currency", "") or "GBP").upper()
    rows: list[dict[str, Any]] = []
    for number, txn in enumerate(statement.transactions, start=1):
        amount = txn.amount
        if not isinstance(amount, Decimal):
            raise ParseError(filename, f"transaction {number}", "amount is missing")
        try:
            minor = parse_decimal_amount(amount, currency)
        except ValueError as exc:
            raise ParseError(filename, f"transaction {number} ({txn.id})", str(exc)) from exc
        rows.append(
            {
                "posted_on": txn.date.date(),
                "amount": Money(minor, currency),
                "description": " ".join(p for p in (txn.payee, txn.memo) if p and p.strip()).strip(),
                "reference": str(txn.checknum or ""),
                "bank_txn_id": str(txn.id) if txn.id else None,
            }
        )
    account_id = str(getattr(account, "account_id", "") or "") or None
    return BankStatement(filename, file_sha256(data), account_id, _with_fingerprints(account_id, rows))


def _with_fingerprints(account: str | None, rows: Iterable[dict[str, Any]]) -> tuple[StatementLine, ...]:
    seen: Counter[str] = Counter()
    lines: list[StatementLine] = []
    for row in rows:
        amount: Money = row["amount"]
        description = str(row.get("description") or "")
        reference = str(row.get("reference") or "")
        txn_id = row.get("bank_txn_id") or None
        if txn_id:
            key = f"id|{account or ''}|{txn_id}"
        else:
            base = "|".join(
                (
                    account or "",
                    row["posted_on"].isoformat(),
                    str(amount.minor),
                    amount.currency,
                    _squash(description),
                    _squash(reference),
                )
            )
            seen[base] += 1
            key = f"line|{base}|{seen[base]}"
        lines.append(
            StatementLine(
                row["posted_on"],
                amount,
                description,
                reference,
                txn_id,
                hashlib.sha256(key.encode()).hexdigest(),
            )
        )
    return tuple(lines)


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().upper()
