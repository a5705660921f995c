"""``clinic-billing claims …``: list, check, pack, submit, and import code mappings."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from sqlalchemy import select

from app.claims.mapping_store import import_mappings
from app.claims.preflight import check_claim
from app.claims.submission import PACKABLE, export_artefacts, pack_claim, submit_claim
from app.cli.common import UsageError, acting_user, add_db_option, add_user_option, open_context, print_json
from app.context import AppContext
from app.db.models import Claim, Clinic, Payer
from app.domain.status import ClaimStatus
from app.queries.claims import list_claims
from app.queries.paging import ListQuery


def register(sub: Any) -> None:
    claims = sub.add_parser("claims", help="insurer claims: list, check, pack, submit, code mappings")
    csub = claims.add_subparsers(dest="claims_command", metavar="ACTION", required=True)

    p = csub.add_parser("list", help="list claims")
    add_db_option(p)
    p.add_argument("--status", choices=[s.value for s in ClaimStatus], help="only claims in this status")
    p.add_argument("--limit", type=int, default=200, metavar="N")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_list)

    p = csub.add_parser("check", help="pre-flight: eligibility, coding audit and denial risk")
    add_db_option(p)
    add_user_option(p)
    p.add_argument("claim", metavar="CLAIM_ID", help="claim id or number (CLM-000123)")
    p.set_defaults(func=cmd_check)

    p = csub.add_parser("pack", help="build the claim pack (if not sent yet) and write every artefact into DIR")
    add_db_option(p)
    add_user_option(p)
    p.add_argument("claim", metavar="CLAIM_ID", help="claim id or number (CLM-000123)")
    p.add_argument("--out", required=True, metavar="DIR", type=Path)
    p.set_defaults(func=cmd_pack)

    p = csub.add_parser("submit", help="queue the claim for sending (sent by the outbox job)")
    add_db_option(p)
    add_user_option(p)
    p.add_argument("claim", metavar="CLAIM_ID", help="claim id or number (CLM-000123)")
    p.set_defaults(func=cmd_submit)

    mappings = csub.add_parser("mappings", help="the clinic's procedure code mappings")
    msub = mappings.add_subparsers(dest="mappings_command", metavar="ACTION", required=True)
    p = msub.add_parser("import", help="replace a clinic's mappings for one payer from a CSV file")
    add_db_option(p)
    add_user_option(p)
    p.add_argument("file", metavar="FILE", type=Path)
    p.add_argument("--clinic", required=True, metavar="C", help="clinic id or exact name")
    p.add_argument("--payer", required=True, metavar="P", help="payer code, e.g. bupa")
    p.set_defaults(func=cmd_mappings_import)


def _claim_id(ctx: AppContext, text: str) -> int:
    with ctx.db.read() as s:
        found = s.scalar(select(Claim.id).where(Claim.number == text.strip().upper()))
        if found is None and text.strip().isdigit():
            found = s.scalar(select(Claim.id).where(Claim.id == int(text)))
    if found is None:
        raise UsageError(f"No claim {text!r}: give its id or its number (CLM-000123).")
    return int(found)


def cmd_list(args: argparse.Namespace) -> int:
    ctx = open_context(args)
    with ctx.db.read() as s:
        page = list_claims(s, ListQuery(status=args.status or "", limit=max(args.limit, 1), sort_key="updated_at"))
    if args.json:
        print_json(page.rows)
        return 0
    for r in page.rows:
        print(f"{r.number:12} {r.status.value:13} {r.service_date} {r.payer[:24]:24} {r.patient[:24]:24} {r.total}")
    print(f"{len(page.rows)} of {page.total} claim(s)")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    ctx = open_context(args)
    claim_id = _claim_id(ctx, args.claim)
    result = check_claim(ctx, acting_user(ctx, args), claim_id)
    print(result)
    for line in (*result.eligibility_messages, *result.problems, *result.risk_reasons):
        print(f"  - {line}")
    return 3 if result.blocking else 0


def cmd_pack(args: argparse.Namespace) -> int:
    ctx = open_context(args)
    claim_id = _claim_id(ctx, args.claim)
    actor = acting_user(ctx, args)
    with ctx.db.read() as s:
        status = s.scalar(select(Claim.status).where(Claim.id == claim_id))
    if status in PACKABLE:
        print(pack_claim(ctx, actor, claim_id))
    for path in export_artefacts(ctx, claim_id, args.out):
        print(path)
    return 0


def cmd_submit(args: argparse.Namespace) -> int:
    ctx = open_context(args)
    claim_id = _claim_id(ctx, args.claim)
    print(submit_claim(ctx, acting_user(ctx, args), claim_id))
    return 0


def cmd_mappings_import(args: argparse.Namespace) -> int:
    ctx = open_context(args)
    actor = acting_user(ctx, args)
    try:
        data = args.file.read_bytes()
    except OSError as exc:
        raise UsageError(f"Cannot read {args.file}: {exc.strerror}") from exc
    with ctx.db.unit_of_work() as s:
        clinic_text = str(args.clinic)
        clinic = s.scalar(select(Clinic.id).where(Clinic.name == clinic_text))
        if clinic is None and clinic_text.isdigit():
            clinic = s.scalar(select(Clinic.id).where(Clinic.id == int(clinic_text)))
        payer = s.scalar(select(Payer.id).where(Payer.code == str(args.payer).lower()))
        if clinic is None or payer is None:
            raise UsageError(f"Unknown {'clinic ' + clinic_text if clinic is None else 'payer ' + str(args.payer)}.")
        count = import_mappings(s, ctx.clock, actor, data, args.file.name, clinic, payer)
    print(f"Imported {count} mapping(s) from {args.file.name}.")
    return 0
