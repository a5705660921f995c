"""The audit chain: every change recorded; `audit verify` names an edited row and a deleted row."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import delete, text, update

from app.audit import SYSTEM, record, verify
from app.clock import FixedClock
from app.context import AppContext
from app.db.models import AuditEvent
from app.domain.status import Role
from app.users import create_user


def _fill(ctx: AppContext, n: int = 6) -> None:
    with ctx.db.unit_of_work() as s:
        create_user(s, ctx.clock, SYSTEM, "maya", "Maya Patel", Role.MANAGER, "2468")
        for i in range(n):
            record(s, ctx.clock, SYSTEM, "claim.submit", "claim", i, {"status": "ready"}, {"status": "submitted"})


def test_intact_chain_verifies(any_ctx: AppContext) -> None:
    _fill(any_ctx)
    with any_ctx.db.read() as s:
        report = verify(s)
    assert report.ok and report.checked == 7


def test_edited_row_is_named(any_ctx: AppContext) -> None:
    _fill(any_ctx)
    with any_ctx.db.unit_of_work() as s:
        s.execute(update(AuditEvent).where(AuditEvent.id == 4).values(after_json='{"status": "paid"}'))
    with any_ctx.db.read() as s:
        report = verify(s)
    assert not report.ok and report.first_broken_id == 4
    assert "changed" in report.problem


def test_deleted_row_is_named(any_ctx: AppContext) -> None:
    _fill(any_ctx)
    with any_ctx.db.unit_of_work() as s:
        s.execute(delete(AuditEvent).where(AuditEvent.id == 3))
    with any_ctx.db.read() as s:
        report = verify(s)
    assert not report.ok and report.first_broken_id == 3
    assert "missing" in report.problem


def test_deleting_the_newest_rows_is_caught_by_the_chain_head(ctx: AppContext) -> None:
    _fill(ctx)
    with ctx.db.unit_of_work() as s:
        s.execute(delete(AuditEvent).where(AuditEvent.id >= 6))
    with ctx.db.read() as s:
        report = verify(s)
    assert not report.ok and report.first_broken_id == 6


def test_a_forged_replacement_row_with_a_recomputed_hash_breaks_the_next_link(ctx: AppContext) -> None:
    _fill(ctx)
    with ctx.db.unit_of_work() as s:
        s.execute(text("UPDATE audit_event SET hash = :h WHERE id = 2"), {"h": "f" * 64})
    with ctx.db.read() as s:
        report = verify(s)
    assert not report.ok and report.first_broken_id == 2


def test_cli_audit_verify_exit_codes(ctx: AppContext, sqlite_url: str, clock: FixedClock) -> None:
    _fill(ctx)
    ok = subprocess.run(
        [sys.executable, "-m", "app.cli.main", "audit", "verify", "--db", sqlite_url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    assert "intact: 7 event(s)" in ok.stdout
    with ctx.db.unit_of_work() as s:
        s.execute(update(AuditEvent).where(AuditEvent.id == 5).values(actor="mallory"))
    bad = subprocess.run(
        [sys.executable, "-m", "app.cli.main", "--db", sqlite_url, "audit", "verify"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 4
    assert "BROKEN at event 5" in bad.stdout
    assert "Traceback" not in bad.stdout + bad.stderr


@pytest.mark.postgres
def test_two_desks_appending_at_once_never_fork_the_chain(pg_url: str, clock: FixedClock, paths: object) -> None:
    import threading

    ctxs = [AppContext.open(pg_url, clock=clock, paths=paths) for _ in range(2)]  # type: ignore[arg-type]
    errors: list[BaseException] = []

    def work(c: AppContext, tag: str) -> None:
        try:
            for i in range(15):
                with c.db.unit_of_work() as s:
                    record(s, c.clock, SYSTEM, "test.append", tag, i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(c, f"desk{i}")) for i, c in enumerate(ctxs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with ctxs[0].db.read() as s:
        report = verify(s)
    assert report.ok and report.checked == 30
    for c in ctxs:
        c.close()
