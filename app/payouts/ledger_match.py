"""Reconcile received marketplace payouts to the clinic's sales ledger and write the results back.

The sales ledger is the ``payment`` table (marketplace payments: provider ``classpass``/``treatwell``,
``provider_ref`` = booking id). Each payout is matched against the sales of its clinic with that
clinic's tolerance (Settings ``payouts.tolerance``). Per payout line: status, rule, variance and the
payment it matched; each variance becomes a task for the responsible role. A payout whose
variances exceed ``payouts.batch_variance_limit_minor`` (or whose lines do not add up) is HELD: a
finance review task opens and its journal waits for a person to release it. Everything else posts
its journal once (entry ids are deterministic).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.archive import keep_artefact
from app.audit import Actor, record, snapshot
from app.claims.artefacts import ArtefactStore
from app.clock import Clock
from app.context import AppContext
from app.db.models import Encounter, Invoice, Patient, Payment
from app.db.models import Payout as PayoutRow
from app.db.models import PayoutLine as PayoutLineRow
from app.domain.status import PaymentStatus, PayoutStatus, TaskPriority, advance
from app.money import Money
from app.payouts import journal
from app.payouts.normalise import Payout, PayoutLine, payout_lines_frame
from app.payouts.notify import queue_finance_summary
from app.payouts.reconcile import SALE_COLUMNS, ReconcileResult, Tolerance, reconcile
from app.payouts.reports import MATCHED_LEDGER_NAME, VARIANCE_REPORT_NAME, matched_ledger, variance_report
from app.payouts.service import SOURCES, clinic_for, clinic_metadata
from app.settings import get_setting
from app.tasks import open_task
from app.users import Permission, require

DEFAULT_TOLERANCE = {"default": {"absolute_minor": 100, "percent": "0"}}
DEFAULT_BATCH_LIMIT_MINOR = 5_000
DEFAULT_ROLES = {"amount": "finance", "line_without_sale": "finance", "sale_without_line": "manager"}
OPEN_LINE_STATUSES = ("variance", "unmatched")


@dataclass(frozen=True, slots=True)
class RunResult:
    """One reconciliation: counts of the lines it touched and the two reports as bytes."""

    payouts: int
    matched: int
    variance: int
    unmatched: int
    sales_without_payout_line: int
    variance_total: dict[str, str]
    held: tuple[int, ...]
    posted: tuple[int, ...]
    matched_ledger_csv: bytes
    variance_report_json: bytes

    def counts(self) -> dict[str, Any]:
        return {
            "payouts": self.payouts,
            "matched": self.matched,
            "variance": self.variance,
            "unmatched": self.unmatched,
            "sales_without_payout_line": self.sales_without_payout_line,
            "variance_total": self.variance_total,
        }


def tolerance_for(session: Session, clinic_id: int | None) -> Tolerance:
    """``payouts.tolerance``: ``{"default": {...}, "<clinic id>": {"absolute_minor": 100, "percent": "0.5"}}``."""
    table: dict[str, Any] = get_setting(session, "payouts.tolerance") or DEFAULT_TOLERANCE
    entry = table.get(str(clinic_id)) or table.get("default") or {}
    return Tolerance(int(entry.get("absolute_minor", 0)), Decimal(str(entry.get("percent", "0"))))


def batch_limit(session: Session) -> int:
    return int(get_setting(session, "payouts.batch_variance_limit_minor") or DEFAULT_BATCH_LIMIT_MINOR)


def sales_frame(session: Session, clinic_id: int, windows: dict[str, tuple[date, date]]) -> pl.DataFrame:
    """The clinic's marketplace sales per source whose service date falls in that source's window."""
    rows: list[dict[str, Any]] = []
    for source, (first, last) in sorted(windows.items()):
        q = (
            select(Payment, Patient.ref, Encounter.service_date)
            .outerjoin(Patient, Patient.id == Payment.patient_id)
            .outerjoin(Invoice, Invoice.id == Payment.invoice_id)
            .outerjoin(Encounter, Encounter.id == Invoice.encounter_id)
            .where(Payment.provider == source, Payment.clinic_id == clinic_id)
            .where(Payment.status != PaymentStatus.FAILED)
            .order_by(Payment.id)
        )
        for pay, ref, served in session.execute(q):
            day = served or pay.taken_at.date()
            if first <= day <= last:
                rows.append(
                    {
                        "sale_id": str(pay.id),
                        "source": source,
                        "booking_id": pay.provider_ref or None,
                        "patient_ref": ref,
                        "service_date": day,
                        "currency": pay.currency,
                        "amount_minor": pay.gross_minor,
                    }
                )
    return pl.DataFrame(rows, schema=SALE_COLUMNS)


def match(session: Session, payouts: Sequence[Payout]) -> ReconcileResult:
    """Reconcile ``payouts`` clinic by clinic (each with its own tolerance); deterministic."""
    groups: dict[int, list[Payout]] = {}
    for p in payouts:
        clinic = clinic_for(session, p)
        groups.setdefault(clinic.id if clinic else 0, []).append(p)
    results = []
    for clinic_id in sorted(groups):
        group = groups[clinic_id]
        windows: dict[str, tuple[date, date]] = {}
        for p in group:
            for line in p.lines:
                lo, hi = windows.get(p.source, (line.service_date, line.service_date))
                windows[p.source] = (min(lo, line.service_date), max(hi, line.service_date))
        sales = sales_frame(session, clinic_id, windows)
        results.append(reconcile(payout_lines_frame(group), sales, tolerance_for(session, clinic_id)))
    if not results:
        results.append(reconcile(payout_lines_frame([]), pl.DataFrame([], schema=SALE_COLUMNS), Tolerance()))
    return ReconcileResult(*(pl.concat([getattr(r, f.name) for r in results]) for f in fields(ReconcileResult)))


def as_payout(row: PayoutRow, lines: Sequence[PayoutLineRow]) -> Payout:
    """A stored payout in the normalised shape (lines in stored order, so line ids match the import)."""

    def m(minor: int, currency: str) -> Money:
        return Money(minor, currency)

    return Payout(
        row.source,
        row.provider_ref,
        row.payout_date,
        row.currency,
        m(row.expected_minor, row.currency),
        tuple(
            PayoutLine(
                booking_id=ln.booking_id or None,
                patient_ref=ln.patient_ref or None,
                service_date=ln.service_date or row.payout_date,
                gross=m(ln.gross_minor, ln.currency),
                commission=m(ln.commission_minor, ln.currency),
                processing_fee=m(ln.processing_fee_minor, ln.currency),
                vat_on_fees=m(ln.vat_on_fees_minor, ln.currency),
                net=m(ln.net_minor, ln.currency),
                currency=ln.currency,
            )
            for ln in lines
        ),
    )


def line_id(source: str, payout_ref: str, n: int) -> str:
    return f"{source}:{payout_ref}:{n:06d}"


def report_bytes(session: Session, result: ReconcileResult, payouts: Sequence[Payout]) -> tuple[bytes, bytes]:
    """``matched-ledger.csv`` and ``variance-report.json`` (byte for byte the same for the same inputs)."""
    clinic = clinic_metadata(clinic_for(session, payouts[0])) if payouts else {}
    csv_bytes = matched_ledger(result).write_csv().encode("utf-8")
    report = json.dumps(variance_report(result, clinic), indent=2, sort_keys=True) + "\n"
    return csv_bytes, report.encode("utf-8")


def reconcile_received(
    ctx: AppContext, actor: Actor, *, date_from: date | None = None, date_to: date | None = None
) -> RunResult:
    """Reconcile every received ClassPass/Treatwell payout (paid in the period) in one unit of work."""
    require(actor, Permission.IMPORT_FILES)
    store = ArtefactStore(ctx.paths.archive)
    with ctx.db.unit_of_work() as s:
        q = select(PayoutRow).where(PayoutRow.source.in_(SOURCES), PayoutRow.status == PayoutStatus.RECEIVED)
        if date_from:
            q = q.where(PayoutRow.payout_date >= date_from)
        if date_to:
            q = q.where(PayoutRow.payout_date <= date_to)
        rows = list(s.scalars(q.order_by(PayoutRow.payout_date, PayoutRow.id)))
        by_id: dict[str, PayoutLineRow] = {}
        payouts = []
        for row in rows:
            lines = journal.lines_of(s, row.id)
            payouts.append(as_payout(row, lines))
            by_id.update({line_id(row.source, row.provider_ref, n): ln for n, ln in enumerate(lines, start=1)})
        result = match(s, payouts)
        roles: dict[str, str] = {**DEFAULT_ROLES, **(get_setting(s, "payouts.variance_roles") or {})}
        _write_back(s, ctx.clock, actor, result, by_id, roles)
        csv_bytes, report = report_bytes(s, result, payouts)
        held, posted = [], []
        limit = batch_limit(s)
        for row in rows:
            keep_artefact(s, ctx.clock, store, "payout", row.id, MATCHED_LEDGER_NAME, csv_bytes)
            keep_artefact(s, ctx.clock, store, "payout", row.id, VARIANCE_REPORT_NAME, report)
            if _settle(s, ctx.clock, actor, store, row, limit):
                posted.append(row.id)
            elif row.status is PayoutStatus.HELD:
                held.append(row.id)
        if rows and (result.variances.height or result.unmatched_lines.height or result.unmatched_sales.height):
            queue_finance_summary(s, ctx.clock, actor)
        return RunResult(
            len(rows),
            result.matched.height,
            result.variances.height,
            result.unmatched_lines.height,
            result.unmatched_sales.height,
            _variance_totals(result),
            tuple(held),
            tuple(posted),
            csv_bytes,
            report,
        )


def _variance_totals(result: ReconcileResult) -> dict[str, str]:
    both = pl.concat(
        [
            result.variances.select("currency", pl.col("difference_minor").abs().alias("v")),
            result.unmatched_lines.select("currency", pl.col("gross_minor").abs().alias("v")),
        ]
    )
    sums = both.group_by("currency").agg(pl.col("v").sum()).sort("currency")
    return {c: str(Money(int(v), c)) for c, v in sums.iter_rows()}


def _write_back(
    s: Session,
    clock: Clock,
    actor: Actor,
    result: ReconcileResult,
    lines: dict[str, PayoutLineRow],
    roles: dict[str, str],
) -> None:
    pairs = [(r, "matched") for r in result.matched.iter_rows(named=True)]
    pairs += [(r, "variance") for r in result.variances.iter_rows(named=True)]
    for r, status in pairs:
        ln = lines[r["line_id"]]
        ln.status, ln.match_rule, ln.variance_minor = status, r["rule"], r["difference_minor"]
        ln.payment_id = int(r["sale_id"])
        if status == "variance":
            _variance_task(
                s,
                clock,
                actor,
                ln,
                roles["amount"],
                f"Payout line {r['line_id']} differs from sale {r['sale_id']} "
                f"by {Money(ln.variance_minor, ln.currency)}",
            )
    for r in result.unmatched_lines.iter_rows(named=True):
        ln = lines[r["line_id"]]
        ln.status, ln.match_rule, ln.variance_minor, ln.payment_id = "unmatched", "", ln.gross_minor, None
        _variance_task(
            s,
            clock,
            actor,
            ln,
            roles["line_without_sale"],
            f"Payout line {r['line_id']} (booking {ln.booking_id or '—'}, patient {ln.patient_ref or '—'}) has no sale",
        )
    for r in result.unmatched_sales.iter_rows(named=True):
        open_task(
            s,
            clock,
            actor,
            kind="payout_variance",
            title=f"{r['source']} sale {r['sale_id']} (booking {r['booking_id'] or '—'}) has no payout line",
            detail=f"Service date {r['service_date']}, amount {Money(r['amount_minor'], r['currency'])}.",
            recommended_fix="Ask the marketplace why the booking was not paid, or mark the sale as not due.",
            owner_role=roles["sale_without_line"],
            entity_type="payment",
            entity_id=int(r["sale_id"]),
            dedupe_key=f"payout-sale:{r['sale_id']}",
        )
    s.flush()


def _variance_task(s: Session, clock: Clock, actor: Actor, ln: PayoutLineRow, role: str, title: str) -> None:
    open_task(
        s,
        clock,
        actor,
        kind="payout_variance",
        title=title,
        detail=f"Rule: {ln.match_rule or 'no match'}; variance {Money(ln.variance_minor, ln.currency)}.",
        recommended_fix="Check the booking with the marketplace, then resolve the variance with a reason.",
        owner_role=role,
        entity_type="payout_line",
        entity_id=ln.id,
        dedupe_key=f"payout-line:{ln.id}",
    )


def _settle(s: Session, clock: Clock, actor: Actor, store: ArtefactStore, row: PayoutRow, limit: int) -> bool:
    """Set the payout's status from its lines; post its journal when nothing is open. True when posted."""
    before = snapshot(row)
    open_total = int(
        s.scalar(
            select(func.coalesce(func.sum(func.abs(PayoutLineRow.variance_minor)), 0)).where(
                PayoutLineRow.payout_id == row.id, PayoutLineRow.status.in_(OPEN_LINE_STATUSES)
            )
        )
        or 0
    )
    open_count = journal.open_lines(s, row.id)
    if not open_count and not row.held_reason:
        row.status = advance("Payout", row.status, PayoutStatus.MATCHED)
        record(s, clock, actor, "payout.matched", "payout", row.id, before, snapshot(row))
        journal.post_payout(s, clock, actor, store, row)
        return True
    row.status = advance("Payout", row.status, PayoutStatus.VARIANCE)
    breached = open_total > limit
    if breached or row.held_reason:
        row.status = advance("Payout", row.status, PayoutStatus.HELD)
        if breached:
            why = f"variances of {Money(open_total, row.currency)} exceed the limit of {Money(limit, row.currency)}"
            row.held_reason = "; ".join(x for x in (row.held_reason, why) if x)
        open_task(
            s,
            clock,
            actor,
            kind="payout_review",
            title=f"Review {row.source} payout {row.provider_ref}: journal held",
            detail=row.held_reason,
            recommended_fix="Resolve each variance with a reason, then release the payout to post its journal.",
            owner_role="finance",
            priority=TaskPriority.HIGH,
            entity_type="payout",
            entity_id=row.id,
            dedupe_key=f"payout-review:{row.id}",
        )
    record(s, clock, actor, f"payout.{row.status.value}", "payout", row.id, before, snapshot(row))
    return False
