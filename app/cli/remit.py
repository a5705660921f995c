"""``remit`` commands: parse (changes nothing), import, approve/reject write-offs, cash application, journals."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.claims.artefacts import ArtefactStore
from app.cli.common import UsageError, acting_user, add_db_option, add_user_option, open_context, print_json
from app.context import AppContext
from app.errors import ParseError
from app.remittance.approvals import decide_writeoff, rerun_matching
from app.remittance.cash_csv import cash_application_csv
from app.remittance.exports import JournalFormat, export_journals
from app.remittance.ingest import import_remittance_file
from app.remittance.sources import FileKind, detect_kind, read_payments
from app.x12.remittance import to_json_dict


def register(sub: Any) -> None:
    remit = sub.add_parser("remit", help="insurer remittances: parse, import and apply, write-offs, journals")
    rsub = remit.add_subparsers(dest="remit_command", metavar="ACTION", required=True)

    p = rsub.add_parser("parse", help="print the normalised remittance (835 or insurer XML) as JSON; changes nothing")
    add_db_option(p)
    p.add_argument("file", type=Path)
    p.add_argument("--json", action="store_true", help="print JSON (the only format)")
    p.set_defaults(func=cmd_parse)

    p = rsub.add_parser("import", help="store a remittance file (835, insurer XML, CSV) and apply it")
    add_db_option(p)
    add_user_option(p)
    p.add_argument("file", type=Path)
    p.add_argument("--payer", metavar="CODE", help="the payer (default: read from the file)")
    p.add_argument("--mapping", metavar="NAME", help="saved CSV column mapping (default: the payer code)")
    p.set_defaults(func=cmd_import)

    p = rsub.add_parser("rerun", help="re-run matching on a stored remittance (idempotent)")
    add_db_option(p)
    add_user_option(p)
    p.add_argument("remittance_id", type=int)
    p.add_argument("--accept-unbalanced", action="store_true", help="apply a flagged remittance (manager)")
    p.set_defaults(func=cmd_rerun)

    for name, approve in (("approve-writeoff", True), ("reject-writeoff", False)):
        p = rsub.add_parser(name, help=f"{name.split('-')[0]} a held write-off (manager)")
        add_db_option(p)
        add_user_option(p)
        p.add_argument("posting_id", type=int)
        p.add_argument("--reason", default="", help="why (required to reject)")
        p.set_defaults(func=cmd_decide, approve=approve)

    p = rsub.add_parser("cash-application", help="write a remittance's cash-application.csv (every line and posting)")
    add_db_option(p)
    p.add_argument("remittance_id", type=int)
    p.add_argument("--out", type=Path, required=True, metavar="FILE")
    p.set_defaults(func=cmd_cash_application)

    p = rsub.add_parser("export", help="export posted journals: ours, Xero manual journal, QuickBooks")
    add_db_option(p)
    p.add_argument("format", choices=[f.value for f in JournalFormat])
    p.add_argument("--out", type=Path, required=True, metavar="FILE")
    p.set_defaults(func=cmd_export)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot be read ({exc.strerror})") from None


def cmd_parse(args: argparse.Namespace) -> int:
    """835 or insurer XML to the normalised JSON; nothing is opened or stored (--db is accepted, unused)."""
    data = _read(args.file)
    kind = detect_kind(data)
    if kind is FileKind.CSV:
        raise ParseError(args.file.name, "line 1", "not an X12 835 or insurer XML remittance (CSV: use remit import)")
    payments = read_payments(kind, data, args.file.name, currency="GBP")
    print_json(to_json_dict(read.payment for read in payments))
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    data = _read(args.file)
    ctx = open_context(args)
    try:
        result = import_remittance_file(
            ctx, acting_user(ctx, args), data, args.file.name, payer_code=args.payer, mapping_name=args.mapping
        )
    finally:
        ctx.close()
    print(result.message)
    return 0


def cmd_rerun(args: argparse.Namespace) -> int:
    ctx = open_context(args)
    try:
        outcome = rerun_matching(
            ctx, acting_user(ctx, args), args.remittance_id, accept_unbalanced=args.accept_unbalanced
        )
    finally:
        ctx.close()
    print(outcome.message)
    return 0


def cmd_decide(args: argparse.Namespace) -> int:
    ctx = open_context(args)
    try:
        print(decide_writeoff(ctx, acting_user(ctx, args), args.posting_id, approve=args.approve, reason=args.reason))
    finally:
        ctx.close()
    return 0


def _write_csv(args: argparse.Namespace, make: Callable[[AppContext], bytes], what: str) -> int:
    """Write what ``make`` builds to ``--out`` and say how many rows (after the header) it holds."""
    ctx = open_context(args)
    try:
        data = make(ctx)
    finally:
        ctx.close()
    args.out.write_bytes(data)
    rows = max(data.count(b"\n") - 1, 0)
    print(f"{args.out}: {rows} {what}", file=sys.stderr)
    return 0


def cmd_cash_application(args: argparse.Namespace) -> int:
    def build(ctx: AppContext) -> bytes:
        return ctx.query(cash_application_csv, ArtefactStore(ctx.paths.archive), args.remittance_id)

    return _write_csv(args, build, "row(s)")


def cmd_export(args: argparse.Namespace) -> int:
    return _write_csv(args, lambda ctx: export_journals(ctx, JournalFormat(args.format)), "journal line(s)")
