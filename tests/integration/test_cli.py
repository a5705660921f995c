"""The command line: every subcommand takes --db, bad input is one clear line and a non-zero exit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli.main import main


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "app.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_init_demo_export_and_jobs(tmp_path: Path) -> None:
    db = str(tmp_path / "desk.sqlite3")
    r = cli("init-db", "--db", db)
    assert r.returncode == 0 and "Database ready" in r.stdout
    r = cli("demo", "--db", db, "--claims", "300")
    assert r.returncode == 0, r.stderr
    assert "300 claims" in r.stdout and "manager (PIN 2222)" in r.stdout
    r = cli("--db", db, "export", "claims", "--format", "json")
    rows = json.loads(r.stdout)
    assert len(rows) == 300 and {"number", "status", "total"} <= set(rows[0])
    r = cli("export", "payments", "--db", db, "--out", str(tmp_path / "p.csv"))
    assert r.returncode == 0 and (tmp_path / "p.csv").read_text().startswith("id,")
    r = cli("jobs", "run-once", "--db", db)
    assert r.returncode == 0, r.stderr
    assert "sla_check:" in r.stdout and "stripe_poll: skipped: stripe is not set up" in r.stdout
    r = cli("migrate", "--check", "--db", db)
    assert r.returncode == 0 and "up to date" in r.stdout
    r = cli("users", "list", "--db", db)
    assert "frontdesk" in r.stdout and "finance" in r.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("demo", "--claims", "-5"), "--claims must be zero or more"),
        (("export", "nonsense"), "invalid choice"),
        (("jobs", "run-once", "no_such_job"), "unknown job(s): no_such_job"),
        (("frobnicate",), "invalid choice"),
        (("init-db", "--db", "mysql://x@y/z"), "Unsupported database 'mysql'"),
    ],
)
def test_bad_input_is_one_clear_line(
    tmp_path: Path, args: tuple[str, ...], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = list(args)
    if "--db" not in argv:
        argv += ["--db", str(tmp_path / "x.sqlite3")] if argv[0] in ("demo", "jobs", "export") else []
    code = main(argv)
    err = capsys.readouterr().err
    assert code != 0
    assert expected in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_demo_refuses_a_database_that_already_has_clinics(tmp_path: Path) -> None:
    db = str(tmp_path / "d.sqlite3")
    assert cli("demo", "--db", db, "--claims", "10").returncode == 0
    r = cli("demo", "--db", db)
    assert r.returncode == 2 and r.stderr.strip() == (
        "clinic-billing: This database already holds clinics: the demo only fills an empty database."
    )


def test_unreachable_postgres_is_a_clear_line(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["init-db", "--db", "postgresql://nobody@127.0.0.1:1/none"])
    err = capsys.readouterr().err
    assert code != 0 and err.startswith("clinic-billing:") and "Traceback" not in err


@pytest.mark.postgres
def test_cli_on_postgresql(pg_url: str) -> None:
    r = cli("demo", "--db", pg_url, "--claims", "50")
    assert r.returncode == 0, r.stderr
    r = cli("audit", "verify", "--db", pg_url)
    assert r.returncode == 0 and "intact" in r.stdout
