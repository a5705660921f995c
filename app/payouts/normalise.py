"""One payout shape for every marketplace, built from the raw settlement bytes.

``normalise_classpass`` reads the documented ClassPass payout JSON; ``normalise_treatwell``
reads a settlement CSV through a saved column mapping. ``check_payout_total`` flags payouts whose
lines do not add up (a flag for a person, not an exception). ``to_parquet`` writes the normalised
lines with int64 minor-unit columns.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq

from app.errors import ParseError, ValidationFailed
from app.imports.csv_mapping import ColumnMapping, read_mapped_csv
from app.imports.values import parse_decimal_amount
from app.money import Money, total
from app.payouts.formats import PAYOUT_CSV_SCHEMA

PARQUET_NAME = "payouts-normalised.parquet"
_LINE_AMOUNTS = ("gross", "commission", "processing_fee", "vat_on_fees", "net")


@dataclass(frozen=True, slots=True)
class PayoutLine:
    """One booking settled by a marketplace. Deductions are positive; ``net`` reaches the bank."""

    booking_id: str | None
    patient_ref: str | None
    service_date: date
    gross: Money
    commission: Money
    processing_fee: Money
    vat_on_fees: Money
    net: Money
    currency: str


@dataclass(frozen=True, slots=True)
class Payout:
    source: str  # "classpass", "treatwell"
    payout_ref: str
    payout_date: date
    currency: str
    total_net: Money
    lines: tuple[PayoutLine, ...]


def normalise_classpass(raw: bytes, filename: str) -> list[Payout]:
    """A ClassPass payout document (one payout, or ``{"data": [...]}``) -> payouts."""
    try:
        doc = json.loads(raw, parse_float=Decimal)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ParseError(filename, "whole file", f"not a ClassPass payout document ({exc})") from exc
    items = doc.get("data") if isinstance(doc, dict) and "data" in doc else [doc]
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ParseError(filename, "whole file", "expected a payout object or a list of payouts")
    problems: list[str] = []
    payouts = [_classpass_payout(item, n, problems) for n, item in enumerate(items, start=1)]
    if problems:
        raise ValidationFailed(f"{filename} was not imported; nothing was changed", problems)
    return [p for p in payouts if p is not None]


def _classpass_payout(item: dict[str, Any], number: int, problems: list[str]) -> Payout | None:
    ref = str(item.get("id") or f"#{number}")
    where = f"payout {ref}"
    before = len(problems)
    currency = item.get("currency")
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isalpha() or not currency.isupper():
        problems.append(f"{where}, field 'currency': {currency!r} is not a currency code")
        return None
    payout_date = _date(item.get("payout_date"), f"{where}, field 'payout_date'", problems)
    total_net = _money(item.get("total_net"), currency, f"{where}, field 'total_net'", problems)
    if not item.get("id"):
        problems.append(f"{where}, field 'id': value is missing")
    raw_lines = item.get("lines")
    if not isinstance(raw_lines, list):
        problems.append(f"{where}, field 'lines': expected a list of lines")
        raw_lines = []
    lines: list[PayoutLine] = []
    for n, raw_line in enumerate(raw_lines, start=1):
        at = f"{where}, line {n}"
        if not isinstance(raw_line, dict):
            problems.append(f"{at}: expected an object")
            continue
        amounts = {k: _money(raw_line.get(k), currency, f"{at}, field '{k}'", problems) for k in _LINE_AMOUNTS}
        service_date = _date(raw_line.get("service_date"), f"{at}, field 'service_date'", problems)
        if service_date is None or any(a is None for a in amounts.values()):
            continue
        lines.append(
            PayoutLine(
                booking_id=_text(raw_line.get("booking_id")),
                patient_ref=_text(raw_line.get("member_reference")),
                service_date=service_date,
                currency=currency,
                **{k: v for k, v in amounts.items() if v is not None},
            )
        )
    if len(problems) > before or payout_date is None or total_net is None:
        return None
    return Payout("classpass", ref, payout_date, currency, total_net, tuple(lines))


def normalise_treatwell(raw: bytes, filename: str, mapping: ColumnMapping) -> list[Payout]:
    """A Treatwell settlement CSV (one or more statements) read through ``mapping``."""
    rows = read_mapped_csv(raw, filename, mapping, PAYOUT_CSV_SCHEMA)
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(row["payout_ref"], []).append(row)
    problems: list[str] = []
    payouts: list[Payout] = []
    for ref, group in grouped.items():
        first = group[0]
        currency = first["gross"].currency
        for key in ("payout_date", "total_net"):
            if len({row[key] for row in group}) > 1:
                problems.append(f"statement {ref}: rows disagree on '{mapping.columns.get(key, key)}'")
        if len({row["gross"].currency for row in group}) > 1:
            problems.append(f"statement {ref}: rows are in more than one currency")
        lines = tuple(
            PayoutLine(
                booking_id=row["booking_id"] or None,
                patient_ref=row["patient_ref"] or None,
                service_date=row["service_date"],
                gross=row["gross"],
                commission=row["commission"],
                processing_fee=row["processing_fee"],
                vat_on_fees=row["vat_on_fees"],
                net=row["net"],
                currency=row["gross"].currency,
            )
            for row in group
        )
        stated = first["total_net"]
        total_net = stated if stated is not None else total([line.net for line in lines], currency)
        payouts.append(Payout(mapping.source, ref, first["payout_date"], currency, total_net, lines))
    if problems:
        raise ValidationFailed(f"{filename} was not imported; nothing was changed", problems)
    return payouts


def check_payout_total(payout: Payout) -> list[str]:
    """Every way the payout does not add up, as readable sentences (empty when it is consistent)."""
    flags: list[str] = []
    where = f"{payout.source} payout {payout.payout_ref}"
    for n, line in enumerate(payout.lines, start=1):
        amounts = [getattr(line, k) for k in _LINE_AMOUNTS]
        if any(m.currency != payout.currency for m in amounts):
            flags.append(f"{where}, line {n}: amounts are not all in {payout.currency}")
            continue
        expected = line.gross - line.commission - line.processing_fee - line.vat_on_fees
        if expected != line.net:
            flags.append(
                f"{where}, line {n} (booking {line.booking_id}): price less deductions is {expected}, "
                f"but the net shown is {line.net}"
            )
    if flags:
        return flags
    lines_net = total([line.net for line in payout.lines], payout.currency)
    if lines_net != payout.total_net:
        flags.append(
            f"{where}: the lines add up to {lines_net} but the payout total is {payout.total_net} "
            f"(difference {payout.total_net - lines_net})"
        )
    return flags


def payout_lines_frame(payouts: Sequence[Payout]) -> pl.DataFrame:
    """One row per payout line, amounts as int64 minor units; ``line_id`` is ``source:payout_ref:n``."""
    rows = [
        {
            "line_id": f"{p.source}:{p.payout_ref}:{n:06d}",
            "source": p.source,
            "payout_ref": p.payout_ref,
            "payout_date": p.payout_date,
            "payout_total_net_minor": p.total_net.minor,
            "booking_id": line.booking_id,
            "patient_ref": line.patient_ref,
            "service_date": line.service_date,
            "currency": line.currency,
            **{f"{k}_minor": getattr(line, k).minor for k in _LINE_AMOUNTS},
        }
        for p in payouts
        for n, line in enumerate(p.lines, start=1)
    ]
    return pl.DataFrame(rows, schema=LINE_FRAME_SCHEMA)


LINE_FRAME_SCHEMA: dict[str, Any] = {
    "line_id": pl.String,
    "source": pl.String,
    "payout_ref": pl.String,
    "payout_date": pl.Date,
    "payout_total_net_minor": pl.Int64,
    "booking_id": pl.String,
    "patient_ref": pl.String,
    "service_date": pl.Date,
    "currency": pl.String,
    **{f"{k}_minor": pl.Int64 for k in _LINE_AMOUNTS},
}


def to_parquet(payouts: Sequence[Payout], path: Path, clinic_metadata: dict[str, str]) -> Path:
    """Write ``payouts-normalised.parquet`` into folder ``path``; clinic metadata goes in the file footer."""
    table = payout_lines_frame(payouts).to_arrow()
    meta = {
        b"clinic_billing.clinic": json.dumps(clinic_metadata, sort_keys=True).encode(),
        b"clinic_billing.amounts": b"int64 minor units",
    }
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), **meta})
    target = Path(path) / PARQUET_NAME
    pq.write_table(table, target)
    return target


def _money(value: object, currency: str, where: str, problems: list[str]) -> Money | None:
    if value is None or value == "":
        problems.append(f"{where}: value is missing")
        return None
    try:
        return Money(parse_decimal_amount(value, currency), currency)
    except ValueError as exc:
        problems.append(f"{where}: {exc}")
        return None


def _date(value: object, where: str, problems: list[str]) -> date | None:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        problems.append(f"{where}: {value!r} is not a date (expected YYYY-MM-DD)")
        return None


def _text(value: object) -> str | None:
    return str(value).strip() or None if value is not None else None
