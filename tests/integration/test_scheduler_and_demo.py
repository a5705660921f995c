"""The scheduler keeps its jobs in the app database; the demo fills every view; SLA job opens tasks."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, text

from app.clock import FixedClock
from app.context import AppContext
from app.db.models import Claim, Clinic, Patient, Payment, Practitioner, Task
from app.demo import load_demo
from app.domain.status import ClaimStatus
from app.jobs import run_job
from app.scheduler import build_scheduler


def test_jobs_are_stored_in_the_app_database_and_survive_a_restart(ctx: AppContext) -> None:
    scheduler = build_scheduler(ctx)
    scheduler.start(paused=True)
    try:
        ids = {j.id for j in scheduler.get_jobs()}
        assert {"outbox_dispatch", "stripe_poll", "insurer_sftp_poll", "treatwell_daily", "sla_check"} <= ids
        sftp = scheduler.get_job("insurer_sftp_poll")
        assert "hour='6-22'" in str(sftp.trigger) and str(sftp.trigger.timezone) == "Europe/London"
        assert str(scheduler.get_job("treatwell_daily").trigger).startswith("cron[hour='5', minute='0'")
        assert sftp.func_ref == "app.jobs:scheduled_job"
    finally:
        scheduler.shutdown(wait=False)
    with ctx.db.read() as s:
        assert s.execute(text("SELECT count(*) FROM apscheduler_jobs")).scalar() == 10
    again = build_scheduler(ctx)
    again.start(paused=True)
    try:
        assert len(again.get_jobs()) == 10  # replaced, not duplicated
    finally:
        again.shutdown(wait=False)


def test_demo_fills_every_entity_and_is_deterministic(any_ctx: AppContext) -> None:
    summary = load_demo(any_ctx.db, any_ctx.clock, seed=3)
    assert summary.clinics == 2 and summary.practitioners == 6 and summary.patients == 500
    with any_ctx.db.read() as s:
        statuses = {c for (c,) in s.execute(select(Claim.status).distinct())}
        assert statuses >= {
            ClaimStatus.DRAFT,
            ClaimStatus.READY,
            ClaimStatus.SUBMITTED,
            ClaimStatus.ACKNOWLEDGED,
            ClaimStatus.REJECTED,
            ClaimStatus.PAID,
            ClaimStatus.DENIED,
            ClaimStatus.CLOSED,
        }
        assert s.scalar(select(func.count()).select_from(Payment)) > 300
        assert s.scalar(select(func.count()).select_from(Patient)) == 500
        assert s.scalar(select(func.count()).select_from(Practitioner)) == 6
        assert s.scalar(select(func.count()).select_from(Clinic)) == 2


def test_sla_job_escalates_claims_without_adjudication_after_48h(ctx: AppContext, clock: FixedClock) -> None:
    load_demo(ctx.db, clock, claims=200)
    with ctx.db.unit_of_work() as s:
        s.execute(text("DELETE FROM task"))
        claim = s.scalars(select(Claim).where(Claim.status == ClaimStatus.SUBMITTED)).first()
        assert claim is not None
        claim.submitted_at = clock.now() - timedelta(hours=47, minutes=59)
        late_ids = [
            c.id
            for c in s.scalars(
                select(Claim)
                .where(Claim.status.in_([ClaimStatus.SUBMITTED, ClaimStatus.ACKNOWLEDGED]))
                .where(Claim.id != claim.id)
            )
        ]
        for c in s.scalars(select(Claim).where(Claim.id.in_(late_ids))):
            c.submitted_at = clock.now() - timedelta(hours=50)
        watched = claim.id
    result = run_job(ctx, "sla_check")
    assert result.startswith(f"{len(late_ids)} claim(s)")
    with ctx.db.read() as s:
        flagged = {t.entity_id for t in s.scalars(select(Task).where(Task.kind == "claim_sla_breach"))}
    assert watched not in flagged and flagged == set(late_ids)
    run_job(ctx, "sla_check")  # again: one task per claim, not two
    with ctx.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Task)) == len(late_ids)
    clock.advance(timedelta(minutes=2))
    run_job(ctx, "sla_check")
    with ctx.db.read() as s:
        assert watched in {t.entity_id for t in s.scalars(select(Task))}
