# ruff: noqa
# mypy: ignore-errors
"""Cash application from the database: a stored remittance applied to claims, invoices and the ledger.

One call, one transaction (the caller's session). Claims, invoices, postings and lines are
written with bulk statements (a 100,000-claim file is applied in seconds); every change is in
one audit event per remittance listing each claim and invoice before and after. Re-running is
idempotent: lines already applied are skipped, posting keys and journal ids are deterministic.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from app.archive import keep_artefact
from app.audit import Actor, record, snapshot
from app.claims.artefacts import ArtefactStore
from app.clock import Clock
from app.db.models import Claim, Invoice, LedgerPosting, Payer, Remittance, RemittanceLine
from app.domain.status import ClaimStatus, RemittanceStatus, TaskPriority, advance, can_move
from app.errors import NotFound
from app.ledger.cash_application import cash_application_csv
from app.ledger.chart import AccountMap, AccountRole
from app.ledger.journal_builders import journal_for_application
from app.ledger.journals import JournalEntry, JournalLine
from app.ledger.postings import ApplicationResult, LineApplication, Outcome, Posting, PostingKind, UnmatchedLine
from app.ledger.remittance import Adjustment, AdjustmentGroup, ProviderAdjustment
from app.ledger.remittance import RemittanceLine as LedgerLine
from app.ledger.store import post_entries
from app.money import Money, to_minor
from tests.remittance_flow.legacy.bulk import insert_rows, update_by_id
from tests.remittance_flow.legacy.matcher import ClaimRow, Matcher, load_candidates
from app.remittance.policy import account_map, tolerance_rules, writeoff_limit
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
DETAIL_LINES = 40  # journals with more lines are summarised per account


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


_GROUPS = {g.value: g for g in AdjustmentGroup}


def _group(code: str) -> AdjustmentGroup:
    return _GROUPS.get(code, AdjustmentGroup.OTHER)


def _adjustments(items: list[dict[str, str]], currency: str) -> list[Adjustment]:
    return [
        Adjustment(_group(a["group"]), a["reason"], Money(to_minor(a["amount"], currency), currency)) for a in items
    ]


def _ledger_line(row: Any, currency: str) -> LedgerLine:
    adjustments = _adjustments(json.loads(row.adjustments_json), currency)
    for service in json.loads(row.services_json):
        adjustments += _adjustments(service.get("adjustments", []), currency)
    return LedgerLine(
        row.claim_ref or None,
        row.payer_claim_ref or None,
        row.patient_ref or None,
        row.service_date,
        row.status_code,
        Money(row.charged_minor, currency),
        Money(row.paid_minor, currency),
        Money(row.patient_resp_minor, currency),
        tuple(adjustments),
    )


def _plbs(rem: Remittance) -> tuple[ProviderAdjustment, ...]:
    return tuple(
        ProviderAdjustment(p["reason"], p["reference"], Money(to_minor(p["amount"], rem.currency), rem.currency))
        for p in json.loads(rem.provider_adjustments_json)
    )


def _balance_problem(rem: Remittance, lines: Sequence[Any]) -> str:
    paid = sum(r.paid_minor for r in lines)
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

    def postings(self, result: ApplicationResult) -> int:
        keys = set(
            self.session.scalars(
                select(LedgerPosting.posting_key).where(
                    LedgerPosting.source_kind == "remittance", LedgerPosting.source_id == self.rem.id
                )
            )
        )
        now, rows = self.clock.now(), []
        for p in result.postings:
            if p.posting_id in keys:
                continue
            claim = self.claims.get(p.claim_id or "")
            rows.append(self._posting(p, claim, now))
        insert_rows(self.session, _table(LedgerPosting), rows)
        return sum(1 for r in rows if r["status"] == "held")

    def _posting(self, p: Posting, claim: ClaimRow | None, now: Any) -> dict[str, Any]:
        return {
            "posting_key": p.posting_id,
            "source_kind": "remittance",
            "source_id": self.rem.id,
            "kind": p.kind.value,
            "claim_id": claim.id if claim else None,
            "patient_id": claim.patient_id if claim else None,
            "amount_minor": p.amount.minor,
            "currency": p.amount.currency,
            "reason_code": p.reason_code[:20],
            "memo": p.memo,
            "status": "held" if p.held else "posted",
            "decided_by_id": None,
            "created_at": now,
        }

    def claims_and_invoices(self, applied: Sequence[LineApplication]) -> list[dict[str, Any]]:
        per_claim: dict[str, list[LineApplication]] = {}
        for app in applied:
            per_claim.setdefault(app.claim_id, []).append(app)
        now, updates, changes = self.clock.now(), [], []
        copay: dict[int, int] = {}
        for number, apps in per_claim.items():
            c = self.claims[number]
            status, note = _claim_status(c.status, [a.outcome for a in apps])
            paid = c.paid + sum(a.line.paid.minor for a in apps)
            resp = c.patient_resp + sum(a.line.patient_responsibility.minor for a in apps)
            updates.append(
                {"id": c.id, "paid_minor": paid, "patient_resp_minor": resp, "status": status, "adjudicated_at": now}
            )
            change = {"claim": c.number, "paid": [c.paid, paid], "patient_resp": [c.patient_resp, resp]}
            changes.append({**change, "status": [c.status.value, status.value], **({"note": note} if note else {})})
            if c.encounter_id is not None and resp != c.patient_resp:
                copay[c.encounter_id] = copay.get(c.encounter_id, 0) + resp - c.patient_resp
        update_by_id(self.session, _table(Claim), updates)
        return changes + self._invoices(copay)

    def _invoices(self, copay: dict[int, int]) -> list[dict[str, Any]]:
        changes, updates = [], []
        encounters = list(copay)
        for start in range(0, len(encounters), CHUNK):
            q = select(Invoice.id, Invoice.number, Invoice.encounter_id, Invoice.patient_due_minor).where(
                Invoice.encounter_id.in_(encounters[start : start + CHUNK])
            )
            for inv_id, number, enc, due in self.session.execute(q):
                new = due + copay.pop(enc, 0) if enc is not None else due
                updates.append({"id": inv_id, "patient_due_minor": new})
                changes.append({"invoice": number, "patient_due": [due, new]})
        update_by_id(self.session, _table(Invoice), updates)
        return changes

    def lines(
        self, ids: dict[int, int], applied: Sequence[LineApplication], unmatched: Sequence[UnmatchedLine]
    ) -> None:
        rows: list[dict[str, Any]] = []
        for app in applied:
            why = f"{app.rule.value} ({app.score}): {'; '.join(app.explanation)}"
            rows.append(
                {
                    "id": ids[app.line_index],
                    "claim_id": self.claims[app.claim_id].id,
                    "match_rule": why[:200],
                    "applied": True,
                }
            )
        for un in unmatched:
            rows.append({"id": ids[un.line_index], "claim_id": None, "match_rule": f"unmatched: {un.reason}"[:200]})
        update_by_id(self.session, _table(RemittanceLine), [r for r in rows if "applied" in r])
        update_by_id(self.session, _table(RemittanceLine), [r for r in rows if "applied" not in r])


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


def _payer_code(session: Session, rem: Remittance) -> str:
    if rem.payer_id is None:
        return ""
    return str(session.scalar(select(Payer.code).where(Payer.id == rem.payer_id)) or "")


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


def _journal(result: ApplicationResult, accounts: AccountMap) -> JournalEntry | None:
    """The remittance's journal; a big one is built from postings merged by kind (same totals per account)."""
    if len(result.postings) <= DETAIL_LINES:
        return journal_for_application(result, accounts)
    merged: dict[tuple[PostingKind, bool, str, str], list[int]] = {}
    for p in result.postings:
        reason = p.reason_code if p.kind is PostingKind.PROVIDER_ADJUSTMENT else ""
        party = p.patient_ref or "" if p.kind is PostingKind.PATIENT_RESPONSIBILITY else ""
        merged.setdefault((p.kind, p.held, reason, party), []).append(p.amount.minor)
    cur = result.currency
    postings = tuple(
        Posting(
            f"{result.remittance_id}:sum{n}",
            kind,
            Money(sum(amounts), cur),
            None,
            party or None,
            reason,
            f"{len(amounts)} {kind.value} posting(s)",
            needs_approval=held,
        )
        for n, ((kind, held, reason, party), amounts) in enumerate(merged.items(), start=1)
    )
    summary = ApplicationResult(result.remittance_id, result.payer_id, result.paid_on, cur, (), (), postings, ())
    return _summarised(journal_for_application(summary, accounts))


