"""Cash application from the database: a stored remittance applied to claims, invoices and the ledger.

One call, one transaction (the caller's session). Lines are read as plain rows and applied by
:class:`~app.remittance.fastpath.FastMatcher` (integer fast path, the full engine for the rest);
claims, invoices, postings and lines are written with driver-level bulk statements; every change
is in one audit event per remittance listing each claim and invoice before and after.
Re-running is idempotent: lines already applied are skipped, posting keys and journal ids are
deterministic.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from app.audit import Actor, record, snapshot
from app.clock import Clock
from app.db.models import Claim, Invoice, LedgerPosting, Remittance, RemittanceLine
from app.domain.status import ClaimStatus, RemittanceStatus, TaskPriority, advance, can_move
from app.errors import NotFound
from app.ledger.chart import AccountMap, AccountRole
from app.ledger.postings import Outcome, UnmatchedLine
from app.ledger.remittance import ProviderAdjustment
from app.ledger.store import post_entries
from app.money import Money, to_minor
from app.remittance.bulk import insert_tuples, select_in, update_tuples
from app.remittance.entries import Entry, entry
from app.remittance.fastpath import LINE_IN_COLUMNS, Applied, FastMatcher, LineIn, Unapplied, line_in
from app.remittance.matcher import ClaimRow, Matcher, load_candidates
from app.remittance.policy import Policy
from app.remittance.results import Results
from app.tasks import open_task

_TARGET = {
    Outcome.FULL_PAYMENT: ClaimStatus.PAID,
    Outcome.PARTIAL_PAYMENT: ClaimStatus.PAID,
    Outcome.OVERPAYMENT: ClaimStatus.PAID,
    Outcome.CORRECTION: ClaimStatus.PAID,
    Outcome.UNDERPAYMENT: ClaimStatus.PARTLY_PAID,
    Outcome.REVERSAL: ClaimStatus.PARTLY_PAID,
    Outcome.DENIAL: ClaimStatus.DENIED,
}
CHUNK = 1000
# the columns of a remittance_line row as ingest builds it (claim_id, match_rule, applied: placeholders)
INSERT_COLUMNS = (
    "remittance_id",
    "claim_id",
    "claim_ref",
    "payer_claim_ref",
    "patient_ref",
    "service_date",
    "status_code",
    "charged_minor",
    "paid_minor",
    "patient_resp_minor",
    "currency",
    "adjustments_json",
    "services_json",
    "match_rule",
    "applied",
)
# what applying a line gave (app.remittance.postings derives its routine postings from these)
RECORD_COLUMNS = (
    "match_rule",
    "applied",
    "outcome",
    "rule",
    "score",
    "explanation",
    "posting_prefix",
    "cash_minor",
    "written_off_minor",
    "applied_at",
)
_UNMATCHED = "unmatched"
# the audit event of an application lists every claim and invoice it changed, one row each
CLAIM_CHANGE_COLUMNS = (
    "claim",
    "paid_before",
    "paid_after",
    "patient_resp_before",
    "patient_resp_after",
    "status_before",
    "status_after",
    "note",
)
INVOICE_CHANGE_COLUMNS = ("invoice", "patient_due_before", "patient_due_after")


class Pending(NamedTuple):
    """A new remittance's lines, not inserted yet: the rows (values of INSERT_COLUMNS) and the
    same lines as LineIn (row_id None), in file order."""

    rows: list[tuple[Any, ...]]
    lines: list[LineIn]


@dataclass(frozen=True, slots=True)
class ApplyOutcome:
    remittance_id: int
    status: RemittanceStatus
    applied_lines: int
    unmatched_lines: int
    held_postings: int
    journals_posted: tuple[str, ...]
    message: str


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


def ledger_id(remittance_id: int) -> str:
    return f"REM{remittance_id}"


_POSTING_COLUMNS = (
    "posting_key",
    "source_kind",
    "source_id",
    "kind",
    "claim_id",
    "patient_id",
    "amount_minor",
    "currency",
    "reason_code",
    "memo",
    "status",
    "decided_by_id",
    "created_at",
    "needs_approval",
    "needs_review",
)


def _read_lines(session: Session, rem: Remittance) -> list[Any]:
    """Every line's row (the columns of LINE_IN_COLUMNS) in stored order."""
    q = select(*LINE_IN_COLUMNS).where(RemittanceLine.remittance_id == rem.id).order_by(RemittanceLine.id)
    return list(session.execute(q))


