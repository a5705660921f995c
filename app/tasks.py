"""The work queue: tasks for a role (a rejection to fix, a variance to review, a failed send)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from app.audit import Actor, record, snapshot
from app.clock import Clock
from app.db.models import Task
from app.domain.status import TaskPriority, TaskStatus, advance
from app.errors import NotFound


@dataclass(frozen=True, slots=True)
class TaskRow:
    id: int
    kind: str
    title: str
    detail: str
    recommended_fix: str
    priority: TaskPriority
    owner_role: str
    due_at: datetime | None
    status: TaskStatus
    entity_type: str
    entity_id: int | None
    created_at: datetime


def _row(t: Task) -> TaskRow:
    return TaskRow(
        t.id,
        t.kind,
        t.title,
        t.detail,
        t.recommended_fix,
        t.priority,
        t.owner_role,
        t.due_at,
        t.status,
        t.entity_type,
        t.entity_id,
        t.created_at,
    )


def open_task(
    session: Session,
    clock: Clock,
    actor: Actor,
    *,
    kind: str,
    title: str,
    owner_role: str,
    detail: str = "",
    recommended_fix: str = "",
    priority: TaskPriority = TaskPriority.NORMAL,
    due_at: datetime | None = None,
    entity_type: str = "",
    entity_id: int | None = None,
    dedupe_key: str | None = None,
) -> Task:
    """Open a task, or return the open one with the same ``dedupe_key`` (one task per cause)."""
    if dedupe_key:
        existing = session.scalar(select(Task).where(Task.dedupe_key == dedupe_key))
        if existing is not None:
            if existing.status in (TaskStatus.DONE, TaskStatus.CANCELLED):
                existing.dedupe_key = f"{dedupe_key}#closed-{existing.id}"
                session.flush()
            else:
                return existing
    task = Task(
        kind=kind,
        title=title[:200],
        detail=detail,
        recommended_fix=recommended_fix,
        priority=priority,
        owner_role=owner_role,
        due_at=due_at,
        status=TaskStatus.OPEN,
        entity_type=entity_type,
        entity_id=entity_id,
        dedupe_key=dedupe_key,
        created_at=clock.now(),
    )
    session.add(task)
    session.flush()
    record(session, clock, actor, "task.open", "task", task.id, None, snapshot(task))
    return task


def set_task_status(
    session: Session, clock: Clock, actor: Actor, task_id: int, status: TaskStatus, reason: str = ""
) -> TaskRow:
    task = session.get(Task, task_id)
    if task is None:
        raise NotFound(f"Task {task_id} does not exist.")
    before = snapshot(task)
    task.status = advance("Task", task.status, status)
    record(session, clock, actor, f"task.{status.value}", "task", task.id, before, snapshot(task), reason)
    return _row(task)


_PRIORITY_ORDER = case(
    {
        TaskPriority.URGENT.value: 0,
        TaskPriority.HIGH.value: 1,
        TaskPriority.NORMAL.value: 2,
        TaskPriority.LOW.value: 3,
    },
    value=Task.priority,
    else_=4,
)


def list_open_tasks(
    session: Session, owner_role: str | None = None, kind: str | None = None, limit: int = 500
) -> list[TaskRow]:
    q = select(Task).where(Task.status.in_([TaskStatus.OPEN, TaskStatus.IN_PROGRESS]))
    if owner_role:
        q = q.where(Task.owner_role == owner_role)
    if kind:
        q = q.where(Task.kind == kind)
    q = q.order_by(_PRIORITY_ORDER, Task.due_at.is_(None), Task.due_at, Task.id).limit(limit)
    return [_row(t) for t in session.scalars(q)]
