"""``cash-application.csv`` of a stored remittance, built when it is asked for.

One row per posting (a line with no posting: one row), lines in file order, then the
provider-level adjustments; the columns of :data:`app.ledger.cash_application.CASH_APPLICATION_HEADER`.
Built from what the lines record (claim, rule, score, outcome, explanation) and every posting of
the remittance (:func:`app.remittance.postings.remittance_postings`), so it reflects the remittance
as it stands: a line matched by a re-run shows its claim, after the unapplied posting of the first run.

Remittances applied before lines recorded their outcome kept their files at import (one per
run): those are returned as kept, followed by the rows of lines applied since.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.claims.artefacts import ArtefactStore
from app.db.models import Artefact, Remittance
from app.domain.status import RemittanceStatus
from app.errors import DomainError, NotFound
from app.ledger.cash_application import CASH_APPLICATION_HEADER
from app.ledger.csv_text import write_csv
from app.ledger.postings import Outcome
from app.money import exponent
from app.remittance.entries import posting_order
from app.remittance.fastpath import decimal_text
from app.remittance.postings import PostingRecord, StoredLine, remittance_postings, stored_lines

_FLAGGED = {str(o) for o in (Outcome.UNDERPAYMENT, Outcome.OVERPAYMENT, Outcome.DENIAL)}
_NOTHING_APPLIED = (RemittanceStatus.RECEIVED, RemittanceStatus.FLAGGED)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _kept(session: Session, store: ArtefactStore, remittance_id: int) -> list[bytes]:
    """The files an older version kept at each run (first run, then re-runs), if any."""
    q = (
        select(Artefact.sha256)
        .where(Artefact.owner_type == "remittance", Artefact.owner_id == remittance_id)
        .where(Artefact.name.like("cash-application%.csv"))
        .order_by(Artefact.id)
    )
    return [store.get(sha) for sha in session.scalars(q)]


def _line_rows(
    n: int, line: StoredLine, own: Sequence[PostingRecord], currency: str, places: int
) -> list[tuple[str, ...]]:
    r = line.row
    ledger = r.posting_prefix.partition(":")[0]
    payer_ref = r.payer_claim_ref or ""
    if r.applied:
        why = r.explanation
        head = (ledger, str(n + 1), payer_ref, r.number or "", r.rule, str(r.score), r.outcome)
        if not own:
            return [(*head, "", "", "0.00", currency, "no", _yes(r.outcome in _FLAGGED), why)]
        rows: list[tuple[str, ...]] = []
        for p in own:
            memo = f"{why}; {p.memo}" if p.memo and why else p.memo or why
            amount = decimal_text(p.amount_minor, places)
            flags = (_yes(p.needs_approval), _yes(p.needs_review), memo)
            rows.append((*head, p.posting_key, p.kind, amount, currency, *flags))
        return rows
    head = (ledger, str(n + 1), payer_ref, r.claim_ref or "", "", "", str(Outcome.UNMATCHED))
    if not own:
        return [(*head, "", "", "0.00", currency, "no", "yes", r.explanation)]
    return [
        (*head, p.posting_key, p.kind, decimal_text(p.amount_minor, places), currency, "no", "yes", r.explanation)
        for p in own
    ]


def cash_application_csv(session: Session, store: ArtefactStore, remittance_id: int) -> bytes:
    """The cash-application.csv of a remittance. Raises NotFound for an unknown id, DomainError
    when nothing of it has been applied (received, or flagged as unbalanced and not accepted)."""
    rem = session.get(Remittance, remittance_id)
    if rem is None:
        raise NotFound(f"Remittance {remittance_id} does not exist.")
    kept = _kept(session, store, remittance_id)
    if rem.status in _NOTHING_APPLIED and not kept:
        raise DomainError(
            f"Remittance {rem.trace_number} is {rem.status.value}: nothing of it has been applied yet, so there is "
            "no cash application to export. Re-run matching (accepting the difference if it does not balance) first."
        )
    cur, places = rem.currency, exponent(rem.currency)
    lines = stored_lines(session, remittance_id)
    by_line: dict[int, list[PostingRecord]] = {}
    provider: list[PostingRecord] = []
    for p in remittance_postings(session, remittance_id, lines):
        parts = p.posting_key.split(":")
        if len(parts) == 3 and parts[1].isdigit():
            by_line.setdefault(int(parts[1]), []).append(p)
        else:
            provider.append(p)
    rows: list[tuple[str, ...]] = []
    for n, line in enumerate(lines):
        own = sorted(by_line.get(n, []), key=lambda p: posting_order(p.posting_key))
        if kept:  # the kept files have every earlier run: only what was applied since
            prefix = line.row.posting_prefix
            if not prefix:
                continue
            own = [p for p in own if p.posting_key.startswith(f"{prefix}:")]
        rows += _line_rows(n, line, own, cur, places)
    if not kept:
        for p in sorted(provider, key=lambda p: posting_order(p.posting_key)):
            ledger = p.posting_key.partition(":")[0]
            amount = decimal_text(p.amount_minor, places)
            plb = (ledger, "", "", "", "", "", "provider adjustment", p.posting_key, p.kind, amount, cur)
            rows.append((*plb, "no", _yes(p.needs_review), p.memo))
        return write_csv(CASH_APPLICATION_HEADER, rows)
    later = [k.split(b"\r\n", 1)[1] for k in kept[1:]]
    if rows:
        later.append(write_csv(CASH_APPLICATION_HEADER, rows).split(b"\r\n", 1)[1])
    return kept[0] + b"".join(later)