def _plbs(rem: Remittance) -> tuple[ProviderAdjustment, ...]:
    return tuple(
        ProviderAdjustment(p["reason"], p["reference"], Money(to_minor(p["amount"], rem.currency), rem.currency))
        for p in json.loads(rem.provider_adjustments_json)
    )


def _balance_problem(rem: Remittance, paid: int) -> str:
    """What is wrong when the lines (``paid``: their payments added up) less the PLBs miss the total."""
    plb = sum(p.amount.minor for p in _plbs(rem))
    if paid - plb == rem.total_paid_minor:
        return ""
    cur = rem.currency
    return (
        f"Payment {rem.trace_number}: the payer says {Money(rem.total_paid_minor, cur)} was paid, but the claims add "
        f"up to {Money(paid, cur)} less {Money(plb, cur)} of provider adjustments = {Money(paid - plb, cur)}."
    )


def _flag(session: Session, clock: Clock, actor: Actor, rem: Remittance, problem: str) -> ApplyOutcome:
    before = snapshot(rem)
    rem.status = advance("Remittance", rem.status, RemittanceStatus.FLAGGED)
    record(session, clock, actor, "remittance.flag", "remittance", rem.id, before, snapshot(rem), problem)
    open_task(
        session,
        clock,
        actor,
        kind="remittance_unbalanced",
        title=f"Remittance {rem.trace_number} does not balance: nothing applied",
        owner_role="manager",
        detail=problem,
        recommended_fix="Check the payment against the bank statement and the payer's advice, then re-run "
        "matching and accept the difference, or ask the payer for a corrected remittance.",
        priority=TaskPriority.HIGH,
        entity_type="remittance",
        entity_id=rem.id,
        dedupe_key=f"remittance-unbalanced:{rem.id}",
    )
    return ApplyOutcome(rem.id, rem.status, 0, 0, 0, (), problem)


def _claim_status(current: ClaimStatus, outcomes: list[Outcome]) -> tuple[ClaimStatus, str]:
    status, note = current, ""
    for outcome in outcomes:
        target = _TARGET.get(outcome)
        if target is None or target is status:
            continue
        if can_move(status, target):
            status = advance("Claim", status, target)
        else:
            note = f"claim left {status.value}: it cannot move to {target.value}"
    return status, note


