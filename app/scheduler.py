"""APScheduler 3.x with its SQLAlchemy job store in the app's own database.

Jobs are references to ``app.jobs:scheduled_job`` with plain arguments (job name, database URL),
never lambdas or UI methods, so they survive restarts. Cadences come from Settings.
"""

from __future__ import annotations

import logging
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from app.context import AppContext
from app.settings import DEFAULT_SCHEDULES, get_setting

log = logging.getLogger(__name__)
JOB_TABLE = "apscheduler_jobs"


def make_trigger(spec: dict[str, Any]) -> CronTrigger | IntervalTrigger:
    spec = dict(spec)
    kind = spec.pop("trigger", "interval")
    if kind == "cron":
        return CronTrigger(**spec)
    if kind == "interval":
        return IntervalTrigger(**spec)
    raise ValueError(f"unknown trigger {kind!r}")


def build_scheduler(ctx: AppContext) -> BackgroundScheduler:
    """A scheduler whose jobs are stored in the app database and re-read from Settings."""
    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=ctx.db.engine, tablename=JOB_TABLE)},
        executors={"default": ThreadPoolExecutor(max_workers=2)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
        timezone="UTC",
    )
    with ctx.db.read() as s:
        schedules: dict[str, dict[str, Any]] = get_setting(s, "schedules") or {}
    for sched in DEFAULT_SCHEDULES:
        spec = schedules.get(sched.job) or {"trigger": sched.trigger, **sched.args}
        scheduler.add_job(
            "app.jobs:scheduled_job",
            trigger=make_trigger(spec),
            args=[sched.job, ctx.db.url],
            id=sched.job,
            name=sched.description,
            replace_existing=True,
        )
    return scheduler
