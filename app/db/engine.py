"""One engine factory for SQLite files and PostgreSQL, and the unit of work services use."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from app.errors import ConfigurationError


def normalise_url(url_or_path: str | Path) -> str:
    """A path becomes ``sqlite:///abs/path``; ``postgres://``/``postgresql://`` use psycopg 3."""
    text = str(url_or_path).strip()
    if not text:
        raise ConfigurationError("No database given: pass a SQLite file path or a postgresql:// URL.")
    if "://" not in text:
        return f"sqlite:///{Path(text).expanduser().resolve()}"
    for prefix in ("postgres://", "postgresql://"):
        if text.startswith(prefix):
            return "postgresql+psycopg://" + text[len(prefix) :]
    try:
        url = make_url(text)
    except ArgumentError as exc:
        raise ConfigurationError(f"Not a database URL: {text!r}") from exc
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigurationError(f"Unsupported database {url.get_backend_name()!r}: use a SQLite file or PostgreSQL.")
    return text


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (see _sqlite_begin)
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    """Writers take the write lock up front (BEGIN IMMEDIATE): no stale-snapshot failures mid-transaction."""
    mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")


def make_engine(url_or_path: str | Path) -> Engine:
    url = normalise_url(url_or_path)
    if url.startswith("sqlite"):
        db_path = make_url(url).database
        if db_path and db_path != ":memory:":
            Path(db_path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


class Database:
    """The app's database: an engine plus a session factory. One Session per unit of work."""

    def __init__(self, url_or_path: str | Path) -> None:
        self.url = normalise_url(url_or_path)
        self.engine = make_engine(self.url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        writer = self.engine.execution_options(sqlite_begin="IMMEDIATE") if self.is_sqlite else self.engine
        self._write_sessions = sessionmaker(writer, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    @property
    def display_name(self) -> str:
        """The URL without any password, for status bars and logs."""
        return make_url(self.url).render_as_string(hide_password=True)

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """A transaction: commits when the block ends, rolls back on any error."""
        session = self._write_sessions()
        try:
            with session.begin():
                yield session
        finally:
            session.close()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session (nothing is committed)."""
        session = self._sessions()
        try:
            yield session
        finally:
            session.close()  # releases the connection (rolled back); loaded objects stay readable

    def dispose(self) -> None:
        self.engine.dispose()