@dataclass
class _Writer:
    session: Session
    clock: Clock
    rem: Remittance
    claims: dict[str, ClaimRow]
    ledger: str  # the ledger id postings are keyed under ("REM5", "REM5-rerun3")
    records: dict[int, tuple[Any, ...]] = field(default_factory=dict)  # per line position: RECORD_COLUMNS

    def __post_init__(self) -> None:
        self.now = self.clock.now()  # one time for every row this application writes

    def postings(self, postings: Iterable[Entry]) -> int:
        """Store postings not stored before (those a person may need to see: see
        app.remittance.postings); returns how many are held."""
        keys = set(
            self.session.scalars(
                select(LedgerPosting.posting_key).where(
                    LedgerPosting.source_kind == "remittance", LedgerPosting.source_id == self.rem.id
                )
            )
        )
        now, rid, cur, held = self.now, self.rem.id, self.rem.currency, 0
        rows = []
        for p in postings:
            if p.posting_id in keys:
                continue
            claim = self.claims.get(p.claim_id or "")
            held += p.held
            rows.append(
                (
                    p.posting_id,
                    "remittance",
                    rid,
                    str(p.kind),
                    claim.id if claim else None,
                    claim.patient_id if claim else None,
                    p.amount,
                    cur,
                    p.reason_code[:20],
                    p.memo,
                    "held" if p.held else "posted",
                    None,
                    now,
                    p.needs_approval,
                    p.needs_review,
                )
            )
        insert_tuples(self.session, _table(LedgerPosting), _POSTING_COLUMNS, rows)
        return held

    def record_lines(self, done: Sequence[Applied | Unapplied]) -> list[Entry]:
        """Keep what applying each line gave (``self.records``, per line position: the values of
        RECORD_COLUMNS, for :meth:`insert_lines` or :meth:`lines`); returns the lines' postings to
        store as rows, in posting order (the routine ones of applied lines are not among them)."""
        now, ledger = self.now, self.ledger
        out: list[Entry] = []
        for r in done:
            prefix = f"{ledger}:{r.line.position}"
            if isinstance(r, Applied):
                why = "; ".join(r.explanation)
                match_rule = f"{r.rule} ({r.score}): {why}"[:200]
                claim_id = self.claims[r.claim_id].id
                outcome, rule, cash = str(r.outcome), str(r.rule), r.cash
                rec = (claim_id, match_rule, True, outcome, rule, r.score, why, prefix, cash, r.written_off, now)
                self.records[r.line.position] = rec
                out += r.postings
            else:
                ranked = ", ".join(f"{c.claim_id} ({c.score}, {c.rule.value})" for c in r.detail.candidates)
                why = r.detail.reason + (f"; candidates: {ranked}" if ranked else "")
                match_rule = f"unmatched: {r.detail.reason}"[:200]
                self.records[r.line.position] = (None, match_rule, False, _UNMATCHED, "", 0, why, prefix, 0, 0, None)
                out += r.postings
        return out

    def claims_and_invoices(self, applied: Sequence[Applied]) -> dict[str, Any]:
        """Update the claims' paid, patient share and status and the invoices' co-pay due; returns
        every change as the audit event lists it (rows of CLAIM_CHANGE_COLUMNS and INVOICE_CHANGE_COLUMNS)."""
        per_claim: dict[str, list[Applied]] = {}
        for app in applied:
            per_claim.setdefault(app.claim_id, []).append(app)
        now, updates, changes = self.now, [], []
        copay: dict[int, int] = {}
        moves: dict[tuple[ClaimStatus, tuple[Outcome, ...]], tuple[ClaimStatus, str]] = {}  # few distinct
        for number, apps in per_claim.items():
            c = self.claims[number]
            outcomes = tuple(a.outcome for a in apps)
            move = moves.get((c.status, outcomes))
            if move is None:
                move = moves[c.status, outcomes] = _claim_status(c.status, list(outcomes))
            status, note = move
            if len(apps) == 1:
                paid, resp = c.paid + apps[0].line.paid, c.patient_resp + apps[0].line.patient_resp
            else:
                paid = c.paid + sum(a.line.paid for a in apps)
                resp = c.patient_resp + sum(a.line.patient_resp for a in apps)
            updates.append((paid, resp, status, now, c.id))
            changes.append((c.number, c.paid, paid, c.patient_resp, resp, c.status.value, status.value, note))
            if c.encounter_id is not None and resp != c.patient_resp:
                copay[c.encounter_id] = copay.get(c.encounter_id, 0) + resp - c.patient_resp
        columns = ("paid_minor", "patient_resp_minor", "status", "adjudicated_at")
        update_tuples(self.session, _table(Claim), columns, updates)
        return {
            "claims": {"columns": CLAIM_CHANGE_COLUMNS, "rows": changes},
            "invoices": {"columns": INVOICE_CHANGE_COLUMNS, "rows": self._invoices(copay)},
        }

    def _invoices(self, copay: dict[int, int]) -> list[tuple[Any, ...]]:
        changes, updates = [], []
        encounters = list(copay)
        sql = "SELECT id, number, encounter_id, patient_due_minor FROM invoice WHERE encounter_id IN ({in})"
        for start in range(0, len(encounters), CHUNK):
            for inv_id, number, enc, due in select_in(self.session, sql, (), encounters[start : start + CHUNK]):
                new = due + copay.pop(enc, 0) if enc is not None else due
                updates.append((new, inv_id))
                changes.append((number, due, new))
        update_tuples(self.session, _table(Invoice), ("patient_due_minor",), updates)
        return changes

    def insert_lines(self, pending: Pending, applied: bool) -> None:
        """Insert a new remittance's lines; ``applied``: with what applying each one gave
        (``self.records``, kept by :meth:`record_lines`), else as received."""
        if not applied:
            empty = ("", "", 0, "", "", 0, 0, None)
            rows = [(*row, *empty) for row in pending.rows]
        else:
            records = self.records
            rows = [(*row[:1], records[n][0], *row[2:13], *records[n][1:]) for n, row in enumerate(pending.rows)]
        insert_tuples(self.session, _table(RemittanceLine), (*INSERT_COLUMNS[:13], *RECORD_COLUMNS), rows)

    def lines(self, todo: Sequence[LineIn], only_applied: bool) -> None:
        """Record on stored lines what applying them gave (``only_applied``: a re-run, whose
        still-unmatched lines keep their first record)."""
        rows = []
        for line in todo:
            rec = self.records.get(line.position)
            if rec is not None and (rec[2] or not only_applied):
                rows.append((*rec, line.row_id))
        update_tuples(self.session, _table(RemittanceLine), ("claim_id", *RECORD_COLUMNS), rows)


