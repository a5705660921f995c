"""Historical replay: re-run the reconciliation of any past period from the stored raw files.

Every ClassPass/Treatwell file kept in the archive is read again (with the column mapping it was
imported with), the payouts paid in the period are matched against the sales ledger exactly as the
live run does, and the reports are rebuilt. Nothing is written: the same inputs give the same
result byte for byte, and nothing can be posted twice. ``differences`` lists stored line results
that the replay does not reproduce (e.g. the sales ledger changed since).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from app.claims.artefacts import ArtefactStore
from app.context import AppContext
from app.db.models import ImportedFile, Payout, PayoutLine
from app.domain.status import PayoutStatus
from app.errors import ValidationFailed
from app.payouts.ledger_match import line_id, match, report_bytes
from app.payouts.normalise import Payout as NormalisedPayout
from app.payouts.service import FILE_KINDS, normalise, stored_raw

_STORED = {"matched": "matched", "variance": "variance", "resolved": "variance", "unmatched": "unmatched"}


@dataclass(frozen=True, slots=True)
class ReplayResult:
    date_from: date
    date_to: date
    files: int
    payouts: tuple[str, ...]
    matched: int
    variance: int
    unmatched: int
    sales_without_payout_line: int
    matched_ledger_csv: bytes
    variance_report_json: bytes
    differences: tuple[str, ...]


def replay_period(ctx: AppContext, date_from: date, date_to: date) -> ReplayResult:
    if date_to < date_from:
        raise ValidationFailed("The replay period is empty", [f"{date_to} is before {date_from}"])
    store = ArtefactStore(ctx.paths.archive)
    with ctx.db.read() as s:
        files = list(
            s.scalars(
                select(ImportedFile)
                .where(ImportedFile.kind.in_(FILE_KINDS.values()), ImportedFile.status != "quarantined")
                .order_by(ImportedFile.id)
            )
        )
        payouts: dict[tuple[str, str], NormalisedPayout] = {}
        for f in files:
            data, mapping = stored_raw(s, store, f)
            for p in normalise(f.source, data, f.filename, mapping):
                if date_from <= p.payout_date <= date_to:
                    payouts.setdefault((p.source, p.payout_ref), p)  # the first file wins, as on import
        chosen = sorted(payouts.values(), key=lambda p: (p.payout_date, p.source, p.payout_ref))
        result = match(s, chosen)
        csv_bytes, report = report_bytes(s, result, chosen)
        replayed = {r["line_id"]: "matched" for r in result.matched.iter_rows(named=True)}
        replayed |= {r["line_id"]: "variance" for r in result.variances.iter_rows(named=True)}
        replayed |= {r["line_id"]: "unmatched" for r in result.unmatched_lines.iter_rows(named=True)}
        differences = []
        for p in chosen:
            row = s.scalar(select(Payout).where(Payout.source == p.source, Payout.provider_ref == p.payout_ref))
            if row is None:
                differences.append(f"{p.source} payout {p.payout_ref} is in the archive but not in the database")
                continue
            if row.status is PayoutStatus.RECEIVED:  # not reconciled yet: nothing stored to compare
                continue
            lines = s.scalars(select(PayoutLine).where(PayoutLine.payout_id == row.id).order_by(PayoutLine.id))
            for n, ln in enumerate(lines, start=1):
                key = line_id(p.source, p.payout_ref, n)
                stored = _STORED.get(ln.status)
                if stored is not None and replayed.get(key) != stored:
                    differences.append(f"{key}: stored {ln.status}, replay says {replayed.get(key, 'nothing')}")
        return ReplayResult(
            date_from,
            date_to,
            len(files),
            tuple(f"{p.source}:{p.payout_ref}" for p in chosen),
            result.matched.height,
            result.variances.height,
            result.unmatched_lines.height,
            result.unmatched_sales.height,
            csv_bytes,
            report,
            tuple(differences),
        )
