"""Candidate claims from the database, and cash application line by line against them.

Only the claims a line could belong to (same claim number, payer claim ref or patient) are
loaded, in chunks, so a 100,000-claim remittance never compares every line with every claim.
:class:`Matcher` sends one line through :func:`app.ledger.cash_application.apply_remittance`
with its own candidates and the running balance of each claim (posting ids are
``<remittance>:<line>:<n>``); :mod:`app.remittance.fastpath` uses it for the lines its integer
fast path does not handle, sharing the same running balances.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple, Protocol

from sqlalchemy import Date
from sqlalchemy.orm import Session

from app.db.models import Claim
from app.db.models import RemittanceLine as StoredLine
from app.domain.status import ClaimStatus
from app.ledger.cash_application import apply_remittance
from app.ledger.postings import LineApplication, Posting, PostingKind, UnmatchedLine
from app.ledger.remittance import (
    AdjustmentGroup,
    OpenClaim,
    ProviderAdjustment,
    Remittance,
    RemittanceLine,
    ToleranceRule,
)
from app.money import Money
from app.remittance.bulk import bind_value, select_in
from app.remittance.entries import WRITTEN_OFF_KINDS

CHUNK = 2000
RECENT_DAYS = 540  # paid claims this recent are still candidates, so reversals find theirs
OPEN_STATUSES = (
    ClaimStatus.SUBMITTED,
    ClaimStatus.ACKNOWLEDGED,
    ClaimStatus.PARTLY_PAID,
    ClaimStatus.DENIED,
    ClaimStatus.PAID,
)
_MOVES_CASH = (PostingKind.APPLIED_PAYMENT, PostingKind.REVERSAL)


class ClaimRow(NamedTuple):
    """A candidate claim as read (balances before this remittance)."""

    id: int
    number: str
    insurer_ref: str
    patient_id: int
    patient_ref: str
    payer_code: str
    service_date: date
    total: int
    paid: int
    patient_resp: int
    written_off: int
    status: ClaimStatus
    encounter_id: int | None
    currency: str


class LineKeys(Protocol):
    """What a line is looked up by (a ledger RemittanceLine or a fast-path line)."""

    @property
    def claim_id(self) -> str | None: ...

    @property
    def payer_claim_id(self) -> str | None: ...

    @property
    def patient_ref(self) -> str | None: ...


def _chunks(values: Iterable[str]) -> Iterable[list[str]]:
    items = sorted({v for v in values if v})
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


_CANDIDATES = (
    "SELECT c.id, c.number, c.insurer_ref, c.patient_id, p.ref, y.code, c.service_date, c.total_minor, "
    "c.paid_minor, c.patient_resp_minor, c.status, c.encounter_id, c.currency "
    "FROM claim c JOIN patient p ON p.id = c.patient_id JOIN payer y ON y.id = c.payer_id "
    # adjudicated_at is not indexed: filtered beside the lookup, not used for it
    "WHERE (c.adjudicated_at IS NULL OR c.adjudicated_at >= {mark}) AND %s IN ({in})"
)
_KINDS = ", ".join(sorted(f"'{k.value}'" for k in WRITTEN_OFF_KINDS))
_WRITTEN_OFF = (
    "SELECT claim_id, SUM(amount_minor) FROM ledger_posting WHERE claim_id IN ({in}) "
    f"AND kind IN ({_KINDS}) AND status IN ('posted', 'approved') GROUP BY claim_id"
)
# routine write-offs are kept on the lines that made them (app.remittance.postings)
_WRITTEN_OFF_ON_LINES = (
    "SELECT claim_id, SUM(written_off_minor) FROM remittance_line "
    "WHERE applied = {mark} AND written_off_minor <> 0 AND claim_id IN ({in}) GROUP BY claim_id"
)
_OPEN = frozenset(s.value for s in OPEN_STATUSES)
_ROW_TYPES = (None, None, None, None, None, None, Date(), None, None, None, None, None, None)


def load_candidates(session: Session, lines: Sequence[LineKeys], now: datetime) -> dict[str, ClaimRow]:
    """Claims (by number) that share a claim number with a line, or the payer ref or patient of a
    line whose claim number is not ours."""
    since = bind_value(session, Claim.__table__.c.adjudicated_at, now - timedelta(days=RECENT_DAYS))

    def candidates(column: str, values: list[str]) -> Iterable[tuple[int, Any]]:
        # open claims are kept here, not in SQL: with the status in the WHERE clause SQLite
        # walks the status index (every open claim) instead of looking up the numbers
        for r in select_in(session, _CANDIDATES % column, (since,), values, _ROW_TYPES):
            if r[10] in _OPEN:
                yield r[0], r

    rows: dict[int, Any] = {}
    for chunk in _chunks(ln.claim_id or "" for ln in lines):
        rows.update(candidates("c.number", chunk))
    # a line whose claim number is ours scores above any other evidence (see app.ledger.matching):
    # only the others need the slower lookups by payer reference and patient (not indexed)
    numbers = {r[1] for r in rows.values()}
    rest = [ln for ln in lines if (ln.claim_id or "").strip() not in numbers]
    for column, values in (
        ("c.insurer_ref", [ln.payer_claim_id or "" for ln in rest]),
        ("p.ref", [ln.patient_ref or "" for ln in rest]),
    ):
        for chunk in _chunks(values):
            rows.update(candidates(column, chunk))
    written: dict[int, int] = {}
    ids = list(rows)
    yes = bind_value(session, StoredLine.__table__.c.applied, True)
    for start in range(0, len(ids), CHUNK):
        chunk_ids = ids[start : start + CHUNK]
        for sql, params in ((_WRITTEN_OFF, ()), (_WRITTEN_OFF_ON_LINES, (yes,))):
            for cid, amount in select_in(session, sql, params, chunk_ids):
                if cid is not None:
                    written[int(cid)] = written.get(int(cid), 0) + int(amount or 0)
    out: dict[str, ClaimRow] = {}
    statuses = {s.value: s for s in ClaimStatus}
    for cid, r in rows.items():
        number, ref, pid, pref, payer, day, tot, paid, resp, status, enc, cur = r[1:]
        out[number] = ClaimRow(
            cid, number, ref, pid, pref, payer, day, tot, paid, resp, written.get(cid, 0), statuses[status], enc, cur
        )
    return out


def opening_balance(c: ClaimRow) -> tuple[int, int]:
    """(already paid, outstanding) of a claim before this remittance."""
    return c.paid, c.total - c.paid - c.patient_resp - c.written_off


def _open_claim(c: ClaimRow, balance: tuple[int, int]) -> OpenClaim:
    def money(minor: int) -> Money:
        return Money(minor, c.currency)

    return OpenClaim(
        c.number,
        c.patient_ref,
        c.payer_code,
        c.service_date,
        money(c.total),
        money(c.total),
        money(balance[0]),
        money(balance[1]),
        c.insurer_ref or None,
    )


def _allowed(claim: OpenClaim, line: RemittanceLine) -> OpenClaim:
    """The contract amount for this line: what we charged less the payer's contractual (CO) cut."""
    if line.is_reversal:
        return claim
    contractual = sum(a.amount.minor for a in line.adjustments if a.group is AdjustmentGroup.CONTRACTUAL)
    return replace(claim, expected=claim.charged - Money(contractual, claim.charged.currency))