def _unmatched_task(session: Session, clock: Clock, actor: Actor, rem: Remittance, un: UnmatchedLine) -> None:
    ranked = "\n".join(
        f"{n}. {c.claim_id} — score {c.score}, {'; '.join(c.explanation)}" for n, c in enumerate(un.candidates, 1)
    )
    line = un.line
    open_task(
        session,
        clock,
        actor,
        kind="remittance_unmatched",
        title=f"Remittance {rem.trace_number} line {un.line_index + 1}: {line.paid} not matched to a claim",
        owner_role="manager",
        detail=f"{un.reason}. Claim ref {line.claim_id or '—'}, payer ref {line.payer_claim_id or '—'}, "
        f"charged {line.charged}.\nCandidates, best first:\n{ranked or 'none'}",
        recommended_fix="Find the claim, correct its number or insurer reference, then re-run matching.",
        entity_type="remittance",
        entity_id=rem.id,
        dedupe_key=f"remittance-unmatched:{rem.id}:{un.line_index}",
    )


def _held_task(session: Session, clock: Clock, actor: Actor, rem: Remittance, held: int) -> None:
    open_task(
        session,
        clock,
        actor,
        kind="writeoff_approval",
        title=f"Remittance {rem.trace_number}: {held} write-off(s) wait for a manager",
        owner_role="manager",
        detail="Write-offs above the limit, denials and other adjustments are held until approved or rejected.",
        recommended_fix="Open Remittances, select the remittance, and approve or reject each held write-off.",
        entity_type="remittance",
        entity_id=rem.id,
        dedupe_key=f"remittance-held:{rem.id}",
    )


def _unapplied_accounts(accounts: AccountMap) -> AccountMap:
    """A re-run moves money already in unapplied cash: the 'bank' side is the unapplied account."""
    code = accounts.code(AccountRole.UNAPPLIED_CASH)
    roles = tuple((r, code if r is AccountRole.BANK else c) for r, c in accounts.roles)
    return AccountMap(roles, accounts.card_clearing, accounts.marketplace_clearing)


def apply_stored(
    session: Session,
    clock: Clock,
    actor: Actor,
    remittance_id: int,
    *,
    accept_unbalanced: bool = False,
    pending: Pending | None = None,
    policy: Policy | None = None,
) -> ApplyOutcome:
    """Apply the lines of a stored remittance not applied yet; idempotent.

    ``pending``: the lines of a remittance just stored without them (see ingest.store_payment);
    they are inserted here, matched or not, once. ``policy``: the settings already read in this
    unit of work (an import applies every payment of a file with one).
    """
    with without_gc_pauses():
        rules = policy or Policy(session)
        return _apply_stored(session, clock, actor, remittance_id, accept_unbalanced, pending, rules)


