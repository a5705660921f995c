"""Foundation commands: init-db, migrate, demo, jobs, audit, export, users."""

from __future__ import annotations

import argparse
import csv
import io
import sys
from typing import Any

from sqlalchemy import select

from app.audit import SYSTEM, verify
from app.cli.common import UsageError, acting_user, add_db_option, add_user_option, open_context, print_json
from app.db.engine import Database
from app.db.migrate import current_revision, head_revision, upgrade_to_head
from app.db.models import User
from app.demo import DEMO_USERS, load_demo
from app.domain.status import Role
from app.exports import EXPORTS, export_table
from app.jobs import JOBS, run_job
from app.users import Permission, create_user, list_users, require


def register(sub: Any) -> None:
    p = sub.add_parser("init-db", help="create or upgrade the database schema")
    add_db_option(p)
    p.set_defaults(func=cmd_init_db)

    p = sub.add_parser("migrate", help="back up (SQLite) and upgrade the schema to the newest version")
    add_db_option(p)
    p.add_argument("--check", action="store_true", help="only say whether an upgrade is needed")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("demo", help="fill an empty database with the demo clinic group")
    add_db_option(p)
    p.add_argument("--claims", type=int, default=None, metavar="N", help="number of claims (for benchmarks)")
    p.add_argument("--seed", type=int, default=7)
    p.set_defaults(func=cmd_demo)

    jobs = sub.add_parser("jobs", help="background jobs")
    jsub = jobs.add_subparsers(dest="jobs_command", metavar="ACTION", required=True)
    p = jsub.add_parser("run-once", help="run every scheduled job (or the named ones) once, now")
    add_db_option(p)
    p.add_argument("names", nargs="*", metavar="JOB", help=f"jobs to run (default all): {', '.join(JOBS)}")
    p.set_defaults(func=cmd_jobs_run_once)
    p = jsub.add_parser("list", help="list the jobs and their cadences")
    add_db_option(p)
    p.set_defaults(func=cmd_jobs_list)

    audit = sub.add_parser("audit", help="the audit log")
    asub = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    p = asub.add_parser("verify", help="check the hash chain; names the first broken link")
    add_db_option(p)
    p.set_defaults(func=cmd_audit_verify)

    p = sub.add_parser("export", help="export a table as CSV or JSON")
    add_db_option(p)
    p.add_argument("what", choices=sorted(EXPORTS))
    p.add_argument("--format", choices=("csv", "json"), default="csv")
    p.add_argument("--out", metavar="FILE", help="write to FILE instead of standard output")
    p.set_defaults(func=cmd_export)

    users = sub.add_parser("users", help="local users and roles")
    usub = users.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    p = usub.add_parser("list")
    add_db_option(p)
    p.set_defaults(func=cmd_users_list)
    p = usub.add_parser("add", help="add a user (the new user's PIN is read from CLINIC_BILLING_NEW_PIN)")
    add_db_option(p)
    add_user_option(p)
    p.add_argument("username")
    p.add_argument("--name", required=True)
    p.add_argument("--role", choices=[r.value for r in Role], required=True)
    p.set_defaults(func=cmd_users_add)


def cmd_init_db(args: argparse.Namespace) -> int:
    ctx = open_context(args)
    print(f"Database ready at {ctx.db.display_name} (schema {current_revision(ctx.db)}).")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    db = Database(args.db or open_context(args, migrate=False).paths.default_db)
    current, head = current_revision(db), head_revision(db)
    if args.check:
        print(f"schema {current or 'empty'}; newest {head}: {'up to date' if current == head else 'upgrade needed'}")
        return 0 if current == head else 3
    ctx = open_context(args, migrate=False)
    ran = upgrade_to_head(ctx.db, backup_dir=ctx.paths.backups, now=ctx.clock.now())
    print(f"Schema {'upgraded from ' + (current or 'empty') + ' to' if ran else 'already at'} {head}.")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    if args.claims is not None and args.claims < 0:
        raise UsageError("--claims must be zero or more")
    ctx = open_context(args)
    summary = load_demo(ctx.db, ctx.clock, claims=args.claims, seed=args.seed)
    print(f"Loaded {summary} into {ctx.db.display_name}.")
    print("Demo sign-in: " + ", ".join(f"{u} (PIN {pin})" for u, _n, _r, pin in DEMO_USERS))
    return 0


def cmd_jobs_list(args: argparse.Namespace) -> int:
    for name, job in JOBS.items():
        print(f"{name:24} {job.description}")
    return 0


def cmd_jobs_run_once(args: argparse.Namespace) -> int:
    unknown = [n for n in args.names if n not in JOBS]
    if unknown:
        raise UsageError(f"unknown job(s): {', '.join(unknown)}; known: {', '.join(JOBS)}")
    ctx = open_context(args)
    failures = 0
    for name in args.names or list(JOBS):
        result = run_job(ctx, name)
        print(f"{name}: {result}")
        failures += result.startswith("failed")
    return 1 if failures else 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    ctx = open_context(args)
    with ctx.db.read() as s:
        report = verify(s)
    print(report)
    return 0 if report.ok else 4


def cmd_export(args: argparse.Namespace) -> int:
    ctx = open_context(args)
    with ctx.db.read() as s:
        rows = export_table(s, args.what)
    if args.format == "json":
        if args.out:
            with open(args.out, "w", encoding="utf-8") as fh:
                old, sys.stdout = sys.stdout, fh
                try:
                    print_json(rows)
                finally:
                    sys.stdout = old
        else:
            print_json(rows)
    else:
        buf = io.StringIO()
        if rows:
            writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        if args.out:
            with open(args.out, "w", encoding="utf-8", newline="") as fh:
                fh.write(buf.getvalue())
        else:
            sys.stdout.write(buf.getvalue())
    if args.out:
        print(f"Exported {len(rows)} {args.what} row(s) to {args.out}.", file=sys.stderr)
    return 0


def cmd_users_list(args: argparse.Namespace) -> int:
    ctx = open_context(args)
    with ctx.db.read() as s:
        for u in list_users(s):
            print(f"{u.username:16} {u.role.value:12} {u.display_name}{'' if u.active else ' (inactive)'}")
    return 0


def cmd_users_add(args: argparse.Namespace) -> int:
    import os

    ctx = open_context(args)
    with ctx.db.read() as s:
        has_users = s.scalar(select(User.id).limit(1)) is not None
    actor = acting_user(ctx, args) if has_users else SYSTEM
    require(actor, Permission.MANAGE_USERS)
    pin = os.environ.get("CLINIC_BILLING_NEW_PIN")
    if not pin:
        raise UsageError("Set CLINIC_BILLING_NEW_PIN to the new user's PIN.")
    with ctx.db.unit_of_work() as s:
        row = create_user(s, ctx.clock, actor, args.username, args.name, Role(args.role), pin)
    print(f"Added {row.username} ({row.role.value}).")
    return 0
