"""Procedure coding: the clinic's own codes mapped, per clinic and insurer, to the insurer's codes.

A clinic bills with its own procedure codes (CCSD codes such as ``A1234`` in the UK, or
clinic-local codes). Each insurer pays against its own dictionary (CPT 5-digit codes, or insurer
codes). :func:`import_mapping_csv` reads a clinic's mapping file; :func:`audit_claim` checks a
claim's lines against the mappings and the insurer's dictionary and lists *every* problem at
once; :func:`coding_audit_csv` renders the result as ``coding-audit.csv``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Final

from app.errors import ParseError, ValidationFailed

MAPPING_COLUMNS: Final = (
    "clinic_code",
    "insurer_code",
    "description",
    "valid_from",
    "valid_to",
    "requires_authorisation",
)
_CODE_RE: Final = re.compile(r"^[A-Z0-9][A-Z0-9.\-]{0,19}$")
# ICD-10 (WHO, used in the UK) and ICD-10-CM share this shape: letter, digit, digit-or-letter,
# then an optional dot and up to four more characters (e.g. M54.5, S83.511A, U07.1).
_ICD10_RE: Final = re.compile(r"^[A-Z][0-9][0-9A-Z](?:\.?[0-9A-Z]{1,4})?$")
_TRUE: Final = frozenset({"yes", "y", "true", "1"})
_FALSE: Final = frozenset({"no", "n", "false", "0", ""})


@dataclass(frozen=True, slots=True)
class CodeMapping:
    """One clinic code mapped to one insurer code for a period (``valid_to`` inclusive)."""

    clinic_id: str
    insurer_id: str
    clinic_code: str
    insurer_code: str
    description: str
    valid_from: date
    valid_to: date | None
    requires_authorisation: bool

    def is_valid_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


@dataclass(frozen=True, slots=True)
class InsurerCode:
    """One code of an insurer's dictionary; ``max_units`` is the most units one line may bill."""

    code: str
    valid_from: date
    valid_to: date | None = None
    max_units: int | None = None

    def is_valid_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


@dataclass(frozen=True)
class InsurerDictionary:
    """The codes an insurer accepts, with their validity dates and unit limits."""

    insurer_id: str
    codes: tuple[InsurerCode, ...]
    _index: dict[str, InsurerCode] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {c.code: c for c in self.codes})

    def get(self, code: str) -> InsurerCode | None:
        return self._index.get(code)


@dataclass(frozen=True, slots=True)
class ClaimLine:
    """A line of a claim as the clinic wrote it (line numbers start at 1)."""

    line_no: int
    clinic_code: str
    units: int = 1


class Severity(StrEnum):
    ERROR = "error"  # the claim must not leave the clinic
    WARNING = "warning"  # worth a look; does not block


class ProblemCode(StrEnum):
    UNMAPPED = "UNMAPPED"
    AMBIGUOUS_MAPPING = "AMBIGUOUS_MAPPING"
    EXPIRED_MAPPING = "EXPIRED_MAPPING"
    INVALID_INSURER_CODE = "INVALID_INSURER_CODE"
    INSURER_CODE_NOT_VALID_ON_DATE = "INSURER_CODE_NOT_VALID_ON_DATE"
    INVALID_UNITS = "INVALID_UNITS"
    UNITS_EXCEED_MAX = "UNITS_EXCEED_MAX"
    DUPLICATE_LINE = "DUPLICATE_LINE"
    AUTH_REQUIRED_MISSING = "AUTH_REQUIRED_MISSING"
    MISSING_DIAGNOSIS = "MISSING_DIAGNOSIS"
    INVALID_ICD10_FORMAT = "INVALID_ICD10_FORMAT"


@dataclass(frozen=True, slots=True)
class CodingProblem:
    """One problem; ``line_no`` is None when it concerns the whole claim (e.g. diagnoses)."""

    line_no: int | None
    clinic_code: str
    severity: Severity
    code: ProblemCode
    message: str


