"""Local users and roles: PINs/passwords hashed with argon2id; permissions by role."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import Actor, record, snapshot
from app.clock import Clock
from app.db.engine import Database
from app.db.models import User
from app.domain.status import Role
from app.errors import AuthenticationFailed, DomainError, PermissionDenied

_hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)  # OWASP argon2id minimum
MAX_FAILED_ATTEMPTS = 5


class Permission(StrEnum):
    VIEW = "view"
    PREPARE_CLAIMS = "prepare_claims"
    SUBMIT_CLAIMS = "submit_claims"
    REVIEW_RISK = "review_risk"
    PROPOSE_REFUND = "propose_refund"
    APPROVE_REFUND = "approve_refund"
    CLOSE_SHIFT = "close_shift"
    IMPORT_FILES = "import_files"
    APPROVE_WRITEOFF = "approve_writeoff"
    POST_JOURNALS = "post_journals"
    MANAGE_SETTINGS = "manage_settings"
    MANAGE_USERS = "manage_users"


_ALL = frozenset(Permission)
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.FRONT_DESK: frozenset(
        {Permission.VIEW, Permission.PREPARE_CLAIMS, Permission.PROPOSE_REFUND, Permission.CLOSE_SHIFT}
    ),
    Role.MANAGER: frozenset(
        {
            Permission.VIEW,
            Permission.PREPARE_CLAIMS,
            Permission.SUBMIT_CLAIMS,
            Permission.REVIEW_RISK,
            Permission.PROPOSE_REFUND,
            Permission.APPROVE_REFUND,
            Permission.CLOSE_SHIFT,
            Permission.IMPORT_FILES,
            Permission.APPROVE_WRITEOFF,
        }
    ),
    Role.FINANCE: frozenset(
        {
            Permission.VIEW,
            Permission.SUBMIT_CLAIMS,
            Permission.PROPOSE_REFUND,
            Permission.APPROVE_REFUND,
            Permission.IMPORT_FILES,
            Permission.APPROVE_WRITEOFF,
            Permission.POST_JOURNALS,
            Permission.CLOSE_SHIFT,
        }
    ),
    Role.ADMIN: _ALL,
}

ROLE_LABELS: dict[Role, str] = {
    Role.FRONT_DESK: "Front desk",
    Role.MANAGER: "Manager",
    Role.FINANCE: "Finance",
    Role.ADMIN: "Administrator",
}


def require(actor: Actor, permission: Permission) -> None:
    if permission not in ROLE_PERMISSIONS[actor.role]:
        raise PermissionDenied(
            f"{actor.username} ({ROLE_LABELS[actor.role]}) may not {permission.value.replace('_', ' ')}."
        )


def hash_secret(secret: str) -> str:
    if len(secret) < 4:
        raise DomainError("A PIN or password needs at least 4 characters.")
    return _hasher.hash(secret)


@dataclass(frozen=True, slots=True)
class UserRow:
    id: int
    username: str
    display_name: str
    role: Role
    active: bool


def _row(u: User) -> UserRow:
    return UserRow(u.id, u.username, u.display_name, u.role, u.active)


def create_user(
    session: Session, clock: Clock, actor: Actor, username: str, display_name: str, role: Role, secret: str
) -> UserRow:
    username = username.strip().lower()
    if not username:
        raise DomainError("A user needs a user name.")
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise DomainError(f"There is already a user called {username!r}.")
    user = User(
        username=username,
        display_name=display_name,
        role=role,
        secret_hash=hash_secret(secret),
        active=True,
        created_at=clock.now(),
        failed_attempts=0,
    )
    session.add(user)
    session.flush()
    after = snapshot(user) or {}
    after.pop("secret_hash", None)
    record(session, clock, actor, "user.create", "user", user.id, None, after)
    return _row(user)


def sign_in(db: Database, clock: Clock, username: str, secret: str) -> Actor:
    """Check the PIN/password and return the acting user; a failure is counted (and committed) first."""
    with db.unit_of_work() as session:
        outcome = _authenticate(session, clock, username, secret)
    if isinstance(outcome, str):
        raise AuthenticationFailed(outcome)
    return outcome


def _authenticate(session: Session, clock: Clock, username: str, secret: str) -> Actor | str:
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None or not user.active:
        return "Unknown user or wrong PIN."
    if user.failed_attempts >= MAX_FAILED_ATTEMPTS:
        return f"{user.username} is locked after {MAX_FAILED_ATTEMPTS} wrong PINs: ask an administrator to reset it."
    try:
        _hasher.verify(user.secret_hash, secret)
    except (VerificationError, InvalidHashError):
        user.failed_attempts += 1
        return "Unknown user or wrong PIN."
    if user.failed_attempts:
        user.failed_attempts = 0
    if _hasher.check_needs_rehash(user.secret_hash):
        user.secret_hash = _hasher.hash(secret)
    actor = Actor(user.id, user.username, user.role)
    record(session, clock, actor, "user.sign_in", "user", user.id)
    return actor


def list_users(session: Session) -> list[UserRow]:
    return [_row(u) for u in session.scalars(select(User).order_by(User.username))]