def _unapplied_accounts(accounts: AccountMap) -> AccountMap:
    """A re-run moves money already in unapplied cash: the 'bank' side is the unapplied account."""
    code = accounts.code(AccountRole.UNAPPLIED_CASH)
    roles = tuple((r, code if r is AccountRole.BANK else c) for r, c in accounts.roles)
    return AccountMap(roles, accounts.card_clearing, accounts.marketplace_clearing)


def apply_stored(
    session: Session,
    clock: Clock,
    actor: Actor,
    store: ArtefactStore,
    remittance_id: int,
    *,
    accept_unbalanced: bool = False,
) -> ApplyOutcome:
    """Apply the lines of a stored remittance not applied yet; idempotent."""
    rem = session.get(Remittance, remittance_id, with_for_update=True)  # two desks re-running: one waits
    if rem is None:
        raise NotFound(f"Remittance {remittance_id} does not exist.")
    if rem.status is RemittanceStatus.APPLIED:
        return ApplyOutcome(rem.id, rem.status, 0, 0, 0, (), f"Remittance {rem.trace_number} is already applied.")
    all_lines = list(
        session.execute(
            select(RemittanceLine).where(RemittanceLine.remittance_id == rem.id).order_by(RemittanceLine.id)
        ).scalars()
    )
    first = rem.status in (RemittanceStatus.RECEIVED, RemittanceStatus.FLAGGED)
    problem = _balance_problem(rem, all_lines) if first else ""
    if problem and not accept_unbalanced:
        if rem.status is RemittanceStatus.FLAGGED:
            return ApplyOutcome(rem.id, rem.status, 0, 0, 0, (), problem)
        return _flag(session, clock, actor, rem, problem)
    todo = [(i, row) for i, row in enumerate(all_lines) if not row.applied]
    ids = {i: row.id for i, row in todo}
    lines = [(i, _ledger_line(row, rem.currency)) for i, row in todo]
    done_before = len(all_lines) - len(todo)
    rid = ledger_id(rem.id) if first else f"{ledger_id(rem.id)}-rerun{done_before}"
    claims = load_candidates(session, [ln for _, ln in lines], clock.now())
    payer = _payer_code(session, rem)
    paid_on: date = rem.payment_date or clock.now().date()
    matcher = Matcher(
        rid,
        payer,
        paid_on,
        rem.currency,
        claims,
        tolerance_rules(session, rem.currency),
        writeoff_limit(session, rem.currency),
    )
    applied: list[LineApplication] = []
    unmatched: list[UnmatchedLine] = []
    for index, line in lines:
        out = matcher.apply(index, line)
        (applied if isinstance(out, LineApplication) else unmatched).append(out)  # type: ignore[arg-type]
    remaining = len(unmatched)
    if not first:
        if not applied:
            return ApplyOutcome(
                rem.id, rem.status, 0, remaining, 0, (), f"Re-run of {rem.trace_number}: no further line matched."
            )
        unmatched = []  # still-unmatched lines keep their first postings and tasks
    result = matcher.result(applied, unmatched, matcher.provider_postings(_plbs(rem)) if first else ())
    writer = _Writer(session, clock, rem, claims)
    held = writer.postings(result)
    changes = writer.claims_and_invoices(applied)
    writer.lines(ids, applied, unmatched)
    for un in unmatched:
        _unmatched_task(session, clock, actor, rem, un)
    if held:
        _held_task(session, clock, actor, rem, held)
    accounts = account_map(session)
    entry = _journal(result, accounts if first else _unapplied_accounts(accounts))
    posted = tuple(post_entries(session, clock, actor, [entry])) if entry is not None else ()
    before = snapshot(rem)
    moved_in = sum(a.line.paid.minor for a in applied) if not first else 0
    rem.unapplied_minor = rem.unapplied_minor - moved_in + result.unapplied.minor
    target = RemittanceStatus.PARTLY_APPLIED if remaining else RemittanceStatus.APPLIED
    if target is not rem.status or target is RemittanceStatus.PARTLY_APPLIED:
        rem.status = advance("Remittance", rem.status, target)
    name = "cash-application.csv" if first else f"cash-application-{rid}.csv"
    if result.postings or applied or unmatched:
        keep_artefact(session, clock, store, "remittance", rem.id, name, cash_application_csv(result))
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
