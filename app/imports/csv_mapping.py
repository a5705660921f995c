"""A generic CSV importer driven by a saved :class:`ColumnMapping`.

A mapping says, for one source (a bank, a marketplace), how its CSV is written and which column
feeds which field of our schema. When a provider changes its export, a new mapping is saved; no
code changes. Import is all-or-nothing: every problem is collected and reported at once
(``row N, column 'X': reason``) and no row is returned if there is any.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from app.errors import ParseError, ValidationFailed
from app.imports.values import parse_amount, parse_date, parse_int
from app.money import Money


class FieldKind(StrEnum):
    TEXT = "text"
    DATE = "date"
    MONEY = "money"
    INT = "int"


class SignConvention(StrEnum):
    SIGNED = "signed"  # one amount column, negative = money out
    DEBIT_CREDIT = "debit_credit"  # two columns: debit (money out) and credit (money in)


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One typed target field; ``aliases`` are header names that suggest it."""

    name: str
    kind: FieldKind
    required: bool = True
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ImportSchema:
    """The fields an import produces. ``currency_field`` (a text field), when filled, sets Money currency."""

    name: str
    fields: tuple[FieldSpec, ...]
    currency_field: str | None = None

    def field(self, name: str) -> FieldSpec:
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(name)


@dataclass(frozen=True)
class ColumnMapping:
    """How one source writes its CSV, saved as JSON (``to_json``/``from_json``).

    ``columns`` maps target field -> source column header. With ``sign=DEBIT_CREDIT`` the
    ``amount_field`` is built from ``debit_column``/``credit_column`` instead (credit minus debit).
    ``header_row`` is the 0-based line index of the header (lines before it are skipped).
    """

    source: str
    columns: Mapping[str, str]
    delimiter: str = ","
    encoding: str = "utf-8-sig"
    date_formats: tuple[str, ...] = ("%Y-%m-%d",)
    decimal_separator: str = "."
    thousands_separator: str = ","
    header_row: int = 0
    currency: str = "GBP"
    sign: SignConvention = SignConvention.SIGNED
    amount_field: str = "amount"
    debit_column: str | None = None
    credit_column: str | None = None
    version: int = field(default=1)

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", MappingProxyType(dict(self.columns)))
        object.__setattr__(self, "date_formats", tuple(self.date_formats))
        object.__setattr__(self, "sign", SignConvention(self.sign))
        if len(self.delimiter) != 1:
            raise ValueError("the delimiter must be one character")
        if self.decimal_separator == self.thousands_separator:
            raise ValueError("decimal and thousands separators must differ")
        if self.sign is SignConvention.DEBIT_CREDIT and not (self.debit_column and self.credit_column):
            raise ValueError("a debit/credit mapping needs both a debit and a credit column")

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "columns": dict(self.columns),
            "delimiter": self.delimiter,
            "encoding": self.encoding,
            "date_formats": list(self.date_formats),
            "decimal_separator": self.decimal_separator,
            "thousands_separator": self.thousands_separator,
            "header_row": self.header_row,
            "currency": self.currency,
            "sign": self.sign.value,
            "amount_field": self.amount_field,
            "debit_column": self.debit_column,
            "credit_column": self.credit_column,
            "version": self.version,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> ColumnMapping:
        """Load a saved mapping; a broken one raises ValidationFailed naming what is wrong."""
        try:
            data = json.loads(text)
            if not isinstance(data, dict):
                raise TypeError("a saved mapping must be a JSON object")
            data["date_formats"] = tuple(data.get("date_formats", ("%Y-%m-%d",)))
            return cls(**data)
        except (ValueError, TypeError) as exc:
            raise ValidationFailed("The saved column mapping cannot be used", [str(exc)]) from exc


def read_mapped_csv(data: bytes, filename: str, mapping: ColumnMapping, schema: ImportSchema) -> list[dict[str, Any]]:
    """Read every row into typed values (str, date, Money, int; None when optional and empty).

    Raises ParseError when the file cannot be decoded or has no header, and ValidationFailed
    listing every problem (missing columns first, then each bad cell) when anything is wrong.
    """
    try:
        text = data.decode(mapping.encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise ParseError(filename, "whole file", f"cannot be read as {mapping.encoding} text") from exc
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=mapping.delimiter)
    header: list[str] | None = None
    for index, row in enumerate(reader):
        if index == mapping.header_row:
            header = [cell.strip() for cell in row]
            break
    if not header or not any(header):
        raise ParseError(filename, f"row {mapping.header_row + 1}", "no header row found")
    sources = _source_columns(mapping, schema)
    problems = _column_problems(header, sources, schema, mapping)
    positions = {name: i for i, name in reversed(list(enumerate(header)))}
    rows: list[dict[str, Any]] = []
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        line = reader.line_num
        if len(row) != len(header):
            problems.append(f"row {line}: has {len(row)} values but the header has {len(header)}")
            continue
        rows.append(_convert_row(row, line, positions, sources, schema, mapping, problems))
    if problems:
        raise ValidationFailed(f"{filename} was not imported; nothing was changed", problems)
    return rows


