"""``cash-application.csv`` of a stored remittance, built when it is asked for.

One row per posting (a line with no posting: one row), lines in file order, then the
provider-level adjustments; the columns of :data:`app.ledger.cash_application.CASH_APPLICATION_HEADER`.
Built from what the lines record (claim, rule, score, outcome, explanation) and every posting of
the remittance (:mod:`app.remittance.postings`), so it reflects the remittance as it stands: a
line matched by a re-run shows its claim, with the unapplied posting of the first run before it.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import LedgerPosting, Remittance
from app.errors import NotFound
from app.ledger.cash_application import CASH_APPLICATION_HEADER
from app.ledger.csv_text import write_csv
from app.ledger.postings import Outcome
from app.money import exponent
from app.remittance.entries import posting_order
from app.remittance.fastpath import decimal_text
from app.remittance.postings import line_entries, stored_lines

_FLAGGED = {str(o) for o in (Outcome.UNDERPAYMENT, Outcome.OVERPAYMENT, Outcome.DENIAL)}
# one posting as the file shows it: (key, kind, amount, needs approval, needs review, memo)
_Row = tuple[str, str, int, bool, bool, str]


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def cash_application_csv(session: Session, remittance_id: int) -> bytes:
    """The cash-application.csv of a remittance (raises NotFound for an unknown id)."""
    rem = session.get(Remittance, remittance_id)
    if rem is None:
        raise NotFound(f"Remittance {remittance_id} does not exist.")
    cur, places = rem.currency, exponent(rem.currency)
    q = select(
        LedgerPosting.posting_key,
        LedgerPosting.kind,
        LedgerPosting.amount_minor,
        LedgerPosting.needs_approval,
        LedgerPosting.needs_review,
        LedgerPosting.memo,
    )
    q = q.where(LedgerPosting.source_kind == "remittance", LedgerPosting.source_id == remittance_id)
    stored: list[_Row] = [tuple(r) for r in session.execute(q.order_by(LedgerPosting.id))]  # type: ignore[misc]
    keys = {p[0] for p in stored}
    by_line: dict[int, list[_Row]] = {}
    provider: list[_Row] = []
    for p in stored:
        parts = p[0].split(":")
        if len(parts) == 3 and parts[1].isdigit():
            by_line.setdefault(int(parts[1]), []).append(p)
        else:
            provider.append(p)
    rows: list[tuple[str, ...]] = []
    for n, line in enumerate(stored_lines(session, remittance_id)):
        r = line.row
        ledger = r.posting_prefix.partition(":")[0]
        own = by_line.get(n, [])
        own += [(e.posting_id, str(e.kind), e.amount, False, False, e.memo) for e in line_entries(line, keys)]
        own.sort(key=lambda p: posting_order(p[0]))
        payer_ref = r.payer_claim_ref or ""
        if r.applied:
            why = r.explanation or (r.match_rule if not r.outcome else "")  # lines applied before outcomes were kept
            head = (ledger, str(n + 1), payer_ref, r.number or "", r.rule, str(r.score), r.outcome)
            if not own:
                rows.append((*head, "", "", "0.00", cur, "no", _yes(r.outcome in _FLAGGED), why))
            for key, kind, amount, approval, review, memo in own:
                text = f"{why}; {memo}" if memo and why else memo or why
                rows.append((*head, key, kind, decimal_text(amount, places), cur, _yes(approval), _yes(review), text))
            continue
        head = (ledger, str(n + 1), payer_ref, r.claim_ref or "", "", "", str(Outcome.UNMATCHED))
        if not own:
            rows.append((*head, "", "", "0.00", cur, "no", "yes", r.explanation))
        for key, kind, amount, _, _, _ in own:
            rows.append((*head, key, kind, decimal_text(amount, places), cur, "no", "yes", r.explanation))
    for key, kind, amount, _, review, memo in sorted(provider, key=lambda p: posting_order(p[0])):
        ledger = key.partition(":")[0]
        plb = (ledger, "", "", "", "", "", "provider adjustment", key, kind, decimal_text(amount, places), cur)
        rows.append((*plb, "no", _yes(review), memo))
    return write_csv(CASH_APPLICATION_HEADER, rows)
