"""Remittances the claims runbook collected (SFTP/portal/clearinghouse inbound) and left for us.

The claims runbook registers inbound remittance files in ``imported_file`` (kinds ``insurer_xml`` and
``x12_835``, status ``received``) without applying them. :func:`collect_pending` stores and applies
each, one unit of work per file; a file that cannot be read is quarantined with the reason.
Nothing here is polled from a provider, so ``POLLS`` is empty; run :func:`collect_pending` as a job.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from app.archive import quarantine
from app.audit import SYSTEM
from app.claims.artefacts import ArtefactStore
from app.context import AppContext
from app.db.models import ImportedFile
from app.errors import ClinicBillingError
from app.remittance.ingest import process_file

POLLS: dict[str, Callable[[AppContext], str]] = {}
PENDING_KINDS = ("insurer_xml", "x12_835")


def collect_pending(ctx: AppContext) -> str:
    """Apply every remittance file registered by the claims runbook but not applied yet."""
    store = ArtefactStore(ctx.paths.archive)
    with ctx.db.read() as s:
        pending = list(
            s.execute(
                select(
                    ImportedFile.id, ImportedFile.sha256, ImportedFile.filename, ImportedFile.kind, ImportedFile.source
                )
                .where(ImportedFile.kind.in_(PENDING_KINDS), ImportedFile.status == "received")
                .order_by(ImportedFile.id)
            )
        )
    done, failed = 0, []
    for file_id, sha, name, kind, source in pending:
        data = store.get(sha)
        try:
            with ctx.db.unit_of_work() as s:
                row = s.get(ImportedFile, file_id)
                if row is None or row.status != "received":
                    continue  # another desk took it
                process_file(s, ctx, SYSTEM, row, data, payer_code=source or None)
            done += 1
        except ClinicBillingError as exc:
            with ctx.db.unit_of_work() as s:
                quarantine(
                    s, ctx.clock, SYSTEM, store, kind=kind, source=source, filename=name, data=data, reason=str(exc)
                )
            failed.append(f"{name}: {exc}")
    return f"{done} remittance file(s) applied" + (f"; quarantined: {'; '.join(failed)}" if failed else "")
