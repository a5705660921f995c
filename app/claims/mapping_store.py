"""The clinic's code mappings and each insurer's code dictionary, kept in the database.

A mapping file (CSV, see :data:`app.claims.coding.MAPPING_COLUMNS`) replaces every mapping of one
clinic for one payer in one transaction; a bad file changes nothing and lists every problem. One
row can be edited, end-dated or added at a time (front desk, manager, administrator).
:func:`audit_inputs` gives the pure coding audit what it needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import Final

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.audit import Actor, record, snapshot
from app.claims import coding
from app.clock import Clock
from app.db.models import Clinic, CodeMapping, InsurerCode, Payer
from app.errors import NotFound, ValidationFailed
from app.users import ROLE_PERMISSIONS, Permission, require

DICTIONARY_COLUMNS = ("code", "description", "valid_from", "valid_to", "max_units")
_CODE = re.compile(r"^[A-Z0-9][A-Z0-9.\-]{0,19}$")


@dataclass(frozen=True, slots=True)
class MappingRow:
    id: int
    clinic_code: str
    insurer_code: str
    description: str
    valid_from: date
    valid_to: date | None
    requires_authorisation: bool


def _clinic_and_payer(session: Session, clinic_id: int, payer_id: int) -> tuple[Clinic, Payer]:
    clinic, payer = session.get(Clinic, clinic_id), session.get(Payer, payer_id)
    if clinic is None:
        raise NotFound(f"Clinic {clinic_id} does not exist.")
    if payer is None:
        raise NotFound(f"Payer {payer_id} does not exist.")
    return clinic, payer


def import_mappings(
    session: Session, clock: Clock, actor: Actor, data: bytes, filename: str, clinic_id: int, payer_id: int
) -> int:
    """Replace the clinic's mappings for the payer with the file's rows; returns how many were imported."""
    require(actor, Permission.IMPORT_FILES)
    clinic, payer = _clinic_and_payer(session, clinic_id, payer_id)
    rows = coding.import_mapping_csv(data, filename, str(clinic.id), payer.code)
    session.execute(delete(CodeMapping).where(CodeMapping.clinic_id == clinic.id, CodeMapping.payer_id == payer.id))
    session.add_all(
        CodeMapping(
            clinic_id=clinic.id,
            payer_id=payer.id,
            clinic_code=m.clinic_code,
            insurer_code=m.insurer_code,
            description=m.description,
            valid_from=m.valid_from,
            valid_to=m.valid_to,
            requires_authorisation=m.requires_authorisation,
        )
        for m in rows
    )
    session.flush()
    record(
        session,
        clock,
        actor,
        "code_mapping.import",
        "clinic",
        clinic.id,
        None,
        {"payer": payer.code, "file": filename, "rows": len(rows)},
    )
    return len(rows)


def list_mappings(session: Session, clinic_id: int, payer_id: int) -> list[MappingRow]:
    q = (
        select(CodeMapping)
        .where(CodeMapping.clinic_id == clinic_id, CodeMapping.payer_id == payer_id)
        .order_by(CodeMapping.clinic_code, CodeMapping.valid_from)
    )
    return [_row(m) for m in session.scalars(q)]


def _row(m: CodeMapping) -> MappingRow:
    return MappingRow(
        m.id, m.clinic_code, m.insurer_code, m.description, m.valid_from, m.valid_to, m.requires_authorisation
    )


class Keep(Enum):
    """``edit_mapping(valid_to=KEEP)``: leave the end date as it is (``None`` makes the row open-ended)."""

    KEEP = "keep"


KEEP: Final = Keep.KEEP


def require_mapping_editor(actor: Actor) -> None:
    """Editing the table is claims preparation (front desk, manager) or settings work (administrator)."""
    if Permission.MANAGE_SETTINGS not in ROLE_PERMISSIONS[actor.role]:
        require(actor, Permission.PREPARE_CLAIMS)


def _overlapping(
    session: Session, row: CodeMapping, valid_from: date, valid_to: date | None, clinic_code: str
) -> list[str]:
    others = session.scalars(
        select(CodeMapping).where(
            CodeMapping.clinic_id == row.clinic_id,
            CodeMapping.payer_id == row.payer_id,
            CodeMapping.clinic_code == clinic_code,
        )
    )
    end = valid_to or date.max
    return [
        f"{clinic_code} is already mapped to {o.insurer_code} from {o.valid_from.isoformat()}"
        f"{' to ' + o.valid_to.isoformat() if o.valid_to else ''}: the dates overlap"
        for o in others
        if o.id != row.id and o.valid_from <= end and valid_from <= (o.valid_to or date.max)
    ]


def _code_problem(label: str, value: str) -> list[str]:
    if not _CODE.fullmatch(value.strip().upper()):
        return [f"{label} {value!r} is not a procedure code (letters, digits, '.' or '-')"]
    return []


def edit_mapping(
    session: Session,
    clock: Clock,
    actor: Actor,
    mapping_id: int,
    *,
    insurer_code: str | None = None,
    description: str | None = None,
    valid_to: date | Keep | None = KEEP,
    requires_authorisation: bool | None = None,
) -> MappingRow:
    """Change one mapping row (audit-logged); every problem is listed and nothing changes on error.

    ``valid_to`` end-dates the row (a date) or makes it open-ended again (``None``).
    """
    require_mapping_editor(actor)
    row = session.get(CodeMapping, mapping_id)
    if row is None:
        raise NotFound(f"Code mapping {mapping_id} does not exist.")
    end = row.valid_to if isinstance(valid_to, Keep) else valid_to
    problems = _code_problem("insurer code", insurer_code) if insurer_code is not None else []
    if end is not None and end < row.valid_from:
        problems.append(f"valid to {end.isoformat()} is before valid from {row.valid_from.isoformat()}")
    if end != row.valid_to:
        problems += _overlapping(session, row, row.valid_from, end, row.clinic_code)
    if problems:
        raise ValidationFailed(f"Mapping of {row.clinic_code} was not changed", problems)
    before = snapshot(row)
    if insurer_code is not None:
        row.insurer_code = insurer_code.strip().upper()
    if description is not None:
        row.description = description.strip()[:200]
    row.valid_to = end
    if requires_authorisation is not None:
        row.requires_authorisation = requires_authorisation
    record(session, clock, actor, "code_mapping.edit", "code_mapping", row.id, before, snapshot(row))
    return _row(row)


def add_mapping(
    session: Session, clock: Clock, actor: Actor, clinic_id: int, payer_id: int, row: MappingRow
) -> MappingRow:
    """Add one mapping (``row.id`` is ignored); e.g. the insurer's new code from the day after another ends."""
    require_mapping_editor(actor)
    clinic, payer = _clinic_and_payer(session, clinic_id, payer_id)
    new = CodeMapping(
        clinic_id=clinic.id,
        payer_id=payer.id,
        clinic_code=row.clinic_code.strip().upper(),
        insurer_code=row.insurer_code.strip().upper(),
        description=row.description.strip()[:200],
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        requires_authorisation=row.requires_authorisation,
    )
    problems = _code_problem("clinic code", row.clinic_code) + _code_problem("insurer code", row.insurer_code)
    if row.valid_to is not None and row.valid_to < row.valid_from:
        problems.append(f"valid to {row.valid_to.isoformat()} is before valid from {row.valid_from.isoformat()}")
    problems += _overlapping(session, new, new.valid_from, new.valid_to, new.clinic_code)
    if problems:
        raise ValidationFailed(f"The mapping of {row.clinic_code or 'a clinic code'} was not added", problems)
    session.add(new)
    session.flush()
    record(session, clock, actor, "code_mapping.add", "code_mapping", new.id, None, snapshot(new))
    return _row(new)


