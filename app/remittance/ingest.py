"""Import a remittance file of any kind: archive it raw, store one Remittance per payment, apply.

The raw bytes are registered first (the same file again is recognised and nothing changes).
Payments are streamed: each is stored and applied before the next is read, all in one unit of
work, so a file damaged half-way rolls back completely; it is then quarantined in a separate
unit of work and the ParseError (file, segment number, reason) is raised.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.archive import keep_artefact, quarantined_on_failure, register_incoming
from app.audit import Actor, record
from app.claims.artefacts import ArtefactStore
from app.clock import Clock
from app.context import AppContext
from app.db.models import ImportedFile, Payer, Remittance
from app.domain.status import RemittanceStatus
from app.errors import ValidationFailed
from app.imports.csv_mapping import ColumnMapping
from app.money import to_minor
from app.remittance.apply import ApplyOutcome, Pending, apply_stored, without_gc_pauses
from app.remittance.fastpath import MergedAdjustments
from app.remittance.policy import Policy
from app.remittance.sources import FileKind, detect_kind, prepared_payments
from app.settings import get_setting
from app.users import Permission, require
from app.x12.lane835 import LanePayment

_FORMAT = {FileKind.X12_835: "x12_835", FileKind.INSURER_XML: "insurer_xml", FileKind.CSV: "csv"}


@dataclass(frozen=True, slots=True)
class ImportResult:
    filename: str
    kind: str
    duplicate: bool
    remittance_ids: tuple[int, ...]
    outcomes: tuple[ApplyOutcome, ...]
    skipped: tuple[str, ...]
    message: str


def saved_mapping(session: Session, name: str) -> ColumnMapping:
    """The column mapping saved in Settings under ``csv_mappings.remittance.<name>``."""
    key = f"csv_mappings.remittance.{name}"
    raw: Any = get_setting(session, key)
    if raw is None:
        raise ValidationFailed(f"No saved CSV column mapping {name!r}", [f"save one in Settings under {key}"])
    return ColumnMapping.from_json(raw if isinstance(raw, str) else json.dumps(raw))


class PayerIndex:
    """Payers found by code, name or X12/insurer id, case-insensitively."""

    def __init__(self, session: Session, forced: str | None) -> None:
        self.by_key: dict[str, tuple[int, str]] = {}
        for pid, code, name, id_code in session.execute(select(Payer.id, Payer.code, Payer.name, Payer.payer_id_code)):
            for key in (code, name, id_code):
                if key:
                    self.by_key.setdefault(key.strip().lower(), (pid, code))
        self.forced = None
        if forced:
            found = self.by_key.get(forced.strip().lower())
            if found is None:
                raise ValidationFailed(f"Unknown payer {forced!r}", ["use a payer code from Settings → Payers"])
            self.forced = found

    def find(self, name: str) -> tuple[int, str] | None:
        return self.forced or self.by_key.get(name.strip().lower())


def _m(value: Any, currency: str) -> int:
    return to_minor(value, currency)


def store_payment(
    session: Session,
    clock: Clock,
    actor: Actor,
    store: ArtefactStore,
    file: ImportedFile,
    kind: FileKind,
    p: LanePayment,
    cur: str,
    payer: tuple[int, str] | None,
) -> tuple[int, Pending] | None:
    """One Remittance with remittance.json, and its lines ready to insert (apply_stored inserts
    them once, already matched); None when this payment is already stored."""
    payer_id = payer[0] if payer else None
    same = select(Remittance.id, Remittance.filename).where(Remittance.trace_number == p.trace_number[:60])
    same = same.where(Remittance.payer_id == payer_id if payer_id else Remittance.payer_id.is_(None))
    if session.execute(same).first() is not None:
        return None
    rem = Remittance(
        payer_id=payer_id,
        source_format=_FORMAT[kind],
        filename=file.filename[:200],
        raw_sha256=file.sha256,
        trace_number=p.trace_number[:60],
        payment_date=p.date,
        total_paid_minor=_m(p.total_paid, cur),
        unapplied_minor=0,
        currency=cur,
        payer_name=p.payer[:120],
        method=p.method[:10],
        provider_adjustments_json=json.dumps(p.provider_adjustments),
        imported_file_id=file.id,
        received_at=clock.now(),
    )
    session.add(rem)
    session.flush()
    rid = rem.id
    # a line keeps its adjustments (claim and service level, one per group and reason), which is
    # all matching needs; its service lines stay in remittance.json (services_json "")
    merged = MergedAdjustments(cur)
    rows = [
        (rid, None, *fields, cur, merged(line.adjustments), "", "", False)
        for fields, line in zip(p.fields, p.lines, strict=True)
    ]
    keep_artefact(session, clock, store, "remittance", rid, "remittance.json", p.text().encode())
    after = {"trace": rem.trace_number, "total_minor": rem.total_paid_minor, "lines": len(rows), "file": file.filename}
    record(session, clock, actor, "remittance.receive", "remittance", rid, None, after)
    return rid, Pending(rows, p.lines)


def process_file(
    s: Session,
    ctx: AppContext,
    actor: Actor,
    file: ImportedFile,
    data: bytes,
    *,
    payer_code: str | None = None,
    mapping_name: str | None = None,
) -> ImportResult:
    """Store and apply every payment of a registered file (in the caller's unit of work)."""
    store = ArtefactStore(ctx.paths.archive)
    kind = detect_kind(data)
    mapping = saved_mapping(s, mapping_name or payer_code or "") if kind is FileKind.CSV else None
    payers = PayerIndex(s, payer_code)
    currency = str(get_setting(s, "clinic.currency") or "GBP")
    ids, outcomes, skipped = [], [], []
    policy = Policy(s)  # every payment of the file is applied with the same settings, read once
    with without_gc_pauses():
        for payment, cur in prepared_payments(kind, data, file.filename, currency=currency, mapping=mapping):
            stored = store_payment(s, ctx.clock, actor, store, file, kind, payment, cur, payers.find(payment.payer))
            if stored is None:
                skipped.append(payment.trace_number)
                continue
            rid, pending = stored
            ids.append(rid)
            outcomes.append(apply_stored(s, ctx.clock, actor, rid, pending=pending, policy=policy))
    file.status = "flagged" if any(o.status is RemittanceStatus.FLAGGED for o in outcomes) else "processed"
    lines = [o.message for o in outcomes]
    lines += [f"payment {t} was imported before from another file: skipped" for t in skipped]
    file.message = "\n".join(lines)[:2000] or "no payments in the file"
    message = f"{file.filename}: {len(ids)} payment(s) imported.\n" + "\n".join(lines)
    return ImportResult(file.filename, file.kind, False, tuple(ids), tuple(outcomes), tuple(skipped), message.strip())


def import_remittance_file(
    ctx: AppContext,
    actor: Actor,
    data: bytes,
    filename: str,
    *,
    payer_code: str | None = None,
    mapping_name: str | None = None,
) -> ImportResult:
    """Store and apply a remittance file (835, insurer XML, or CSV with a saved mapping)."""
    require(actor, Permission.IMPORT_FILES)
    kind = detect_kind(data)
    store = ArtefactStore(ctx.paths.archive)
    source = payer_code or ""
    with (
        quarantined_on_failure(ctx, actor, kind=kind.value, source=source, filename=filename, data=data),
        ctx.db.unit_of_work() as s,
    ):
        reg = register_incoming(
            s, ctx.clock, actor, store, kind=kind.value, source=source, filename=filename, data=data
        )
        if reg.duplicate and reg.file.status != "quarantined":
            when = f"{reg.file.received_at:%d %b %Y %H:%M} UTC"
            message = f"{filename} was already imported on {when} (as {reg.file.filename}); nothing was changed."
            return ImportResult(filename, kind.value, True, (), (), (), message)
        return process_file(s, ctx, actor, reg.file, data, payer_code=payer_code, mapping_name=mapping_name)