def _renumber(postings: tuple[Posting, ...], prefix: str, index: int) -> tuple[Posting, ...]:
    old = f"{prefix}:0:"
    return tuple(replace(p, posting_id=f"{prefix}:{index}:{p.posting_id[len(old) :]}") for p in postings)


@dataclass
class Matcher:
    """Applies lines one by one against their own candidates, keeping each claim's running balance.

    ``balances`` maps claim number to (already paid, outstanding) in minor units once a line
    has touched the claim; the fast path reads and writes the same dictionary.
    """

    remittance_id: str
    payer_code: str
    paid_on: date
    currency: str
    claims: Mapping[str, ClaimRow]
    rules: Mapping[str, ToleranceRule]
    limit: Money

    def __post_init__(self) -> None:
        self.balances: dict[str, tuple[int, int]] = {}
        self.by_key: dict[tuple[str, str], set[str]] = {}
        for c in self.claims.values():
            for key in (("n", c.number), ("r", c.insurer_ref), ("p", c.patient_ref)):
                if key[1]:
                    self.by_key.setdefault(key, set()).add(c.number)

    def candidate_numbers(self, line: LineKeys) -> set[str]:
        numbers: set[str] = set()
        for key in (("n", line.claim_id or ""), ("r", line.payer_claim_id or ""), ("p", line.patient_ref or "")):
            numbers |= self.by_key.get(key, set())
        return numbers

    def balance(self, number: str) -> tuple[int, int]:
        return self.balances.get(number) or opening_balance(self.claims[number])

    def _candidates(self, line: RemittanceLine) -> list[OpenClaim]:
        return [
            _allowed(_open_claim(self.claims[n], self.balance(n)), line) for n in sorted(self.candidate_numbers(line))
        ]

    def apply(self, index: int, line: RemittanceLine) -> LineApplication | UnmatchedLine:
        single = Remittance(self.remittance_id, self.payer_code, self.paid_on, (line,), (), self.currency)
        result = apply_remittance(single, self._candidates(line), self.rules, self.limit)
        if result.unmatched:
            un = result.unmatched[0]
            return replace(un, line_index=index, postings=_renumber(un.postings, self.remittance_id, index))
        app = result.applications[0]
        paid, outstanding = self.balance(app.claim_id)
        cash = sum(p.amount.minor for p in app.postings if p.kind in _MOVES_CASH)
        moved = sum(p.amount.minor for p in app.postings if not p.is_cash)
        self.balances[app.claim_id] = (paid + line.paid.minor, outstanding - cash - moved)
        return replace(app, line_index=index, postings=_renumber(app.postings, self.remittance_id, index))

    def provider_postings(self, plbs: tuple[ProviderAdjustment, ...]) -> tuple[Posting, ...]:
        if not plbs:
            return ()
        only = Remittance(self.remittance_id, self.payer_code, self.paid_on, (), plbs, self.currency)
        return apply_remittance(only, (), self.rules, self.limit).provider_postings