def suggest_mapping(header: list[str], schema: ImportSchema) -> dict[str, str]:
    """Guess target field -> header column from names and aliases (exact first, then partial)."""
    keys = {column: _norm(column) for column in header}
    chosen: dict[str, str] = {}
    used: set[str] = set()
    for exact in (True, False):
        for spec in schema.fields:
            if spec.name in chosen:
                continue
            wanted = [_norm(n) for n in (spec.name, *spec.aliases)]
            for column, key in keys.items():
                if column in used or not key:
                    continue
                if any(key == w if exact else (w in key or key in w) for w in wanted if w):
                    chosen[spec.name] = column
                    used.add(column)
                    break
    return chosen


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _source_columns(mapping: ColumnMapping, schema: ImportSchema) -> dict[str, tuple[str, ...]]:
    """Target field -> the source column(s) that feed it."""
    result: dict[str, tuple[str, ...]] = {}
    for spec in schema.fields:
        if spec.name == mapping.amount_field and mapping.sign is SignConvention.DEBIT_CREDIT:
            result[spec.name] = (str(mapping.debit_column), str(mapping.credit_column))
        elif spec.name in mapping.columns:
            result[spec.name] = (mapping.columns[spec.name],)
    return result


def _column_problems(
    header: list[str], sources: dict[str, tuple[str, ...]], schema: ImportSchema, mapping: ColumnMapping
) -> list[str]:
    problems: list[str] = []
    unknown = sorted(set(mapping.columns) - {s.name for s in schema.fields})
    if unknown:
        problems.append(f"the mapping names fields this import does not have: {', '.join(unknown)}")
    present = set(header)
    for spec in schema.fields:
        if spec.name not in sources:
            if spec.required:
                problems.append(f"field '{spec.name}' is required but no column is chosen for it")
            continue
        for column in sources[spec.name]:
            if column not in present:
                problems.append(
                    f"column '{column}' (for '{spec.name}') is not in the file; "
                    f"the file has: {', '.join(h for h in header if h)}"
                )
    return problems


def _convert_row(
    row: list[str],
    line: int,
    positions: dict[str, int],
    sources: dict[str, tuple[str, ...]],
    schema: ImportSchema,
    mapping: ColumnMapping,
    problems: list[str],
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    currency = mapping.currency
    if schema.currency_field and schema.currency_field in sources:
        column = sources[schema.currency_field][0]
        if column in positions:
            given = row[positions[column]].strip().upper()
            if given and not re.fullmatch(r"[A-Z]{3}", given):
                problems.append(f"row {line}, column '{column}': {given!r} is not a currency code")
            elif given:
                currency = given
    for spec in schema.fields:
        columns = sources.get(spec.name, ())
        if not columns or any(c not in positions for c in columns):
            out[spec.name] = None
            continue
        cells = [row[positions[c]].strip() for c in columns]
        if not any(cells):
            if spec.required:
                problems.append(f"row {line}, column '{' / '.join(columns)}': value is missing")
            out[spec.name] = None
            continue
        try:
            out[spec.name] = _convert(spec, cells, currency, mapping)
        except ValueError as exc:
            problems.append(f"row {line}, column '{' / '.join(columns)}': {exc}")
            out[spec.name] = None
    return out


def _convert(spec: FieldSpec, cells: list[str], currency: str, mapping: ColumnMapping) -> object:
    if spec.kind is FieldKind.TEXT:
        return cells[0]
    if spec.kind is FieldKind.DATE:
        return parse_date(cells[0], mapping.date_formats)
    if spec.kind is FieldKind.INT:
        return parse_int(cells[0])

    def amount(cell: str) -> int:
        return parse_amount(
            cell,
            currency,
            decimal_separator=mapping.decimal_separator,
            thousands_separator=mapping.thousands_separator,
        )

    if len(cells) == 2:  # debit / credit columns
        debit, credit = (abs(amount(c)) if c else 0 for c in cells)
        return Money(credit - debit, currency)
    return Money(amount(cells[0]), currency)
