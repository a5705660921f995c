"""What applying one stored remittance produced, in minor units: the lines' results and the journal.

The same journal as :func:`~app.ledger.journal_builders.journal_for_application` of the
engine's :class:`~app.ledger.postings.ApplicationResult`, built from the fast path's records and
posting sums, so a 100,000-line remittance never becomes 300,000 postings, let alone Money objects.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from app.ledger.chart import AccountMap
from app.ledger.journal_builders import journal_for_application
from app.ledger.journals import JournalEntry, JournalLine
from app.ledger.postings import ApplicationResult, Posting, PostingKind
from app.money import Money
from app.remittance.entries import Entry, PostingSums, derived_entries, posting_order
from app.remittance.fastpath import Applied, Unapplied

DETAIL_LINES = 40  # journals with more lines are summarised per account
_AFTER_LINES = 1 << 62  # provider-level postings come after every line's
_UNAPPLIED_KINDS = (PostingKind.UNAPPLIED, PostingKind.OVERPAYMENT)


@dataclass(frozen=True, slots=True)
class Results:
    """Lines in file order (applied or not), the provider-level postings, and every posting merged
    by kind, held, reason and party (:class:`~app.remittance.entries.PostingSums`) in order."""

    remittance_id: str
    payer_code: str
    paid_on: date
    currency: str
    lines: tuple[Applied | Unapplied, ...]
    provider: tuple[Entry, ...]
    sums: tuple[tuple[tuple[str, bool, str, str], int, int], ...]  # (key, count, total)

    @classmethod
    def of(
        cls,
        remittance_id: str,
        payer_code: str,
        paid_on: date,
        currency: str,
        lines: tuple[Applied | Unapplied, ...],
        provider: tuple[Entry, ...],
        *line_sums: PostingSums,
    ) -> Results:
        """``line_sums``: the sums of the postings of ``lines`` (the matcher's), in posting order."""
        last = PostingSums()
        for n, p in enumerate(provider):
            last.add_entry(p, _AFTER_LINES + n)
        merged = tuple(PostingSums.merged(*line_sums, last))
        return cls(remittance_id, payer_code, paid_on, currency, lines, provider, merged)

    @property
    def unapplied_minor(self) -> int:
        """Cash not applied to any claim balance (unmatched lines and overpayments; never routine)."""
        return sum(p.amount for r in self.lines for p in r.postings if p.kind in _UNAPPLIED_KINDS)

    def detailed(self) -> list[Entry]:
        """Every posting, in line order then the provider-level ones (routine ones rebuilt)."""
        out: list[Entry] = []
        for r in self.lines:
            if isinstance(r, Applied) and r.routine:
                prefix = f"{self.remittance_id}:{r.line.position}"
                stored = {p.posting_id for p in r.postings}
                routine = derived_entries(r.line.adjustments, prefix, r.claim_id, r.patient_ref, r.cash, stored)
                out += sorted((*r.postings, *routine), key=lambda p: posting_order(p.posting_id))
            else:
                out += r.postings
        return out + list(self.provider)

    def journal(self, accounts: AccountMap) -> JournalEntry | None:
        """The remittance's journal; a big one is built from postings merged by kind (same totals per account)."""
        cur = self.currency
        if sum(count for _, count, _ in self.sums) <= DETAIL_LINES:
            postings = tuple(p.posting(cur) for p in self.detailed())
            return journal_for_application(self._result(postings), accounts)
        summary = tuple(
            Posting(
                f"{self.remittance_id}:sum{n}",
                PostingKind(kind),
                Money(total, cur),
                None,
                party or None,
                reason,
                f"{count} {kind} posting(s)",
                needs_approval=held,
            )
            for n, ((kind, held, reason, party), count, total) in enumerate(self.sums, start=1)
        )
        return _summarised(journal_for_application(self._result(summary), accounts))

    def _result(self, postings: tuple[Posting, ...]) -> ApplicationResult:
        return ApplicationResult(self.remittance_id, self.payer_code, self.paid_on, self.currency, (), (), postings, ())


def _summarised(entry: JournalEntry | None) -> JournalEntry | None:
    """A big remittance's journal nets to one line per account and party (detail: cash-application.csv)."""
    if entry is None or len(entry.lines) <= DETAIL_LINES:
        return entry
    net: dict[tuple[str, str], list[int]] = {}
    for ln in entry.lines:
        slot = net.setdefault((ln.account, ln.party), [0, 0])
        slot[0] += ln.signed.minor
        slot[1] += 1
    cur, zero = entry.currency, Money.zero(entry.currency)
    lines = []
    for (account, party), (amount, count) in net.items():
        memo = f"{count} posting(s) of {entry.source_id}; detail in its cash-application.csv"
        if amount:
            debit, credit = (Money(amount, cur), zero) if amount > 0 else (zero, Money(-amount, cur))
            lines.append(JournalLine(account, debit, credit, memo, party))
    return replace(entry, lines=tuple(lines))
