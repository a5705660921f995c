"""What applying one stored remittance produced, in minor units: postings, cash-application.csv, journal.

The same outputs as :class:`~app.ledger.postings.ApplicationResult` with
:func:`~app.ledger.cash_application.cash_application_csv` and
:func:`~app.ledger.journal_builders.journal_for_application`, built from the fast path's
records so a 100,000-line remittance never becomes 500,000 Money objects.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from app.ledger.cash_application import CASH_APPLICATION_HEADER
from app.ledger.chart import AccountMap
from app.ledger.csv_text import write_csv
from app.ledger.journal_builders import journal_for_application
from app.ledger.journals import JournalEntry, JournalLine
from app.ledger.postings import ApplicationResult, Outcome, Posting, PostingKind
from app.money import Money, exponent
from app.remittance.fastpath import Applied, Entry, Unapplied, decimal_text

DETAIL_LINES = 40  # journals with more lines are summarised per account
_UNAPPLIED_KINDS = (PostingKind.UNAPPLIED, PostingKind.OVERPAYMENT)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


@dataclass(frozen=True, slots=True)
class Results:
    """Lines in file order (applied or not), the provider-level postings, and every posting
    (in line order, then the provider-level ones)."""

    remittance_id: str
    payer_code: str
    paid_on: date
    currency: str
    lines: tuple[Applied | Unapplied, ...]
    provider: tuple[Entry, ...]
    postings: tuple[Entry, ...]

    @classmethod
    def of(
        cls,
        remittance_id: str,
        payer_code: str,
        paid_on: date,
        currency: str,
        lines: tuple[Applied | Unapplied, ...],
        provider: tuple[Entry, ...],
    ) -> Results:
        postings = (*(p for r in lines for p in r.postings), *provider)
        return cls(remittance_id, payer_code, paid_on, currency, lines, provider, postings)

    @property
    def unapplied_minor(self) -> int:
        """Cash not applied to any claim balance (unmatched lines and overpayments)."""
        return sum(p.amount for p in self.postings if p.kind in _UNAPPLIED_KINDS)

    def cash_application_csv(self) -> bytes:
        """``cash-application.csv``: one row per posting (a line with no money: one row)."""
        rid, cur, places = self.remittance_id, self.currency, exponent(self.currency)
        rows: list[tuple[str, ...]] = []
        for r in self.lines:
            number = str(r.line.position + 1)
            payer_ref = r.line.payer_claim_id or ""
            if isinstance(r, Applied):
                why = "; ".join(r.explanation)
                head = (rid, number, payer_ref, r.claim_id, str(r.rule), str(r.score), str(r.outcome))
                if not r.postings:
                    rows.append((*head, "", "", "0.00", cur, "no", _yes(r.needs_review), why))
                for p in r.postings:
                    memo = f"{why}; {p.memo}" if p.memo and r.explanation else p.memo or why
                    flags = (_yes(p.needs_approval), _yes(p.needs_review), memo)
                    rows.append((*head, p.posting_id, str(p.kind), decimal_text(p.amount, places), cur, *flags))
                continue
            ranked = ", ".join(f"{c.claim_id} ({c.score}, {c.rule.value})" for c in r.detail.candidates)
            why = r.detail.reason + (f"; candidates: {ranked}" if ranked else "")
            head = (rid, number, payer_ref, r.line.claim_id or "", "", "", Outcome.UNMATCHED.value)
            if not r.postings:
                rows.append((*head, "", "", "0.00", cur, "no", "yes", why))
            for p in r.postings:
                rows.append((*head, p.posting_id, p.kind.value, decimal_text(p.amount, places), cur, "no", "yes", why))
        for p in self.provider:
            amount = decimal_text(p.amount, places)
            plb = (rid, "", "", "", "", "", "provider adjustment", p.posting_id, p.kind.value, amount, cur)
            rows.append((*plb, "no", _yes(p.needs_review), p.memo))
        return write_csv(CASH_APPLICATION_HEADER, rows)

    def journal(self, accounts: AccountMap) -> JournalEntry | None:
        """The remittance's journal; a big one is built from postings merged by kind (same totals per account)."""
        postings = self.postings
        cur = self.currency
        if len(postings) <= DETAIL_LINES:
            return journal_for_application(self._result(tuple(p.posting(cur) for p in postings)), accounts)
        merged: dict[tuple[str, bool, str, str], list[int]] = {}  # kind as text: enum hashing is slow
        for p in postings:
            reason = p.reason_code if p.kind is PostingKind.PROVIDER_ADJUSTMENT else ""
            party = (p.patient_ref or "") if p.kind is PostingKind.PATIENT_RESPONSIBILITY else ""
            merged.setdefault((str(p.kind), p.held, reason, party), []).append(p.amount)
        summary = tuple(
            Posting(
                f"{self.remittance_id}:sum{n}",
                PostingKind(kind),
                Money(sum(amounts), cur),
                None,
                party or None,
                reason,
                f"{len(amounts)} {kind} posting(s)",
                needs_approval=held,
            )
            for n, ((kind, held, reason, party), amounts) in enumerate(merged.items(), start=1)
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
