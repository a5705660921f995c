"""What every service needs, built once at start: database, clock, paths, secrets."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy.orm import Session

from app.clock import Clock, SystemClock
from app.db.engine import Database
from app.db.migrate import upgrade_to_head
from app.errors import ConfigurationError
from app.paths import AppPaths, app_paths
from app.secrets import SecretStore

log = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class AppContext:
    db: Database
    paths: AppPaths
    clock: Clock = field(default_factory=SystemClock)
    secrets: SecretStore | None = None

    @classmethod
    def open(
        cls,
        db_url: str | Path | None = None,
        *,
        clock: Clock | None = None,
        migrate: bool = True,
        paths: AppPaths | None = None,
    ) -> AppContext:
        """Open the database (default: the SQLite file in the user's data folder), back up, upgrade to head."""
        paths = (paths or app_paths()).ensure()
        db = Database(db_url or paths.default_db)
        ctx = cls(db=db, paths=paths, clock=clock or SystemClock(), secrets=SecretStore.from_environment(paths.data))
        if migrate and upgrade_to_head(db, backup_dir=paths.backups, now=ctx.clock.now()):
            log.info("database %s upgraded to the newest schema", db.display_name)
        return ctx

    def close(self) -> None:
        self.db.dispose()

    def secret(self, name: str) -> str:
        """A credential from the keyring (or the encrypted file chosen in Settings); a missing store
        or credential is a ConfigurationError that says where to add it."""
        if self.secrets is None:
            raise ConfigurationError(
                f"No credential store is available on this computer, so {name!r} cannot be read: "
                "set one up in Settings → Credentials."
            )
        return self.secrets.require(name)

    def query(self, fn: Callable[Concatenate[Session, P], R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run a read service in a session of its own: callers (the UI) never hold a session."""
        with self.db.read() as session:
            return fn(session, *args, **kwargs)

    def change(self, fn: Callable[Concatenate[Session, P], R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run a changing service in one unit of work (committed when it returns, rolled back on error)."""
        with self.db.unit_of_work() as session:
            return fn(session, *args, **kwargs)


@dataclass(frozen=True, slots=True)
class Changes:
    """What a service changed, so views refresh from the record instead of guessing (Anki's OpChanges)."""

    entities: frozenset[str]
    message: str = ""

    @classmethod
    def of(cls, *entities: str, message: str = "") -> Changes:
        return cls(frozenset(entities), message)
