"""Schema upgrades at start: back up a SQLite file, then upgrade to head. Alembic Config built in code."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from app.db.engine import Database

log = logging.getLogger(__name__)


def _script_location() -> Path:
    import migrations

    return Path(migrations.__file__).resolve().parent


def alembic_config(db: Database) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_script_location()))
    cfg.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    return cfg


def current_revision(db: Database) -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(db: Database) -> str | None:
    return ScriptDirectory.from_config(alembic_config(db)).get_current_head()


def backup_sqlite(db: Database, backup_dir: Path, now: datetime) -> Path | None:
    """Copy the SQLite file (with the online backup API, so WAL content is included)."""
    if not db.is_sqlite:
        return None
    path = make_url(db.url).database
    if not path or not Path(path).exists() or Path(path).stat().st_size == 0:
        return None
    backup_dir.mkdir(parents=True, exist_ok=True)
    target = backup_dir / f"{Path(path).stem}-{now.strftime('%Y%m%dT%H%M%SZ')}.sqlite3"
    import sqlite3

    src = sqlite3.connect(path)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    return target


def upgrade_to_head(db: Database, backup_dir: Path | None = None, now: datetime | None = None) -> bool:
    """Upgrade to head; back up first when an existing SQLite file is behind. True if anything ran."""
    current, head = current_revision(db), head_revision(db)
    if current == head:
        return False
    if current is not None and backup_dir is not None and now is not None:
        shutil_target = backup_sqlite(db, backup_dir, now)
        if shutil_target:
            log.info("backed up %s before upgrading %s -> %s", shutil_target, current, head)
    with db.engine.begin() as conn:
        cfg = alembic_config(db)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return True


def downgrade(db: Database, revision: str) -> None:
    with db.engine.begin() as conn:
        cfg = alembic_config(db)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


__all__ = [
    "alembic_config",
    "backup_sqlite",
    "current_revision",
    "downgrade",
    "head_revision",
    "upgrade_to_head",
]
