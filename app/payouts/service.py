"""Ingest a marketplace settlement: archive the raw bytes first, normalise, store the payout and its
lines (status received), enrich with clinic metadata and keep ``payouts-normalised.parquet``.

All in one unit of work: a file that cannot be read changes nothing (it is quarantined in a
separate unit of work, with the reason); the same bytes twice change nothing.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.archive import artefact_bytes, keep_artefact, quarantined_on_failure, register_incoming
from app.audit import Actor, record, snapshot
from app.claims.artefacts import ArtefactStore
from app.clock import Clock
from app.context import AppContext, Changes
from app.db.models import Clinic, ImportedFile, Patient, Payment
from app.db.models import Payout as PayoutRow
from app.db.models import PayoutLine as PayoutLineRow
from app.domain.status import PayoutStatus, TaskPriority
from app.errors import NotFound
from app.imports.csv_mapping import ColumnMapping
from app.payouts.formats import DEFAULT_TREATWELL_MAPPING
from app.payouts.normalise import (
    PARQUET_NAME,
    Payout,
    check_payout_total,
    normalise_classpass,
    normalise_treatwell,
    to_parquet,
)
from app.settings import get_setting, set_setting
from app.tasks import open_task
from app.users import Permission, require

SOURCES = ("classpass", "treatwell")
FILE_KINDS = {"classpass": "classpass_json", "treatwell": "treatwell_csv"}
RAW_NAMES = {"classpass": "classpass-settlement.json", "treatwell": "treatwell-settlement.csv"}
MAPPING_NAME = "column-mapping.json"
MAPPINGS_KEY = "payouts.mappings"


@dataclass(frozen=True, slots=True)
class ImportResult:
    file_id: int
    duplicate: bool
    payout_ids: tuple[int, ...]
    flagged: tuple[str, ...]
    changes: Changes


def check_source(source: str) -> str:
    if source not in SOURCES:
        raise NotFound(f"Unknown marketplace {source!r}: use one of {', '.join(SOURCES)}.")
    return source


def load_mapping(session: Session, name: str) -> ColumnMapping:
    """A saved column mapping by name (each source's own is saved under the source name)."""
    saved: dict[str, Any] = get_setting(session, MAPPINGS_KEY) or {}
    if name in saved:
        return ColumnMapping.from_json(json.dumps(saved[name]))
    if name == "treatwell":
        return DEFAULT_TREATWELL_MAPPING
    raise NotFound(f"No saved column mapping called {name!r}; saved: {', '.join(sorted(saved)) or 'none'}.")


def save_mapping(session: Session, clock: Clock, actor: Actor, mapping: ColumnMapping, name: str = "") -> None:
    """Save ``mapping`` under ``name`` (default: its source), so the next import of that source uses it."""
    require(actor, Permission.IMPORT_FILES)
    saved = dict(get_setting(session, MAPPINGS_KEY) or {})
    saved[name or mapping.source] = mapping.to_dict()
    set_setting(session, clock, actor, MAPPINGS_KEY, saved)


def normalise(source: str, data: bytes, filename: str, mapping: ColumnMapping | None) -> list[Payout]:
    if check_source(source) == "classpass":
        return normalise_classpass(data, filename)
    return normalise_treatwell(data, filename, mapping or DEFAULT_TREATWELL_MAPPING)


def import_settlement(
    ctx: AppContext,
    actor: Actor,
    source: str,
    filename: str,
    data: bytes,
    mapping: ColumnMapping | None = None,
) -> ImportResult:
    """Archive, normalise and store one settlement file; see the module docstring."""
    require(actor, Permission.IMPORT_FILES)
    check_source(source)
    store = ArtefactStore(ctx.paths.archive)
    kind = FILE_KINDS[source]
    with (
        quarantined_on_failure(ctx, actor, kind=kind, source=source, filename=filename, data=data),
        ctx.db.unit_of_work() as s,
    ):
        reg = register_incoming(s, ctx.clock, actor, store, kind=kind, source=source, filename=filename, data=data)
        if reg.duplicate:
            return ImportResult(reg.file.id, True, (), (), Changes.of(message=f"{filename} was imported before"))
        keep_artefact(s, ctx.clock, store, "imported_file", reg.file.id, RAW_NAMES[source], data, replace=False)
        used = mapping or (load_mapping(s, source) if source == "treatwell" else None)
        if used is not None:
            keep_artefact(s, ctx.clock, store, "imported_file", reg.file.id, MAPPING_NAME, used.to_json().encode())
        payouts = normalise(source, data, filename, used)
        ids, flags = _store_payouts(s, ctx.clock, actor, payouts, reg.file)
        keep_artefact(s, ctx.clock, store, "imported_file", reg.file.id, PARQUET_NAME, parquet_bytes(s, payouts))
        if flags:
            reg.file.status, reg.file.message = "flagged", "; ".join(flags)[:2000]
        message = f"{filename}: {len(ids)} payout(s) received" + (f", {len(flags)} flagged" if flags else "")
        return ImportResult(reg.file.id, False, tuple(ids), tuple(flags), Changes.of("payouts", message=message))


def _store_payouts(
    s: Session, clock: Clock, actor: Actor, payouts: Sequence[Payout], file: ImportedFile
) -> tuple[list[int], list[str]]:
    ids: list[int] = []
    all_flags: list[str] = []
    for p in payouts:
        existing = s.scalar(
            select(PayoutRow).where(PayoutRow.source == p.source, PayoutRow.provider_ref == p.payout_ref)
        )
        if existing is not None:  # the same payout inside a different file: keep the first
            continue
        flags = check_payout_total(p)
        row = PayoutRow(
            source=p.source,
            provider_ref=p.payout_ref,
            payout_date=p.payout_date,
            expected_minor=p.total_net.minor,
            currency=p.currency,
            status=PayoutStatus.RECEIVED,
            raw_sha256=file.sha256,
            held_reason="; ".join(flags),
            created_at=clock.now(),
        )
        s.add(row)
        s.flush()
        for line in p.lines:
            s.add(
                PayoutLineRow(
                    payout_id=row.id,
                    entry_type="refund" if line.gross.minor < 0 else "booking",
                    booking_id=line.booking_id or "",
                    patient_ref=line.patient_ref or "",
                    service_date=line.service_date,
                    gross_minor=line.gross.minor,
                    commission_minor=line.commission.minor,
                    processing_fee_minor=line.processing_fee.minor,
                    vat_on_fees_minor=line.vat_on_fees.minor,
                    net_minor=line.net.minor,
                    currency=line.currency,
                    variance_minor=0,
                    status="unmatched",
                )
            )
        s.flush()
        record(s, clock, actor, "payout.received", "payout", row.id, None, snapshot(row))
        if flags:
            open_task(
                s,
                clock,
                actor,
                kind="payout_variance",
                title=f"{p.source} payout {p.payout_ref} does not add up",
                detail="\n".join(flags),
                recommended_fix="Ask the marketplace for a corrected statement; the journal is held until then.",
                owner_role="finance",
                priority=TaskPriority.HIGH,
                entity_type="payout",
                entity_id=row.id,
                dedupe_key=f"payout-total:{row.id}",
            )
        ids.append(row.id)
        all_flags.extend(flags)
    return ids, all_flags


def clinic_for(session: Session, payout: Payout) -> Clinic | None:
    """The clinic whose sales the payout settles (most booking ids, then patient refs); else the first."""
    bookings = [line.booking_id for line in payout.lines if line.booking_id]
    votes: Counter[int] = Counter()
    if bookings:
        votes.update(
            session.scalars(
                select(Payment.clinic_id).where(Payment.provider == payout.source, Payment.provider_ref.in_(bookings))
            )
        )
    if not votes:
        refs = [line.patient_ref for line in payout.lines if line.patient_ref]
        if refs:
            votes.update(session.scalars(select(Patient.clinic_id).where(Patient.ref.in_(refs))))
    if votes:
        best = min(votes, key=lambda cid: (-votes[cid], cid))
        return session.get(Clinic, best)
    return session.scalar(select(Clinic).order_by(Clinic.id).limit(1))


def clinic_metadata(clinic: Clinic | None) -> dict[str, str]:
    if clinic is None:
        return {}
    return {"clinic_id": str(clinic.id), "name": clinic.name, "currency": clinic.currency, "timezone": clinic.timezone}


def parquet_bytes(session: Session, payouts: Sequence[Payout]) -> bytes:
    """``payouts-normalised.parquet`` for ``payouts``, with the clinic of the first payout in its footer."""
    meta = clinic_metadata(clinic_for(session, payouts[0])) if payouts else {}
    with tempfile.TemporaryDirectory() as folder:
        return to_parquet(payouts, Path(folder), meta).read_bytes()


def stored_raw(session: Session, store: ArtefactStore, file: ImportedFile) -> tuple[bytes, ColumnMapping | None]:
    """A stored settlement's raw bytes and the column mapping it was read with (for replay)."""
    source = file.source
    data = artefact_bytes(session, store, "imported_file", file.id, RAW_NAMES[source])
    if data is None:
        data = store.get(file.sha256)
    saved = artefact_bytes(session, store, "imported_file", file.id, MAPPING_NAME)
    return data, None if saved is None else ColumnMapping.from_json(saved.decode("utf-8"))