def import_dictionary(session: Session, clock: Clock, actor: Actor, data: bytes, filename: str, payer_id: int) -> int:
    """Replace a payer's code dictionary from CSV (``code, description, valid_from, valid_to, max_units``)."""
    require(actor, Permission.IMPORT_FILES)
    payer = session.get(Payer, payer_id)
    if payer is None:
        raise NotFound(f"Payer {payer_id} does not exist.")
    codes = parse_dictionary_csv(data, filename)
    session.execute(delete(InsurerCode).where(InsurerCode.payer_id == payer.id))
    session.add_all(
        InsurerCode(
            payer_id=payer.id,
            code=c.code,
            description=text,
            valid_from=c.valid_from,
            valid_to=c.valid_to,
            max_units=c.max_units,
        )
        for c, text in codes
    )
    session.flush()
    record(
        session, clock, actor, "insurer_code.import", "payer", payer.id, None, {"file": filename, "codes": len(codes)}
    )
    return len(codes)


def parse_dictionary_csv(data: bytes, filename: str) -> list[tuple[coding.InsurerCode, str]]:
    """Read a dictionary file; every row problem is listed at once."""
    reader = coding.csv_rows(data, filename, DICTIONARY_COLUMNS)
    out: list[tuple[coding.InsurerCode, str]] = []
    problems: list[str] = []
    for row_no, raw in enumerate(reader, start=2):
        row = {k: (v or "").strip() for k, v in raw.items() if k is not None}
        if not any(row.values()):
            continue
        code = row["code"].upper()
        start = _day(row["valid_from"])
        end = _day(row["valid_to"]) if row["valid_to"] else None
        units = row["max_units"]
        if not _CODE.fullmatch(code):
            problems.append(f"row {row_no}, column code: {row['code']!r} is not a procedure code")
        if start is None:
            problems.append(f"row {row_no}, column valid_from: {row['valid_from']!r} is not a date (YYYY-MM-DD)")
        if row["valid_to"] and end is None:
            problems.append(f"row {row_no}, column valid_to: {row['valid_to']!r} is not a date (YYYY-MM-DD)")
        if units and not units.isdigit():
            problems.append(f"row {row_no}, column max_units: {units!r} is not a whole number")
        if start is not None and _CODE.fullmatch(code) and (not units or units.isdigit()):
            out.append((coding.InsurerCode(code, start, end, int(units) if units else None), row["description"]))
    if problems:
        raise ValidationFailed(f"{filename}: the code list has problems; nothing was imported", problems)
    return out


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def audit_inputs(
    session: Session, clinic_id: int, payer_id: int
) -> tuple[list[coding.CodeMapping], coding.InsurerDictionary]:
    """The clinic's mappings for the payer and the payer's dictionary, as the coding audit takes them."""
    payer = session.get(Payer, payer_id)
    if payer is None:
        raise NotFound(f"Payer {payer_id} does not exist.")
    mappings = [
        coding.CodeMapping(
            str(clinic_id),
            payer.code,
            m.clinic_code,
            m.insurer_code,
            m.description,
            m.valid_from,
            m.valid_to,
            m.requires_authorisation,
        )
        for m in session.scalars(
            select(CodeMapping).where(CodeMapping.clinic_id == clinic_id, CodeMapping.payer_id == payer_id)
        )
    ]
    codes = tuple(
        coding.InsurerCode(c.code, c.valid_from, c.valid_to, c.max_units)
        for c in session.scalars(select(InsurerCode).where(InsurerCode.payer_id == payer_id))
    )
    return mappings, coding.InsurerDictionary(payer.code, codes)
