"""Real files through the whole path: import → normalise → match → variances → held → resolve → posted once."""

from __future__ import annotations

import io
import json
from datetime import date

import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select

from app.archive import artefact_bytes
from app.audit import Actor
from app.claims.artefacts import ArtefactStore
from app.context import AppContext
from app.db.models import AuditEvent, ImportedFile, JournalEntry, JournalLine, Payout, PayoutLine, Task
from app.domain.status import PayoutStatus, Role, TaskStatus
from app.errors import DomainError, PermissionDenied
from app.payouts.journal import release_payout, resolve_variance
from app.payouts.ledger_match import reconcile_received
from app.payouts.normalise import PARQUET_NAME
from app.payouts.replay import replay_period
from app.payouts.service import import_settlement
from tests.payouts_flow.conftest import SALES, add_sales, configure

FINANCE = Actor(None, "finance", Role.FINANCE)
FRONT_DESK = Actor(None, "frontdesk", Role.FRONT_DESK)


def count(ctx: AppContext, model: type) -> int:
    with ctx.db.read() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def lines(ctx: AppContext) -> list[tuple[str, str, str, int, int | None]]:
    with ctx.db.read() as s:
        rows = s.scalars(select(PayoutLine).order_by(PayoutLine.id))
        return [(ln.booking_id, ln.status, ln.match_rule, ln.variance_minor, ln.payment_id) for ln in rows]


def payout(ctx: AppContext) -> Payout:
    with ctx.db.read() as s:
        found = s.scalar(select(Payout))
        assert found is not None
        return found


def test_import_match_hold_resolve_release_posts_once(clinic: AppContext, payout_file: bytes) -> None:
    ctx = clinic
    configure(ctx, payouts__batch_variance_limit_minor=200)  # the £5 variance breaches it

    imported = import_settlement(ctx, FINANCE, "classpass", "po_2026_03_001.json", payout_file)

    assert not imported.duplicate and imported.flagged == ()
    assert payout(ctx).status is PayoutStatus.RECEIVED
    with ctx.db.read() as s:
        store = ArtefactStore(ctx.paths.archive)
        raw = artefact_bytes(s, store, "imported_file", imported.file_id, "classpass-settlement.json")
        parquet = artefact_bytes(s, store, "imported_file", imported.file_id, PARQUET_NAME)
    assert raw == payout_file  # kept byte for byte
    assert parquet is not None
    table = pq.read_table(io.BytesIO(parquet))
    assert table.num_rows == 3
    assert json.loads(table.schema.metadata[b"clinic_billing.clinic"])["name"] == "Riverside Physio"

    run = reconcile_received(ctx, FINANCE)

    assert run.counts() == {
        "payouts": 1,
        "matched": 2,
        "variance": 1,
        "unmatched": 0,
        "sales_without_payout_line": 1,
        "variance_total": {"GBP": "£5.00"},
    }
    assert [(b, st, rule, v) for b, st, rule, v, _ in lines(ctx)] == [
        ("CPB-1001", "matched", "booking_id", 0),
        ("CPB-1002", "matched", "patient_date_amount", 0),
        ("CPB-1003", "variance", "booking_id", 500),
    ]
    assert all(pid is not None for *_, pid in lines(ctx))
    assert run.matched_ledger_csv.decode().splitlines()[0].startswith("line_id,sale_id,rule,status")
    assert json.loads(run.variance_report_json)["counts"]["variances"] == 1
    held = payout(ctx)
    assert held.status is PayoutStatus.HELD and "exceed the limit" in held.held_reason
    assert count(ctx, JournalEntry) == 0  # the journal waits
    with ctx.db.read() as s:
        kinds = sorted((t.kind, t.owner_role) for t in s.scalars(select(Task)))
    assert ("payout_review", "finance") in kinds
    assert kinds.count(("payout_variance", "finance")) == 1  # the £5 difference
    assert ("payout_variance", "manager") in kinds  # the sale with no payout line

    with pytest.raises(DomainError, match="open variance"):
        release_payout(ctx, FINANCE, held.id, "checked")
    variance_line = next(i for i, ln in zip(line_ids(ctx), lines(ctx), strict=True) if ln[1] == "variance")
    with pytest.raises(PermissionDenied):
        resolve_variance(ctx, FRONT_DESK, variance_line, "fine")
    with pytest.raises(DomainError, match="reason"):
        resolve_variance(ctx, FINANCE, variance_line, "  ")
    resolve_variance(ctx, FINANCE, variance_line, "ClassPass applied a £5 member discount")
    assert payout(ctx).status is PayoutStatus.HELD  # a person still releases it

    posted = release_payout(ctx, FINANCE, held.id, "variance explained by ClassPass")

    assert len(posted) == 1 and payout(ctx).status is PayoutStatus.POSTED
    assert count(ctx, JournalEntry) == 1
    with ctx.db.read() as s:
        jl = list(s.scalars(select(JournalLine)))
        review = s.scalar(select(Task).where(Task.kind == "payout_review"))
        journals_csv = artefact_bytes(s, ArtefactStore(ctx.paths.archive), "payout", held.id, "journals.csv")
    assert sum(x.debit_minor for x in jl) == sum(x.credit_minor for x in jl) == 14500  # gross £145
    assert {x.account: x.debit_minor for x in jl if x.debit_minor}["1200"] == 10712  # net to bank
    assert review is not None and review.status is TaskStatus.DONE
    assert journals_csv is not None and b"JE-" in journals_csv

    with pytest.raises(DomainError, match="not held"):
        release_payout(ctx, FINANCE, held.id, "again")
    assert reconcile_received(ctx, FINANCE).payouts == 0
    assert count(ctx, JournalEntry) == 1  # posted once