_AddProblem = Callable[[Severity, ProblemCode, str], None]


@dataclass(frozen=True, slots=True)
class MappedLine:
    line_no: int
    clinic_code: str
    insurer_code: str
    description: str
    units: int


@dataclass(frozen=True, slots=True)
class CodingAudit:
    """Every coding problem of one claim, and the insurer codes its lines map to."""

    problems: tuple[CodingProblem, ...]
    mapped: tuple[MappedLine, ...]

    @property
    def blocking(self) -> bool:
        return any(p.severity is Severity.ERROR for p in self.problems)

    @property
    def insurer_codes(self) -> tuple[str, ...]:
        return tuple(m.insurer_code for m in self.mapped)


# --------------------------------------------------------------------------- CSV import


def _parse_date(text: str) -> date | None:
    """``YYYY-MM-DD`` or the UK ``DD/MM/YYYY``; None when neither."""
    text = text.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return date.fromisoformat(text)
        match = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text)
        if match:
            return date(int(match[3]), int(match[2]), int(match[1]))
    except ValueError:
        return None
    return None


def _overlaps(a: CodeMapping, b: CodeMapping) -> bool:
    a_end = a.valid_to or date.max
    b_end = b.valid_to or date.max
    return a.valid_from <= b_end and b.valid_from <= a_end


