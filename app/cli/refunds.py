"""``clinic-billing refunds ...``: list, propose, approve, reject, detect, recall, export."""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any

from app.audit import SYSTEM
from app.cli.common import UsageError, acting_user, add_db_option, add_user_option, open_context, print_json
from app.domain.status import RefundReason
from app.money import Money
from app.queries.money_views import list_refunds
from app.queries.paging import ListQuery
from app.refunds import detectors, exports, service


def register(sub: Any) -> None:
    refunds = sub.add_parser("refunds", help="refund cases: propose, approve, detect, export")
    rsub = refunds.add_subparsers(dest="refunds_command", metavar="ACTION", required=True)

    p = rsub.add_parser("list", help="refund cases, newest first")
    add_db_option(p)
    p.add_argument("--status", default="", help="only this status (e.g. proposed)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_list)

    p = rsub.add_parser("propose", help="propose a refund of a payment")
    add_db_option(p)
    add_user_option(p)
    p.add_argument("payment_id", type=int, metavar="PAYMENT_ID")
    p.add_argument("--amount", required=True, metavar="A", help="amount in pounds, e.g. 12.50")
    p.add_argument("--reason", required=True, metavar="R", help="why (kept with the case)")
    p.add_argument("--kind", choices=[r.value for r in RefundReason], default=RefundReason.PATIENT_REQUEST.value)
    p.add_argument("--cash", action="store_true", help="pay back in cash from the drawer")
    p.set_defaults(func=cmd_propose)

    p = rsub.add_parser("import-tickets", help="propose refunds from a support-ticket CSV (all or nothing)")
    add_db_option(p)
    add_user_option(p)
    p.add_argument("file", metavar="FILE", help="CSV with payment_id, amount, reason (and note)")
    p.set_defaults(func=cmd_import_tickets)

    p = rsub.add_parser("approve", help="approve a proposed refund (sends it, or pays cash)")
    add_db_option(p)
    add_user_option(p)
    p.add_argument("refund_id", type=int, metavar="REFUND_ID")
    p.add_argument("--reason", default="", metavar="R")
    p.set_defaults(func=cmd_approve)

    p = rsub.add_parser("reject", help="reject a proposed refund, with a reason")
    add_db_option(p)
    add_user_option(p)
    p.add_argument("refund_id", type=int, metavar="REFUND_ID")
    p.add_argument("--reason", required=True, metavar="R")
    p.set_defaults(func=cmd_reject)

    p = rsub.add_parser("detect", help="run the detectors (duplicates, overpayments, recalls)")
    add_db_option(p)
    p.add_argument("--user", metavar="NAME", help="acting user (default: the system)")
    p.set_defaults(func=cmd_detect)

    p = rsub.add_parser("recall", help="recall a product batch: list its buyers and propose refunds")
    add_db_option(p)
    add_user_option(p)
    p.add_argument("batch", metavar="BATCH")
    p.add_argument("--note", default="")
    p.set_defaults(func=cmd_recall)

    p = rsub.add_parser("export", help="the refund log (csv/xlsx) or accounting refunds (xero/qbo)")
    add_db_option(p)
    p.add_argument("--format", choices=sorted(exports.FORMATS), default="csv")
    p.add_argument("--out", metavar="FILE", required=True)
    p.set_defaults(func=cmd_export)


def cmd_list(args: argparse.Namespace) -> int:
    ctx = open_context(args)
    with ctx.db.read() as s:
        rows = list_refunds(s, ListQuery(status=args.status, limit=10_000)).rows
    if args.json:  # field by field: amounts print as "12.50", not as nested records
        print_json([{f.name: getattr(r, f.name) for f in fields(r)} for r in rows])
        return 0
    for r in rows:
        print(f"{r.id:>6}  {r.status.value:<10} {r.amount!s:>10}  {r.patient:<24} {r.reason}")
    return 0


def _amount(text: str) -> int:
    try:
        return Money.of(text.strip()).minor
    except (ValueError, ArithmeticError) as exc:
        raise UsageError(f"--amount {text!r} is not an amount (write e.g. 12.50).") from exc


def cmd_propose(args: argparse.Namespace) -> int:
    ctx = open_context(args)
    actor = acting_user(ctx, args)
    proposal = service.Proposal(
        args.payment_id,
        _amount(args.amount),
        RefundReason(args.kind),
        args.reason,
        {"source": "command line"},
        "cash" if args.cash else None,
    )
    refund_id = service.propose(ctx, actor, proposal)
    print(f"Refund {refund_id} proposed; a manager or finance user must approve it.")
    return 0


def cmd_import_tickets(args: argparse.Namespace) -> int:
    ctx = open_context(args)
    path = Path(args.file)
    if not path.is_file():
        raise UsageError(f"{path} does not exist.")
    ids = service.import_ticket_csv(ctx, acting_user(ctx, args), path.name, path.read_bytes())
    print(f"{len(ids)} refund(s) proposed from {path.name}: {', '.join(map(str, ids))}.")
    return 0


def cmd_approve(args: argparse.Namespace) -> int:
    ctx = open_context(args)
    print(service.approve(ctx, acting_user(ctx, args), args.refund_id, args.reason).message)
    return 0


def cmd_reject(args: argparse.Namespace) -> int:
    ctx = open_context(args)
    print(service.reject(ctx, acting_user(ctx, args), args.refund_id, args.reason).message)
    return 0


def cmd_detect(args: argparse.Namespace) -> int:
    ctx = open_context(args)
    actor = acting_user(ctx, args) if args.user else SYSTEM
    print(f"Detectors {detectors.detect_all(ctx, actor)}.")
    return 0


def cmd_recall(args: argparse.Namespace) -> int:
    ctx = open_context(args)
    buyers = detectors.recall_batch(ctx, acting_user(ctx, args), args.batch, args.note)
    for b in buyers:
        what = f"refund {b.refund_id} proposed" if b.refund_id else "no new refund (already a case, or nothing left)"
        print(f"{b.patient:<28} payment {b.payment_id:>6}  {b.amount!s:>10}  {what}")
    print(f"{len(buyers)} buyer(s) of batch {args.batch}.")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    ctx = open_context(args)
    with ctx.db.read() as s:
        data = exports.FORMATS[args.format](s)
    Path(args.out).write_bytes(data)
    print(f"Wrote {args.out} ({len(data):,} bytes).", file=sys.stderr)
    return 0
