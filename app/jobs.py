"""Background jobs: thin, importable calls into services (APScheduler pickles "module:function" refs)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from app.audit import SYSTEM
from app.context import AppContext
from app.db.models import Claim
from app.domain.status import ClaimStatus, TaskPriority
from app.errors import ClinicBillingError
from app.outbox import Dispatcher
from app.settings import DEFAULT_SCHEDULES, get_setting
from app.tasks import open_task

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    description: str
    run: Callable[[AppContext], str]


def outbox_dispatch(ctx: AppContext) -> str:
    from app.routes import build_routes

    report = Dispatcher(ctx.db, ctx.clock, build_routes(ctx)).run_once()
    return str(report)


def sla_check(ctx: AppContext) -> str:
    """Claims submitted more than N hours ago with no adjudication: escalate to a high-priority task."""
    now = ctx.clock.now()
    with ctx.db.unit_of_work() as s:
        hours = int(get_setting(s, "claims.sla_hours"))
        cutoff = now - timedelta(hours=hours)
        late = s.scalars(  # exactly 48 h is a breach (app.claims.sla)
            select(Claim)
            .where(Claim.status.in_([ClaimStatus.SUBMITTED, ClaimStatus.ACKNOWLEDGED]))
            .where(Claim.submitted_at <= cutoff)
        ).all()
        for c in late:
            assert c.submitted_at is not None
            waited = int((now - c.submitted_at).total_seconds() // 3600)
            open_task(
                s,
                ctx.clock,
                SYSTEM,
                kind="claim_sla_breach",
                owner_role="manager",
                title=f"{c.number}: no adjudication after {waited} h",
                detail=f"Submitted {c.submitted_at:%d %b %Y %H:%M} UTC, insurer ref {c.insurer_ref or 'none yet'}.",
                recommended_fix="Chase the insurer quoting the claim number and insurer reference.",
                priority=TaskPriority.URGENT,
                due_at=now,
                entity_type="claim",
                entity_id=c.id,
                dedupe_key=f"claim-sla:{c.id}",
            )
    return f"{len(late)} claim(s) past {hours} h without adjudication"


def _provider_poll(provider: str) -> Callable[[AppContext], str]:
    def run(ctx: AppContext) -> str:
        from app.routes import poll_provider

        return poll_provider(ctx, provider)

    run.__name__ = f"poll_{provider}"
    return run


def remittance_collect(ctx: AppContext) -> str:
    """Apply remittance files the insurer channels collected (registered, not yet applied)."""
    from app.remittance.sync import collect_pending

    return collect_pending(ctx)


_RUNNERS: dict[str, Callable[[AppContext], str]] = {
    "remittance_collect": remittance_collect,
    "outbox_dispatch": outbox_dispatch,
    "sla_check": sla_check,
    "insurer_sftp_poll": _provider_poll("insurer_sftp"),
    "insurer_portal_nightly": _provider_poll("insurer_portal"),
    "clearinghouse_poll": _provider_poll("clearinghouse"),
    "classpass_catch_up": _provider_poll("classpass"),
    "treatwell_daily": _provider_poll("treatwell"),
    "stripe_poll": _provider_poll("stripe"),
    "square_poll": _provider_poll("square"),
}

JOBS: dict[str, Job] = {s.job: Job(s.description, _RUNNERS[s.job]) for s in DEFAULT_SCHEDULES}


def run_job(ctx: AppContext, name: str) -> str:
    """Run one job now; a failure is logged and reported as text (a job never kills the scheduler)."""
    try:
        return JOBS[name].run(ctx)
    except ClinicBillingError as exc:
        log.warning("job %s failed: %s", name, exc)
        return f"failed: {exc}"
    except Exception as exc:
        log.exception("job %s crashed", name)
        return f"failed: unexpected {type(exc).__name__} (see the log)"


_contexts: dict[str, AppContext] = {}
_lock = threading.Lock()


def scheduled_job(name: str, db_url: str) -> str:
    """What APScheduler calls (by reference ``app.jobs:scheduled_job``) with plain, picklable arguments."""
    with _lock:
        ctx = _contexts.get(db_url)
        if ctx is None:
            ctx = _contexts[db_url] = AppContext.open(db_url, migrate=False)
    result = run_job(ctx, name)
    log.info("job %s: %s", name, result)
    return result
