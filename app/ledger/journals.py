"""Double-entry journal entries that refuse to be unbalanced, and idempotent posting.

An entry's id is derived from (source kind, source id, purpose), so building the same journal
twice gives the same id and :func:`post` books it once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from app.errors import DomainError
from app.money import Money, total


def make_entry_id(source_kind: str, source_id: str, purpose: str) -> str:
    """Deterministic short id ("JE-" + 16 hex, 19 characters: fits QBO's Journal No)."""
    digest = hashlib.sha256(f"{source_kind}\x1f{source_id}\x1f{purpose}".encode()).hexdigest()
    return f"JE-{digest[:16].upper()}"


@dataclass(frozen=True, slots=True)
class JournalLine:
    """One side of an entry: exactly one of ``debit``/``credit`` is non-zero, neither negative.

    ``party`` names the customer (payer or patient) for receivable lines; accounting imports
    such as QBO need it on A/R lines.
    """

    account: str
    debit: Money
    credit: Money
    memo: str = ""
    party: str = ""

    def __post_init__(self) -> None:
        if self.debit.currency != self.credit.currency:
            raise DomainError(f"Journal line on {self.account} mixes {self.debit.currency} and {self.credit.currency}.")
        if self.debit.minor < 0 or self.credit.minor < 0:
            raise DomainError(f"Journal line on {self.account} has a negative debit or credit.")
        if (self.debit.minor == 0) == (self.credit.minor == 0):
            raise DomainError(f"Journal line on {self.account} must have either a debit or a credit.")

    @property
    def currency(self) -> str:
        return self.debit.currency

    @property
    def signed(self) -> Money:
        """Debit positive, credit negative."""
        return self.debit - self.credit


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """A balanced entry in one currency. The constructor refuses anything else."""

    entry_id: str
    date: date
    description: str
    source_kind: str
    source_id: str
    lines: tuple[JournalLine, ...]

    def __post_init__(self) -> None:
        if len(self.lines) < 2:
            raise DomainError(f"Journal entry {self.entry_id} needs at least two lines.")
        currencies = sorted({line.currency for line in self.lines})
        if len(currencies) > 1:
            raise DomainError(f"Journal entry {self.entry_id} mixes currencies: {', '.join(currencies)}.")
        debits, credits = self.total_debits, self.total_credits
        if debits != credits:
            raise DomainError(f"Journal entry {self.entry_id} does not balance: debits {debits}, credits {credits}.")

    @property
    def currency(self) -> str:
        return self.lines[0].currency

    @property
    def total_debits(self) -> Money:
        return total([line.debit for line in self.lines])

    @property
    def total_credits(self) -> Money:
        return total([line.credit for line in self.lines])


class EntryBuilder:
    """Collects signed amounts (debit positive) and builds a balanced :class:`JournalEntry`."""

    def __init__(self, currency: str) -> None:
        self.currency = currency
        self._lines: list[JournalLine] = []

    def add(self, account: str, amount: Money, memo: str = "", party: str = "") -> None:
        """Debit ``amount`` to ``account`` (a negative amount is a credit); zero is skipped."""
        if amount.currency != self.currency:
            raise DomainError(f"An amount in {amount.currency} cannot go on a {self.currency} journal.")
        zero = Money.zero(self.currency)
        if amount.minor > 0:
            self._lines.append(JournalLine(account, amount, zero, memo, party))
        elif amount.minor < 0:
            self._lines.append(JournalLine(account, zero, -amount, memo, party))

    def move(self, debit_account: str, credit_account: str, amount: Money, memo: str = "", party: str = "") -> None:
        """Debit one account and credit another with the same (signed) amount."""
        self.add(debit_account, amount, memo, party)
        self.add(credit_account, -amount, memo, party)

    def build(
        self, when: date, description: str, source_kind: str, source_id: str, purpose: str
    ) -> JournalEntry | None:
        """The entry, or None when every amount was zero."""
        if not self._lines:
            return None
        entry_id = make_entry_id(source_kind, source_id, purpose)
        return JournalEntry(entry_id, when, description, source_kind, source_id, tuple(self._lines))


def post(entries: Iterable[JournalEntry], already_posted_ids: Iterable[str]) -> tuple[JournalEntry, ...]:
    """The entries not yet posted, each once. Re-running with the same input posts nothing twice.

    Two different entries with the same id are a bug in the caller and are refused.
    """
    seen = set(already_posted_ids)
    fresh: dict[str, JournalEntry] = {}
    for entry in entries:
        if entry.entry_id in fresh:
            if fresh[entry.entry_id] != entry:
                raise DomainError(f"Two different journal entries share the id {entry.entry_id}.")
            continue
        if entry.entry_id not in seen:
            fresh[entry.entry_id] = entry
    return tuple(fresh.values())
