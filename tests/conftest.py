"""Shared fixtures: offscreen Qt, a private data folder per test, a fixed clock, real SQLite and PostgreSQL."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports Qt

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.clock import FixedClock
from app.context import AppContext
from app.db.engine import Database
from app.db.migrate import upgrade_to_head
from app.paths import AppPaths

PG_ADMIN_URL = os.environ.get("CLINIC_BILLING_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture(autouse=True)
def _private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("CLINIC_BILLING_HOME", str(home))
    monkeypatch.delenv("CLINIC_BILLING_SECRETS_PASSPHRASE", raising=False)
    monkeypatch.delenv("CLINIC_BILLING_PIN", raising=False)
    return home


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 20, 9, 30, tzinfo=UTC))


@pytest.fixture
def paths(tmp_path: Path) -> AppPaths:
    return AppPaths(tmp_path / "data", tmp_path / "data" / "logs").ensure()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return str(tmp_path / "clinic.sqlite3")


def _pg_reachable() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL.replace("+psycopg", ""), connect_timeout=3):
            return None
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}".splitlines()[0]


@pytest.fixture(scope="session")
def pg_server() -> str:
    problem = _pg_reachable()
    if problem:
        message = f"PostgreSQL not reachable at {PG_ADMIN_URL} ({problem})"
        if IN_CI:
            pytest.fail(message + " — under CI=true PostgreSQL tests must run, not skip")
        pytest.skip(message + ": PostgreSQL tests skipped (set CLINIC_BILLING_TEST_PG to run them)")
    return PG_ADMIN_URL


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    import psycopg

    name = f"cbtest_{uuid.uuid4().hex[:12]}"
    admin = pg_server.replace("+psycopg", "")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = pg_server.rsplit("/", 1)[0] + f"/{name}"
    yield url
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Run the test once on a SQLite file and once on PostgreSQL."""
    if request.param == "sqlite":
        return str(tmp_path / "clinic.sqlite3")
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def db(sqlite_url: str) -> Iterator[Database]:
    database = Database(sqlite_url)
    upgrade_to_head(database)
    yield database
    database.dispose()


@pytest.fixture
def ctx(sqlite_url: str, clock: FixedClock, paths: AppPaths) -> Iterator[AppContext]:
    context = AppContext.open(sqlite_url, clock=clock, paths=paths)
    yield context
    context.close()


@pytest.fixture
def any_ctx(any_db_url: str, clock: FixedClock, paths: AppPaths) -> Iterator[AppContext]:
    context = AppContext.open(any_db_url, clock=clock, paths=paths)
    yield context
    context.close()