def csv_rows(data: bytes, filename: str, required: Sequence[str]) -> csv.DictReader[str]:
    """A UTF-8 CSV with lower-cased headers; unreadable text or a missing column is a ParseError."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError(filename, f"byte {exc.start}", "the file is not UTF-8 text") from exc
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in required if c not in header]
    if missing:
        raise ParseError(filename, "row 1 (header)", f"missing column(s): {', '.join(missing)}")
    reader.fieldnames = header
    return reader


def import_mapping_csv(data: bytes, filename: str, clinic_id: str, insurer_id: str) -> list[CodeMapping]:
    """Read a mapping file (UTF-8 CSV with a header row; see ``MAPPING_COLUMNS``).

    Rows are numbered as a spreadsheet shows them (the header is row 1). Every row problem is
    collected and raised together as :class:`ValidationFailed`; nothing is returned on error.
    An unreadable file or missing columns raise :class:`ParseError`.
    """
    reader = csv_rows(data, filename, MAPPING_COLUMNS)

    problems: list[str] = []
    parsed: list[tuple[int, CodeMapping]] = []
    try:
        for row_no, raw in enumerate(reader, start=2):
            row = {k: (v or "").strip() for k, v in raw.items() if k is not None}
            if not any(row.values()):
                continue
            mapping = _parse_row(row_no, row, clinic_id, insurer_id, problems)
            if mapping is not None:
                parsed.append((row_no, mapping))
    except csv.Error as exc:
        raise ParseError(filename, f"row {reader.line_num}", f"not valid CSV ({exc})") from exc

    for i, (row_a, a) in enumerate(parsed):
        for row_b, b in parsed[i + 1 :]:
            if a.clinic_code == b.clinic_code and _overlaps(a, b):
                problems.append(
                    f"row {row_b}, column clinic_code: {b.clinic_code} is already mapped in row {row_a} "
                    "for overlapping dates"
                )
    if problems:
        raise ValidationFailed(f"{filename}: the code mapping file has problems; nothing was imported", problems)
    return [m for _, m in parsed]


def _parse_row(
    row_no: int, row: dict[str, str], clinic_id: str, insurer_id: str, problems: list[str]
) -> CodeMapping | None:
    before = len(problems)

    def bad(column: str, reason: str) -> None:
        problems.append(f"row {row_no}, column {column}: {reason}")

    codes: dict[str, str] = {}
    for column in ("clinic_code", "insurer_code"):
        value = row[column].upper()
        if not value:
            bad(column, "is empty")
        elif not _CODE_RE.fullmatch(value):
            bad(column, f"{row[column]!r} is not a procedure code (letters, digits, '.' or '-')")
        codes[column] = value
    valid_from = _parse_date(row["valid_from"])
    if valid_from is None:
        bad("valid_from", f"{row['valid_from']!r} is not a date (use YYYY-MM-DD or DD/MM/YYYY)")
    valid_to: date | None = None
    if row["valid_to"]:
        valid_to = _parse_date(row["valid_to"])
        if valid_to is None:
            bad("valid_to", f"{row['valid_to']!r} is not a date (use YYYY-MM-DD, DD/MM/YYYY or leave empty)")
        elif valid_from is not None and valid_to < valid_from:
            bad("valid_to", f"{valid_to.isoformat()} is before valid_from {valid_from.isoformat()}")
    flag = row["requires_authorisation"].lower()
    if flag not in _TRUE | _FALSE:
        bad("requires_authorisation", f"{row['requires_authorisation']!r} is not yes or no")
    if len(problems) > before or valid_from is None:
        return None
    return CodeMapping(
        clinic_id=clinic_id,
        insurer_id=insurer_id,
        clinic_code=codes["clinic_code"],
        insurer_code=codes["insurer_code"],
        description=row["description"],
        valid_from=valid_from,
        valid_to=valid_to,
        requires_authorisation=flag in _TRUE,
    )


# --------------------------------------------------------------------------- audit


def audit_claim(
    lines: Sequence[ClaimLine],
    mappings: Iterable[CodeMapping],
    dictionary: InsurerDictionary,
    service_date: date,
    diagnosis_codes: Sequence[str],
    authorisation_number: str | None,
) -> CodingAudit:
    """Check every line and the diagnoses; list every problem, never just the first.

    ``mappings`` are the clinic's mappings for the claim's insurer (others are ignored).
    """
    by_code: dict[str, list[CodeMapping]] = {}
    for m in mappings:
        if m.insurer_id == dictionary.insurer_id:
            by_code.setdefault(m.clinic_code, []).append(m)
    problems: list[CodingProblem] = []
    mapped: list[MappedLine] = []
    has_auth = bool(authorisation_number and authorisation_number.strip())
    seen: dict[str, int] = {}

    for line in lines:
        code = line.clinic_code.strip().upper()

        def add(severity: Severity, problem: ProblemCode, message: str, _l: ClaimLine = line) -> None:
            problems.append(CodingProblem(_l.line_no, _l.clinic_code, severity, problem, message))

        if code in seen:
            add(
                Severity.WARNING,
                ProblemCode.DUPLICATE_LINE,
                f"Line {line.line_no}: code {code} is also billed on line {seen[code]}; "
                "combine the units on one line unless two separate sessions took place.",
            )
        else:
            seen[code] = line.line_no
        if line.units < 1:
            add(
                Severity.ERROR,
                ProblemCode.INVALID_UNITS,
                f"Line {line.line_no}: code {code} has {line.units} units; at least 1 is needed.",
            )
        mapping = _mapping_for(line, code, by_code.get(code, []), service_date, add)
        if mapping is None:
            continue
        mapped.append(MappedLine(line.line_no, code, mapping.insurer_code, mapping.description, line.units))
        _check_insurer_code(line, code, mapping, dictionary, service_date, add)
        if mapping.requires_authorisation and not has_auth:
            add(
                Severity.ERROR,
                ProblemCode.AUTH_REQUIRED_MISSING,
                f"Line {line.line_no}: code {code} ({mapping.insurer_code}) needs a pre-authorisation "
                f"from {dictionary.insurer_id}, but the claim has no authorisation number.",
            )

    problems.extend(_diagnosis_problems(diagnosis_codes))
    return CodingAudit(tuple(problems), tuple(mapped))


def _mapping_for(
    line: ClaimLine,
    code: str,
    candidates: list[CodeMapping],
    service_date: date,
    add: _AddProblem,
) -> CodeMapping | None:
    if not candidates:
        add(
            Severity.ERROR,
            ProblemCode.UNMAPPED,
            f"Line {line.line_no}: code {code} has no mapping to an insurer code for this insurer; "
            "add it to the clinic's code mapping.",
        )
        return None
    current = [m for m in candidates if m.is_valid_on(service_date)]
    if len(current) > 1:
        add(
            Severity.ERROR,
            ProblemCode.AMBIGUOUS_MAPPING,
            f"Line {line.line_no}: code {code} maps to {len(current)} insurer codes on "
            f"{service_date.isoformat()} ({', '.join(sorted(m.insurer_code for m in current))}); "
            "keep only one mapping for that date.",
        )
        return None
    if not current:
        periods = ", ".join(
            f"{m.valid_from.isoformat()} to {m.valid_to.isoformat() if m.valid_to else 'open'}"
            for m in sorted(candidates, key=lambda m: m.valid_from)
        )
        add(
            Severity.ERROR,
            ProblemCode.EXPIRED_MAPPING,
            f"Line {line.line_no}: the mapping of code {code} is not valid on the service date "
            f"{service_date.isoformat()} (valid {periods}); update the code mapping.",
        )
        return None
    return current[0]


def _check_insurer_code(
    line: ClaimLine,
    code: str,
    mapping: CodeMapping,
    dictionary: InsurerDictionary,
    service_date: date,
    add: _AddProblem,
) -> None:
    entry = dictionary.get(mapping.insurer_code)
    if entry is None:
        add(
            Severity.ERROR,
            ProblemCode.INVALID_INSURER_CODE,
            f"Line {line.line_no}: code {code} maps to {mapping.insurer_code}, which is not in "
            f"{dictionary.insurer_id}'s code list; correct the mapping.",
        )
        return
    if not entry.is_valid_on(service_date):
        add(
            Severity.ERROR,
            ProblemCode.INSURER_CODE_NOT_VALID_ON_DATE,
            f"Line {line.line_no}: insurer code {entry.code} (from {code}) is not accepted by "
            f"{dictionary.insurer_id} on {service_date.isoformat()}.",
        )
    if entry.max_units is not None and line.units > entry.max_units:
        add(
            Severity.ERROR,
            ProblemCode.UNITS_EXCEED_MAX,
            f"Line {line.line_no}: code {code} ({entry.code}) bills {line.units} units; "
            f"{dictionary.insurer_id} accepts at most {entry.max_units} per line.",
        )


def _diagnosis_problems(diagnosis_codes: Sequence[str]) -> list[CodingProblem]:
    cleaned = [d.strip().upper() for d in diagnosis_codes if d.strip()]
    if not cleaned:
        return [
            CodingProblem(
                None,
                "",
                Severity.ERROR,
                ProblemCode.MISSING_DIAGNOSIS,
                "The claim has no diagnosis code; the clinician must record at least one ICD-10 code.",
            )
        ]
    return [
        CodingProblem(
            None,
            "",
            Severity.ERROR,
            ProblemCode.INVALID_ICD10_FORMAT,
            f"Diagnosis {d!r} is not an ICD-10 code (expected a letter, two characters and an "
            "optional dot and detail, e.g. M54.5).",
        )
        for d in cleaned
        if not _ICD10_RE.fullmatch(d)
    ]


# --------------------------------------------------------------------------- report


def coding_audit_csv(audit: CodingAudit) -> bytes:
    """``coding-audit.csv``: one row per problem (claim-wide problems have an empty line)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["line", "clinic_code", "insurer_code", "severity", "problem", "message"])
    insurer = {m.line_no: m.insurer_code for m in audit.mapped}
    for p in audit.problems:
        writer.writerow(
            [
                "" if p.line_no is None else p.line_no,
                p.clinic_code,
                insurer.get(p.line_no, "") if p.line_no is not None else "",
                p.severity.value,
                p.code.value,
                p.message,
            ]
        )
    return out.getvalue().encode("utf-8")