@contextmanager
def without_gc_pauses() -> Iterator[None]:
    """The cyclic garbage collector off while a remittance is applied (then back as it was).

    Its tens of thousands of short-lived tuples otherwise set off full collections of the whole
    heap every few hundred lines (measured on the 100,000-claim bench: a third of the time); what
    it allocates holds no reference cycles and is freed by reference counting as usual.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _apply_stored(
    session: Session,
    clock: Clock,
    actor: Actor,
    remittance_id: int,
    accept_unbalanced: bool,
    pending: Pending | None,
    policy: Policy,
) -> ApplyOutcome:
    rem = session.get(Remittance, remittance_id, with_for_update=True)  # two desks re-running: one waits
    if rem is None:
        raise NotFound(f"Remittance {remittance_id} does not exist.")
    if pending is not None and rem.status is not RemittanceStatus.RECEIVED:
        raise ValueError(f"Remittance {remittance_id} is {rem.status}: its lines were stored before")
    if rem.status is RemittanceStatus.APPLIED:
        return ApplyOutcome(rem.id, rem.status, 0, 0, 0, (), f"Remittance {rem.trace_number} is already applied.")
    rows = _read_lines(session, rem) if pending is None else None
    if rows is not None:
        count, paid = len(rows), sum(r.paid_minor for r in rows)
    else:
        lines = pending.lines if pending is not None else []
        count, paid = len(lines), sum(ln.paid for ln in lines)
    first = rem.status in (RemittanceStatus.RECEIVED, RemittanceStatus.FLAGGED)
    problem = _balance_problem(rem, paid) if first else ""
    if problem and not accept_unbalanced:
        if pending is not None:
            _Writer(session, clock, rem, {}, "").insert_lines(pending, applied=False)
        if rem.status is RemittanceStatus.FLAGGED:
            return ApplyOutcome(rem.id, rem.status, 0, 0, 0, (), problem)
        return _flag(session, clock, actor, rem, problem)
    if rows is not None:
        todo = [line_in(i, row, rem.currency) for i, row in enumerate(rows) if not row.applied]
    else:
        todo = list(pending.lines if pending else ())
    done_before = count - len(todo)
    rid = ledger_id(rem.id) if first else f"{ledger_id(rem.id)}-rerun{done_before}"
    claims = load_candidates(session, todo, clock.now())
    payer = policy.payer_code(rem.payer_id)
    paid_on: date = rem.payment_date or clock.now().date()
    matcher = Matcher(
        rid,
        payer,
        paid_on,
        rem.currency,
        claims,
        policy.tolerance_rules(rem.currency),
        policy.writeoff_limit(rem.currency),
    )
    fast = FastMatcher(matcher)
    done = [fast.apply(line) for line in todo]
    applied = [r for r in done if isinstance(r, Applied)]
    unmatched = [r for r in done if isinstance(r, Unapplied)]
    remaining = len(unmatched)
    if not first:
        if not applied:
            return ApplyOutcome(
                rem.id, rem.status, 0, remaining, 0, (), f"Re-run of {rem.trace_number}: no further line matched."
            )
        unmatched = []  # still-unmatched lines keep their first postings and tasks
    provider = tuple(entry(p) for p in matcher.provider_postings(_plbs(rem))) if first else ()
    sums = (fast.applied_sums, fast.unmatched_sums) if first else (fast.applied_sums,)
    result = Results.of(rid, payer, paid_on, rem.currency, tuple(done if first else applied), provider, *sums)
    writer = _Writer(session, clock, rem, claims, rid)
    held = writer.postings([*writer.record_lines(result.lines), *result.provider])
    changes = writer.claims_and_invoices(applied)
    if pending is not None:
        writer.insert_lines(pending, applied=True)
    else:
        writer.lines(todo, only_applied=not first)
    for un in unmatched:
        _unmatched_task(session, clock, actor, rem, un.detail)
    if held:
        _held_task(session, clock, actor, rem, held)
    accounts = policy.account_map()
    journal = result.journal(accounts if first else _unapplied_accounts(accounts))
    posted = tuple(post_entries(session, clock, actor, [journal])) if journal is not None else ()
    before = snapshot(rem)
    moved_in = sum(a.line.paid for a in applied) if not first else 0
    rem.unapplied_minor = rem.unapplied_minor - moved_in + result.unapplied_minor
    target = RemittanceStatus.PARTLY_APPLIED if remaining else RemittanceStatus.APPLIED
    if target is not rem.status or target is RemittanceStatus.PARTLY_APPLIED:
        rem.status = advance("Remittance", rem.status, target)
    summary = {"lines_applied": len(applied), "unmatched": remaining, "held": held, "journals": list(posted)}
    reason = "accepted although unbalanced: " + problem if problem else ""
    record(
        session,
        clock,
        actor,
        "remittance.apply",
        "remittance",
        rem.id,
        before,
        {**(snapshot(rem) or {}), **summary, "changes": changes},
        reason,
    )
    message = (
        f"Remittance {rem.trace_number}: {len(applied)} line(s) applied, {remaining} unmatched, "
        f"{held} posting(s) held for approval, {Money(rem.unapplied_minor, rem.currency)} unapplied."
    )
    return ApplyOutcome(rem.id, rem.status, len(applied), remaining, held, posted, message)
