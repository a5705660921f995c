"""Work queue, audit log, outbox, settings, journals."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Date, Float, ForeignKey, Integer, LargeBinary, String, Table, Text, Unicode
from sqlalchemy.orm import Mapped, mapped_column

from app.db.models.base import Base, currency_column, money_column
from app.db.types import EnumText
from app.domain.status import OutboxStatus, TaskPriority, TaskStatus


class Task(Base):
    """A work-queue item for a role: a rejection to fix, a variance to review, a failed send."""

    __tablename__ = "task"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    title: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text, default="")
    recommended_fix: Mapped[str] = mapped_column(Text, default="")
    priority: Mapped[TaskPriority] = mapped_column(EnumText(TaskPriority), default=TaskPriority.NORMAL)
    owner_role: Mapped[str] = mapped_column(String(20), index=True)
    due_at: Mapped[datetime | None] = mapped_column(index=True)
    status: Mapped[TaskStatus] = mapped_column(EnumText(TaskStatus), default=TaskStatus.OPEN, index=True)
    entity_type: Mapped[str] = mapped_column(String(30), default="")
    entity_id: Mapped[int | None]
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)  # one open task per cause
    created_at: Mapped[datetime]


class AuditEvent(Base):
    """Append-only, hash-chained: ``hash`` = SHA-256 over this row's content and ``prev_hash``."""

    __tablename__ = "audit_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(60))
    action: Mapped[str] = mapped_column(String(60))
    entity_type: Mapped[str] = mapped_column(String(30), index=True)
    entity_id: Mapped[str] = mapped_column(String(40), index=True)
    before_json: Mapped[str] = mapped_column(Text, default="null")
    after_json: Mapped[str] = mapped_column(Text, default="null")
    reason: Mapped[str] = mapped_column(Text, default="")
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)  # no forks
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class OutboxMessage(Base):
    """An outgoing action, written in the same transaction as the change that causes it."""

    __tablename__ = "outbox_message"
    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)  # claim.submit, refund.execute, notify.email ...
    provider: Mapped[str] = mapped_column(String(40), index=True)
    payload_json: Mapped[str] = mapped_column(Text)
    status: Mapped[OutboxStatus] = mapped_column(EnumText(OutboxStatus), default=OutboxStatus.PENDING, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(index=True)
    claimed_until: Mapped[datetime | None]  # a dispatcher's lease; expired leases are taken over
    last_error: Mapped[str] = mapped_column(Text, default="")
    result_json: Mapped[str] = mapped_column(Text, default="null")
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class Setting(Base):
    """A non-secret user setting (JSON value). Secrets live only in the OS keyring."""

    __tablename__ = "setting"
    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    value_json: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]


class JournalEntry(Base):
    __tablename__ = "journal_entry"
    id: Mapped[int] = mapped_column(primary_key=True)
    entry_key: Mapped[str] = mapped_column(String(120), unique=True)  # deterministic: posting is idempotent
    entry_date: Mapped[date] = mapped_column(Date, index=True)
    description: Mapped[str] = mapped_column(String(300))
    source_kind: Mapped[str] = mapped_column(String(30))
    source_id: Mapped[str] = mapped_column(String(60))
    posted_at: Mapped[datetime]


class JournalLine(Base):
    __tablename__ = "journal_line"
    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entry.id", ondelete="CASCADE"), index=True)
    account: Mapped[str] = mapped_column(String(20))
    debit_minor: Mapped[int] = money_column()
    credit_minor: Mapped[int] = money_column()
    currency: Mapped[str] = currency_column()
    memo: Mapped[str] = mapped_column(String(300), default="")


# APScheduler 3.x's job store table, created by our migrations (its own create is then a no-op).
apscheduler_jobs = Table(
    "apscheduler_jobs",
    Base.metadata,
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),  # a POSIX timestamp, not money
    Column("job_state", LargeBinary, nullable=False),
)