def test_under_the_limit_resolving_posts_automatically(clinic: AppContext, payout_file: bytes) -> None:
    ctx = clinic
    import_settlement(ctx, FINANCE, "classpass", "po.json", payout_file)
    reconcile_received(ctx, FINANCE)
    assert payout(ctx).status is PayoutStatus.VARIANCE
    line_id = next(i for i, ln in zip(line_ids(ctx), lines(ctx), strict=True) if ln[1] == "variance")
    resolve_variance(ctx, FINANCE, line_id, "discount")
    assert payout(ctx).status is PayoutStatus.POSTED
    assert count(ctx, JournalEntry) == 1


def test_replay_gives_the_same_result_and_posts_nothing(clinic: AppContext, payout_file: bytes) -> None:
    ctx = clinic
    import_settlement(ctx, FINANCE, "classpass", "po.json", payout_file)
    run = reconcile_received(ctx, FINANCE)
    journals, audit = count(ctx, JournalEntry), count(ctx, AuditEvent)

    first = replay_period(ctx, date(2026, 3, 1), date(2026, 3, 31))
    second = replay_period(ctx, date(2026, 3, 1), date(2026, 3, 31))

    assert first == second
    assert (first.matched, first.variance, first.unmatched) == (run.matched, run.variance, run.unmatched)
    assert first.matched_ledger_csv == run.matched_ledger_csv
    assert first.variance_report_json == run.variance_report_json
    assert first.differences == ()
    assert (count(ctx, JournalEntry), count(ctx, AuditEvent)) == (journals, audit)
    assert replay_period(ctx, date(2026, 4, 1), date(2026, 4, 30)).payouts == ()


def test_same_file_twice_changes_nothing(clinic: AppContext, payout_file: bytes) -> None:
    ctx = clinic
    import_settlement(ctx, FINANCE, "classpass", "po.json", payout_file)
    before = [count(ctx, m) for m in (Payout, PayoutLine, ImportedFile, AuditEvent, Task)]

    again = import_settlement(ctx, FINANCE, "classpass", "po-copy.json", payout_file)

    assert again.duplicate and again.payout_ids == ()
    assert [count(ctx, m) for m in (Payout, PayoutLine, ImportedFile, AuditEvent, Task)] == before


def test_payout_that_does_not_add_up_is_flagged_not_posted(clinic: AppContext, payout_file: bytes) -> None:
    ctx = clinic
    wrong = payout_file.replace(b'"total_net": "107.12"', b'"total_net": "117.12"')

    imported = import_settlement(ctx, FINANCE, "classpass", "po.json", wrong)

    assert imported.flagged and "lines add up to £107.12 but the payout total is £117.12" in imported.flagged[0]
    with ctx.db.read() as s:
        file = s.get(ImportedFile, imported.file_id)
        assert file is not None and file.status == "flagged"
        assert s.scalar(select(Task).where(Task.kind == "payout_variance", Task.entity_type == "payout"))
    reconcile_received(ctx, FINANCE)
    assert payout(ctx).status is PayoutStatus.HELD
    assert count(ctx, JournalEntry) == 0


def test_whole_path_on_sqlite_and_postgresql(any_ctx: AppContext, payout_file: bytes) -> None:
    ctx = any_ctx
    add_sales(ctx, SALES)
    configure(ctx, payouts__batch_variance_limit_minor=200)
    import_settlement(ctx, FINANCE, "classpass", "po.json", payout_file)
    run = reconcile_received(ctx, FINANCE)
    assert (run.matched, run.variance, run.held) == (2, 1, (payout(ctx).id,))
    variance_line = next(i for i, ln in zip(line_ids(ctx), lines(ctx), strict=True) if ln[1] == "variance")
    resolve_variance(ctx, FINANCE, variance_line, "discount")
    release_payout(ctx, FINANCE, payout(ctx).id, "checked")
    assert payout(ctx).status is PayoutStatus.POSTED and count(ctx, JournalEntry) == 1


def line_ids(ctx: AppContext) -> list[int]:
    with ctx.db.read() as s:
        return list(s.scalars(select(PayoutLine.id).order_by(PayoutLine.id)))
