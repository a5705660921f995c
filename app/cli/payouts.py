"""``clinic-billing payouts``: import a settlement, reconcile, replay a period, release a held payout."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path
from typing import Any

from app.audit import SYSTEM, Actor
from app.cli.common import UsageError, acting_user, add_db_option, add_user_option, open_context, print_json
from app.context import AppContext
from app.imports.csv_mapping import ColumnMapping
from app.payouts.journal import release_payout
from app.payouts.ledger_match import reconcile_received
from app.payouts.replay import replay_period
from app.payouts.service import SOURCES, import_settlement, load_mapping


def register(sub: Any) -> None:
    payouts = sub.add_parser("payouts", help="marketplace payouts (ClassPass, Treatwell)")
    psub = payouts.add_subparsers(dest="payouts_command", metavar="ACTION", required=True)

    p = psub.add_parser("import", help="import a settlement file (archived raw, then normalised)")
    add_db_option(p)
    p.add_argument("source", choices=SOURCES)
    p.add_argument("file", type=Path)
    p.add_argument("--mapping", metavar="NAME", help="a saved column mapping, or a mapping JSON file")
    _optional_user(p)
    p.set_defaults(func=cmd_import)

    p = psub.add_parser("reconcile", help="match received payouts to the sales ledger")
    add_db_option(p)
    _period(p, required=False)
    p.add_argument("--json", action="store_true", help="print the counts as JSON")
    _optional_user(p)
    p.set_defaults(func=cmd_reconcile)

    p = psub.add_parser("replay", help="re-run a past period from the stored raw files (changes nothing)")
    add_db_option(p)
    _period(p, required=True)
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_replay)

    p = psub.add_parser("release", help="release a held payout and post its journal")
    add_db_option(p)
    add_user_option(p)
    p.add_argument("payout_id", type=int, metavar="PAYOUT_ID")
    p.add_argument("--reason", required=True)
    p.set_defaults(func=cmd_release)


def _optional_user(p: argparse.ArgumentParser) -> None:
    p.add_argument("--user", metavar="NAME", help="acting user (PIN from CLINIC_BILLING_PIN); default: system")


def _period(p: argparse.ArgumentParser, required: bool) -> None:
    p.add_argument("--from", dest="date_from", type=_date, required=required, metavar="YYYY-MM-DD")
    p.add_argument("--to", dest="date_to", type=_date, required=required, metavar="YYYY-MM-DD")


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _actor(ctx: AppContext, args: argparse.Namespace) -> Actor:
    return acting_user(ctx, args) if args.user else SYSTEM


def _mapping(ctx: AppContext, name: str | None) -> ColumnMapping | None:
    if name is None:
        return None
    path = Path(name)
    if path.suffix == ".json" and path.is_file():
        return ColumnMapping.from_json(path.read_text("utf-8"))
    with ctx.db.read() as s:
        return load_mapping(s, name)


def cmd_import(args: argparse.Namespace) -> int:
    if not args.file.is_file():
        raise UsageError(f"{args.file} does not exist or is not a file.")
    ctx = open_context(args)
    result = import_settlement(
        ctx, _actor(ctx, args), args.source, args.file.name, args.file.read_bytes(), _mapping(ctx, args.mapping)
    )
    print(result.changes.message)
    for flag in result.flagged:
        print(f"flagged: {flag}")
    return 0


def cmd_reconcile(args: argparse.Namespace) -> int:
    ctx = open_context(args)
    run = reconcile_received(ctx, _actor(ctx, args), date_from=args.date_from, date_to=args.date_to)
    counts = {**run.counts(), "held": list(run.held), "posted": list(run.posted)}
    if args.json:
        print_json(counts)
    else:
        print(
            f"{run.payouts} payout(s): {run.matched} matched, {run.variance} variance, {run.unmatched} unmatched "
            f"line(s); {run.sales_without_payout_line} sale(s) without a payout line; variance total "
            f"{', '.join(run.variance_total.values()) or '0'}; {len(run.held)} held, {len(run.posted)} posted"
        )
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    ctx = open_context(args)
    r = replay_period(ctx, args.date_from, args.date_to)
    if args.json:
        print_json(
            {
                "payouts": list(r.payouts),
                "matched": r.matched,
                "variance": r.variance,
                "unmatched": r.unmatched,
                "sales_without_payout_line": r.sales_without_payout_line,
                "differences": list(r.differences),
            }
        )
    else:
        print(
            f"Replayed {len(r.payouts)} payout(s) from {r.files} stored file(s): {r.matched} matched, "
            f"{r.variance} variance, {r.unmatched} unmatched; {len(r.differences)} difference(s) from stored results"
        )
        for line in r.differences:
            print(f"  {line}")
    return 0


def cmd_release(args: argparse.Namespace) -> int:
    ctx = open_context(args)
    posted = release_payout(ctx, acting_user(ctx, args), args.payout_id, args.reason)
    print(f"Payout {args.payout_id} released; journal {', '.join(posted) or 'already posted'}.")
    return 0
