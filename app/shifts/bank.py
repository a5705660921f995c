"""Bank statement import for settlement checks: a CSV through its saved mapping, or OFX.

Mappings are saved in Settings ``csv_mappings.bank`` as ``{name: mapping}``. The raw file is
archived first (the same file twice is recognised and nothing changes); a file with wrong columns
or bad amounts is refused whole, with every row and column named, and quarantined in a separate
unit of work. New lines become :class:`BankLine` rows and waiting payouts are matched.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from app.archive import quarantined_on_failure, register_incoming
from app.audit import Actor, record
from app.claims.artefacts import ArtefactStore
from app.context import AppContext
from app.db.models import BankLine
from app.errors import DuplicateImport, ValidationFailed
from app.imports.bank_statement import BankStatement, read_bank_csv, read_ofx
from app.imports.csv_mapping import ColumnMapping
from app.settings import get_setting
from app.shifts.settlement import match_deposits
from app.users import Permission, require

KIND = "bank_statement"
MAPPINGS = "csv_mappings.bank"


@dataclass(frozen=True, slots=True)
class BankImport:
    filename: str
    lines: int
    new_lines: int
    payouts_matched: int

    def __str__(self) -> str:
        return (
            f"{self.filename}: {self.new_lines} new bank line(s) of {self.lines}; "
            f"{self.payouts_matched} payout(s) matched to a deposit"
        )


def saved_mapping(ctx: AppContext, name: str | None) -> ColumnMapping:
    with ctx.db.read() as s:
        saved: dict[str, Any] = get_setting(s, MAPPINGS) or {}
    if not saved:
        raise ValidationFailed(
            "No bank CSV mapping is saved", [f"save one in Settings → Imports ({MAPPINGS}) or import an OFX file"]
        )
    if name is None:
        if len(saved) != 1:
            raise ValidationFailed("Choose a bank mapping", [f"saved mappings: {', '.join(sorted(saved))}"])
        name = next(iter(saved))
    if name not in saved:
        raise ValidationFailed(f"There is no bank mapping called {name!r}", [f"saved: {', '.join(sorted(saved))}"])

    return ColumnMapping.from_json(json.dumps(saved[name]))


def _is_ofx(filename: str, data: bytes) -> bool:
    return filename.lower().endswith((".ofx", ".qfx")) or b"<OFX>" in data[:4096].upper()


def read_statement(ctx: AppContext, filename: str, data: bytes, mapping: str | None) -> BankStatement:
    if _is_ofx(filename, data):
        return read_ofx(data, filename)
    return read_bank_csv(data, filename, saved_mapping(ctx, mapping))


def import_bank_file(
    ctx: AppContext, actor: Actor, filename: str, data: bytes, *, mapping: str | None = None
) -> BankImport:
    """Import one statement file all-or-nothing, then match waiting card payouts to its deposits."""
    require(actor, Permission.IMPORT_FILES)
    store = ArtefactStore(ctx.paths.archive)
    with quarantined_on_failure(ctx, actor, kind=KIND, source="bank", filename=filename, data=data):
        statement = read_statement(ctx, filename, data, mapping)
    with ctx.db.unit_of_work() as s:
        registered = register_incoming(
            s, ctx.clock, actor, store, kind=KIND, source="bank", filename=filename, data=data
        )
        if registered.duplicate:
            raise DuplicateImport(
                f"{filename}: this statement was already imported on "
                f"{registered.file.received_at:%d %b %Y %H:%M} UTC (as {registered.file.filename}); nothing changed."
            )
        known = set(
            s.scalars(
                select(BankLine.fingerprint).where(BankLine.fingerprint.in_([ln.fingerprint for ln in statement.lines]))
            )
        )
        new = [ln for ln in statement.lines if ln.fingerprint not in known]
        for ln in new:
            s.add(
                BankLine(
                    fingerprint=ln.fingerprint,
                    booked_on=ln.posted_on,
                    amount_minor=ln.amount.minor,
                    currency=ln.amount.currency,
                    description=ln.description[:300],
                    reference=ln.reference[:120],
                    source_file_sha256=statement.file_sha256,
                    imported_at=ctx.clock.now(),
                )
            )
        s.flush()
        record(
            s,
            ctx.clock,
            actor,
            "bank.import",
            "imported_file",
            registered.file.id,
            None,
            {"file": filename, "lines": len(statement.lines), "new": len(new)},
        )
        matched = match_deposits(s, ctx.clock, actor)
    return BankImport(filename, len(statement.lines), len(new), matched)
