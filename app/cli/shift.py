"""Shift close-out and bank statements on the command line: ``shift list|report|close|export|settlement``
and ``bank import``."""

from __future__ import annotations

import argparse
from dataclasses import fields
from pathlib import Path
from typing import Any

from app.cli.common import UsageError, acting_user, add_db_option, add_user_option, open_context, print_json
from app.money import Money
from app.queries.money_views import list_shifts
from app.queries.paging import ListQuery
from app.shifts.bank import import_bank_file
from app.shifts.exports import pos_payments_json
from app.shifts.report import shift_report_pdf
from app.shifts.service import close_out
from app.shifts.settlement import settlement_diff_csv, settlement_rows


def register(sub: Any) -> None:
    shift = sub.add_parser("shift", help="shift close-out: list, report, close, export")
    ssub = shift.add_subparsers(dest="shift_command", metavar="ACTION", required=True)
    p = ssub.add_parser("list", help="the newest shifts with their takings")
    add_db_option(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--status", choices=("open", "counting", "closed"))
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(func=cmd_list)

    p = ssub.add_parser("report", help="write shift-report.pdf (also kept in the archive)")
    add_db_option(p)
    p.add_argument("shift_id", type=int, metavar="SHIFT_ID")
    p.add_argument("--pdf", required=True, metavar="OUT.pdf")
    p.set_defaults(func=cmd_report)

    p = ssub.add_parser("close", help="close a shift with the counted cash (refreshes card data if reachable)")
    add_db_option(p)
    add_user_option(p)
    p.add_argument("shift_id", type=int, metavar="SHIFT_ID")
    p.add_argument("--counted-cash", required=True, metavar="AMOUNT", help="cash in the drawer, e.g. 135.00")
    p.add_argument("--reason", default="", help="why counted and expected cash differ")
    p.set_defaults(func=cmd_close)

    p = ssub.add_parser("export", help="the shift's payments as pos-payments.json")
    add_db_option(p)
    p.add_argument("shift_id", type=int, metavar="SHIFT_ID")
    p.add_argument("--out", default="pos-payments.json", metavar="FILE")
    p.set_defaults(func=cmd_export)

    p = ssub.add_parser("settlement", help="card payouts vs the bank as settlement-diff.csv")
    add_db_option(p)
    p.add_argument("--out", default="settlement-diff.csv", metavar="FILE")
    p.set_defaults(func=cmd_settlement)

    bank = sub.add_parser("bank", help="bank statements")
    bsub = bank.add_subparsers(dest="bank_command", metavar="ACTION", required=True)
    p = bsub.add_parser("import", help="import a bank statement (CSV with a saved mapping, or OFX)")
    add_db_option(p)
    add_user_option(p)
    p.add_argument("file", metavar="FILE")
    p.add_argument("--mapping", metavar="NAME", help="saved bank CSV mapping (default: the only one saved)")
    p.set_defaults(func=cmd_bank_import)


def cmd_list(args: argparse.Namespace) -> int:
    ctx = open_context(args)
    with ctx.db.read() as s:
        page = list_shifts(s, ListQuery(limit=args.limit, status=args.status or "", descending=True))
    if args.json:
        print_json([{f.name: getattr(r, f.name) for f in fields(r)} for r in page.rows])  # asdict would split Money
        return 0
    for r in page.rows:
        print(
            f"{r.id:>6}  {r.starts_at:%Y-%m-%d %H:%M}  {r.desk:<14} {r.status.value:<8} "
            f"{r.payments:>5} payments  {r.gross!s:>12}  {r.closed_by}"
        )
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    ctx = open_context(args)
    data = shift_report_pdf(ctx, args.shift_id)
    Path(args.pdf).write_bytes(data)
    print(f"Shift {args.shift_id}: report written to {args.pdf} ({len(data):,} bytes) and kept in the archive.")
    return 0


def cmd_close(args: argparse.Namespace) -> int:
    try:
        counted = Money.of(args.counted_cash)
    except ValueError as exc:
        raise UsageError(f"--counted-cash {args.counted_cash!r} is not an amount (e.g. 135.00)") from exc
    ctx = open_context(args)
    actor = acting_user(ctx, args)
    summary = close_out(ctx, actor, args.shift_id, counted_minor=counted.minor, reason=args.reason)
    as_of = summary.provider_data_as_of
    print(
        f"Shift {summary.id} ({summary.desk}) closed: takings {summary.gross}, fees {summary.card_fees}, "
        f"expected deposit {summary.expected_deposit}, cash counted {summary.counted_cash} vs expected "
        f"{summary.expected_cash} (difference {summary.cash_difference})."
        + (f" Provider data as of {as_of:%H:%M} UTC." if as_of else "")
    )
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    ctx = open_context(args)
    with ctx.db.read() as s:
        data = pos_payments_json(s, args.shift_id)
    Path(args.out).write_bytes(data)
    print(f"Shift {args.shift_id}: payments written to {args.out}.")
    return 0


def cmd_settlement(args: argparse.Namespace) -> int:
    ctx = open_context(args)
    with ctx.db.read() as s:
        rows = settlement_rows(s)
    Path(args.out).write_bytes(settlement_diff_csv(rows))
    differ = sum(1 for r in rows if r.difference is None or r.difference.minor)
    print(f"{len(rows)} payout(s) written to {args.out}; {differ} awaiting or different.")
    return 0


def cmd_bank_import(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.is_file():
        raise UsageError(f"{args.file}: no such file")
    ctx = open_context(args)
    actor = acting_user(ctx, args)
    print(import_bank_file(ctx, actor, path.name, path.read_bytes(), mapping=args.mapping))
    return 0
