"""Keeping files: artefacts attached to records, and the registry of every file that came in.

Both store the bytes once in the content-addressed archive (``AppPaths.archive``) and a row in
the database; the row is written in the caller's transaction so a failure leaves nothing half-done
(an archived blob without a row is harmless: the same bytes map to the same name).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import Actor, record
from app.claims.artefacts import ArtefactStore, sha256_hex
from app.clock import Clock
from app.db.models import Artefact, ImportedFile
from app.errors import DomainError, ParseError, ValidationFailed

if TYPE_CHECKING:
    from app.context import AppContext


def keep_artefact(
    session: Session,
    clock: Clock,
    store: ArtefactStore,
    owner_type: str,
    owner_id: int,
    name: str,
    data: bytes,
    *,
    replace: bool = True,
) -> Artefact:
    """Attach ``data`` to a record under ``name``. ``replace=False`` makes the artefact immutable:
    writing different bytes under the same name is refused (e.g. a submitted claim pack)."""
    sha = store.put(data)
    existing = session.scalar(
        select(Artefact).where(Artefact.owner_type == owner_type, Artefact.owner_id == owner_id, Artefact.name == name)
    )
    if existing is not None:
        if existing.sha256 == sha:
            return existing
        if not replace:
            raise DomainError(f"{name} of {owner_type} {owner_id} is frozen and cannot be changed.")
        existing.sha256, existing.size, existing.created_at = sha, len(data), clock.now()
        return existing
    artefact = Artefact(
        owner_type=owner_type, owner_id=owner_id, name=name, sha256=sha, size=len(data), created_at=clock.now()
    )
    session.add(artefact)
    session.flush()
    return artefact


def artefact_bytes(session: Session, store: ArtefactStore, owner_type: str, owner_id: int, name: str) -> bytes | None:
    row = session.scalar(
        select(Artefact).where(Artefact.owner_type == owner_type, Artefact.owner_id == owner_id, Artefact.name == name)
    )
    return None if row is None else store.get(row.sha256)


def _incoming(session: Session, kind: str, sha: str) -> ImportedFile | None:
    return session.scalar(select(ImportedFile).where(ImportedFile.kind == kind, ImportedFile.sha256 == sha))


@dataclass(frozen=True, slots=True)
class Registered:
    file: ImportedFile
    duplicate: bool  # the same bytes of this kind came in before: nothing should change


def register_incoming(
    session: Session,
    clock: Clock,
    actor: Actor,
    store: ArtefactStore,
    *,
    kind: str,
    source: str,
    filename: str,
    data: bytes,
) -> Registered:
    """Archive an incoming file raw and record it; the same bytes twice are recognised."""
    sha = sha256_hex(data)
    existing = _incoming(session, kind, sha)
    if existing is not None:
        return Registered(existing, True)
    store.put(data)
    row = ImportedFile(
        kind=kind,
        source=source,
        filename=filename,
        sha256=sha,
        size=len(data),
        status="processed",
        message="",
        received_at=clock.now(),
    )
    session.add(row)
    session.flush()
    record(session, clock, actor, "file.received", "imported_file", row.id, None, {"kind": kind, "file": filename})
    return Registered(row, False)


def quarantine(
    session: Session,
    clock: Clock,
    actor: Actor,
    store: ArtefactStore,
    *,
    kind: str,
    source: str,
    filename: str,
    data: bytes,
    reason: str,
) -> ImportedFile:
    """Keep a file that could not be read, with the reason; nothing else is stored from it.
    Call this in a FRESH unit of work after the failed one rolled back."""
    sha = sha256_hex(data)
    row = _incoming(session, kind, sha)
    store.put(data)
    if row is None:
        row = ImportedFile(
            kind=kind, source=source, filename=filename, sha256=sha, size=len(data), received_at=clock.now()
        )
        session.add(row)
    row.status, row.message = "quarantined", reason[:2000]
    session.flush()
    record(session, clock, actor, "file.quarantined", "imported_file", row.id, None, {"file": filename, "why": reason})
    return row


@contextmanager
def quarantined_on_failure(
    ctx: AppContext, actor: Actor, *, kind: str, source: str, filename: str, data: bytes
) -> Iterator[None]:
    """Run an import; a file it cannot read (ParseError, ValidationFailed) is quarantined with
    the reason in a fresh unit of work, after the import's own one rolled back, and the error
    goes on to the caller."""
    try:
        yield
    except (ParseError, ValidationFailed) as exc:
        store = ArtefactStore(ctx.paths.archive)
        with ctx.db.unit_of_work() as s:
            quarantine(
                s, ctx.clock, actor, store, kind=kind, source=source, filename=filename, data=data, reason=str(exc)
            )
        raise
