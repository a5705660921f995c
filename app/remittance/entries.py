"""Postings in minor units while a remittance is applied, which of them are routine, and their sums.

A line's routine postings (its cash applied, and adjustments that need nobody's approval) are
not stored as rows (see :mod:`app.remittance.postings`); the fast path does not even build them:
it adds them to :class:`PostingSums`, merged as the summarised journal merges postings, and keeps
the line's cash and write-off. :func:`derived_entries` rebuilds them where detail is needed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from app.ledger.cash_application import GROUP_KIND
from app.ledger.postings import Posting, PostingKind
from app.money import Money


class Entry(NamedTuple):
    """A posting in minor units (the fields of :class:`~app.ledger.postings.Posting`, and ``held``)."""

    posting_id: str
    kind: PostingKind
    amount: int
    claim_id: str | None
    patient_ref: str | None
    reason_code: str
    memo: str
    needs_approval: bool
    needs_review: bool
    held: bool  # Posting.held: a balance move waiting for a manager

    def posting(self, currency: str) -> Posting:
        amount = Money(self.amount, currency)
        return Posting(self.posting_id, self.kind, amount, self.claim_id, self.patient_ref, *self[5:9])


def entry(p: Posting) -> Entry:
    return Entry(
        p.posting_id,
        p.kind,
        p.amount.minor,
        p.claim_id,
        p.patient_ref,
        p.reason_code,
        p.memo,
        p.needs_approval,
        p.needs_review,
        p.held,
    )


_ADJUSTMENT_KINDS = frozenset(GROUP_KIND.values())
_APPLIED_PAYMENT = PostingKind.APPLIED_PAYMENT
# write-offs: they reduce what a claim still expects (the matcher sums them per claim)
WRITTEN_OFF_KINDS = frozenset({PostingKind.CONTRACTUAL_WRITE_OFF, PostingKind.OTHER_ADJUSTMENT, PostingKind.CORRECTION})


def derived_entries(
    adjustments: Iterable[tuple[str, str, int]],
    prefix: str,
    claim_number: str,
    patient_ref: str | None,
    cash: int,
    stored: set[str],
) -> list[Entry]:
    """The routine postings of a line (its ``adjustments``, one per group and reason) applied
    under ``prefix`` to ``claim_number`` with ``cash`` applied, less those whose key is ``stored``
    as a row (held ones, and every posting of lines applied before routine postings were derived)."""
    out: list[Entry] = []
    key = f"{prefix}:1"
    if cash > 0 and key not in stored:
        out.append(Entry(key, PostingKind.APPLIED_PAYMENT, cash, claim_number, None, "", "", False, False, False))
    for n, (group, reason, amount) in enumerate(adjustments, start=1):
        key = f"{prefix}:a{n}"
        if not amount or key in stored:
            continue
        kind = GROUP_KIND[group]
        code = f"{group}-{reason}"
        out.append(
            Entry(key, kind, amount, claim_number, patient_ref, code, f"{code}: {kind.value}", False, False, False)
        )
    return out


def routine_split(entries: Iterable[Entry], prefix: str) -> tuple[list[Entry], int, int]:
    """Of a line applied under ``prefix``: (the entries to store as rows, the routine write-offs'
    total, the cash applied). Routine: what :func:`derived_entries` rebuilds, i.e. not held, and
    either the plain cash posting ``<prefix>:1`` or an adjustment ``<prefix>:a<n>``."""
    rows: list[Entry] = []
    written_off = cash = 0
    one, adjustment = f"{prefix}:1", f"{prefix}:a"
    for e in entries:
        kind = e.kind
        if kind is _APPLIED_PAYMENT:
            if e.posting_id == one:
                cash = e.amount
                if not e.held and not e.memo and e.patient_ref is None:
                    continue
        elif kind in _ADJUSTMENT_KINDS and not e.held and e.posting_id.startswith(adjustment):
            if kind in WRITTEN_OFF_KINDS:
                written_off += e.amount
            continue
        rows.append(e)
    return rows, written_off, cash


class PostingSums:
    """Postings merged by (kind, held, reason, party), as a summarised journal merges them: count
    and total of each, in the order each first appeared (``order``: a running posting number).
    Reason is kept for provider-level adjustments only, party for a patient's share only."""

    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items: dict[tuple[str, bool, str, str], list[int]] = {}  # [count, total, first order]

    def add(self, kind: str, held: bool, reason: str, party: str, amount: int, order: int) -> None:
        found = self.items.get((kind, held, reason, party))
        if found is None:
            self.items[kind, held, reason, party] = [1, amount, order]
        else:
            found[0] += 1
            found[1] += amount

    def add_entry(self, e: Entry, order: int) -> None:
        reason = e.reason_code if e.kind is PostingKind.PROVIDER_ADJUSTMENT else ""
        party = (e.patient_ref or "") if e.kind is PostingKind.PATIENT_RESPONSIBILITY else ""
        self.add(str(e.kind), e.held, reason, party, e.amount, order)

    @staticmethod
    def merged(*parts: PostingSums) -> list[tuple[tuple[str, bool, str, str], int, int]]:
        """(key, count, total) of several sums together, in order of first appearance."""
        out: dict[tuple[str, bool, str, str], list[int]] = {}
        for part in parts:
            for key, (count, total, first) in part.items.items():
                found = out.get(key)
                if found is None:
                    out[key] = [count, total, first]
                else:
                    found[0] += count
                    found[1] += total
                    found[2] = min(found[2], first)
        ordered = sorted(out.items(), key=lambda kv: kv[1][2])
        return [(key, count, total) for key, (count, total, _) in ordered]


def posting_order(key: str) -> tuple[int, int, int]:
    """Where a posting comes among a remittance's (``REM5:12:a1``, ``REM5-rerun2:12:1``,
    ``REM5:plb1``): run (first, then re-runs), then cash before adjustments before provider-level
    ones, then sequence: the order the matcher made them in."""
    ledger, _, rest = key.partition(":")
    run = int(ledger.rpartition("-rerun")[2]) + 1 if "-rerun" in ledger else 0
    suffix = rest.rpartition(":")[2]
    for rank, mark in ((1, "a"), (2, "plb")):
        if suffix.startswith(mark) and suffix[len(mark) :].isdigit():
            return run, rank, int(suffix[len(mark) :])
    return run, 0, int(suffix) if suffix.isdigit() else 0
