"""Claims on the wire: the ``claim.submit`` outbox route and the scheduled acknowledgement polls.

The handler sends exactly the bytes the queued message names (by SHA-256, from the archive) through
the payer's channel, with the message's idempotency key: SFTP finds an identical file already there
and sends nothing twice, the portal answers the earlier claim reference. ``on_sent`` records the
claim as SUBMITTED and appends to ``dispatch-log.ndjson`` in the dispatcher's recording transaction.

Polls (``POLLS``): ``insurer_sftp`` (XML acknowledgements and remittances from ``outbound/``),
``insurer_portal`` (claim statuses and remittance documents), ``clearinghouse`` (999, 277CA, 835).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import health
from app.archive import artefact_bytes, keep_artefact
from app.audit import SYSTEM, Actor
from app.claims import rejections
from app.claims.artefacts import dispatch_log_line
from app.claims.channels import PROVIDER_BY_CHANNEL, PayerProfile, open_channel, profile_by_code, profiles_on
from app.claims.inbound import (
    InboundReport,
    Outcome,
    acknowledge_claim,
    already_quarantined,
    handle_x12,
    handle_xml,
    reject_claim,
)
from app.claims.service import get_claim, move, store_of
from app.claims.submission import DISPATCH_LOG, SUBMIT_KIND
from app.clock import Clock
from app.connectors.base import ClaimSubmission, InboundFile
from app.connectors.insurer_portal import PortalInsurerChannel
from app.connectors.insurer_sftp import SftpInsurerChannel
from app.context import AppContext
from app.db.models import Claim, OutboxMessage
from app.domain.status import ClaimStatus, InsurerChannelKind, OutboxStatus, TaskPriority
from app.errors import ClinicBillingError
from app.outbox import Dispatcher, Route
from app.tasks import open_task
from app.users import Permission, require

# ---------------------------------------------------------------------------------------- sending


def append_dispatch_log(session: Session, clock: Clock, ctx: AppContext, claim_id: int, event: dict[str, Any]) -> None:
    store = store_of(ctx)
    before = artefact_bytes(session, store, "claim", claim_id, DISPATCH_LOG) or b""
    keep_artefact(session, clock, store, "claim", claim_id, DISPATCH_LOG, before + dispatch_log_line(event))


def _sender(ctx: AppContext) -> Callable[[Mapping[str, Any], str], Mapping[str, Any]]:
    def send(payload: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        with ctx.db.read() as s:
            profile = profile_by_code(s, str(payload["payer_code"]))
        store = store_of(ctx)
        submission = ClaimSubmission(
            str(payload["claim_number"]),
            str(payload["payload_name"]),
            store.get(str(payload["payload_sha256"])),
            {name: store.get(sha) for name, sha in dict(payload["attachments"]).items()},
        )
        with open_channel(ctx, profile) as channel:
            receipt = channel.submit(submission, key)
            name = channel.name
        return {
            "insurer_ref": receipt.insurer_ref or "",
            "accepted_at": receipt.accepted_at.isoformat(),
            "detail": receipt.detail,
            "channel": name,
        }

    return send


def _event(msg: OutboxMessage, clock: Clock, what: str, **extra: Any) -> dict[str, Any]:
    payload = json.loads(msg.payload_json)
    return {
        "at": clock.now(),
        "event": what,
        "key": msg.idempotency_key,
        "provider": msg.provider,
        "attempts": msg.attempts,
        "payload": payload["payload_name"],
        "payload_sha256": payload["payload_sha256"],
        "attachments": payload["attachments"],
        **extra,
    }


def _on_sent(ctx: AppContext) -> Callable[[Session, Clock, OutboxMessage, Mapping[str, Any]], None]:
    def sent(session: Session, clock: Clock, msg: OutboxMessage, result: Mapping[str, Any]) -> None:
        claim = get_claim(session, int(json.loads(msg.payload_json)["claim_id"]), lock=True)
        if claim.status is ClaimStatus.QUEUED:
            claim.submission_count += 1
            claim.submitted_at = clock.now()
            if result.get("insurer_ref"):
                claim.insurer_ref = str(result["insurer_ref"])[:60]
            move(session, clock, SYSTEM, claim, ClaimStatus.SUBMITTED, str(result.get("detail", "")))
        extra = {k: result.get(k, "") for k in ("channel", "detail", "insurer_ref")}
        append_dispatch_log(session, clock, ctx, claim.id, _event(msg, clock, "sent", **extra))

    return sent


def _on_failed(ctx: AppContext) -> Callable[[Session, Clock, OutboxMessage, str], None]:
    def failed(session: Session, clock: Clock, msg: OutboxMessage, error: str) -> None:
        claim = get_claim(session, int(json.loads(msg.payload_json)["claim_id"]), lock=True)
        if claim.status is ClaimStatus.QUEUED:
            move(session, clock, SYSTEM, claim, ClaimStatus.REJECTED, f"could not be sent: {error}")
            open_task(
                session,
                clock,
                SYSTEM,
                kind="claim_rejected",
                title=f"{claim.number} could not be sent",
                detail=error,
                recommended_fix="Fix what the message names (settings, credentials or the claim), then use "
                "Correct & resubmit.",
                owner_role="manager",
                priority=TaskPriority.HIGH,
                entity_type="claim",
                entity_id=claim.id,
                dedupe_key=f"claim-rejected:{claim.id}:{claim.submission_count}",
            )
        append_dispatch_log(session, clock, ctx, claim.id, _event(msg, clock, "failed", error=error))

    return failed


def routes(ctx: AppContext) -> dict[str, Route]:
    return {SUBMIT_KIND: Route(_sender(ctx), on_sent=_on_sent(ctx), on_failed=_on_failed(ctx), owner_role="manager")}


def send_queued_now(ctx: AppContext, actor: Actor) -> str:
    """On-demand retry: queued claims waiting out a backoff are due now, and the outbox sends them."""
    require(actor, Permission.SUBMIT_CLAIMS)
    with ctx.db.unit_of_work() as s:
        waiting = s.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == SUBMIT_KIND, OutboxMessage.status == OutboxStatus.PENDING)
        )
        for msg in waiting:
            msg.next_attempt_at = min(msg.next_attempt_at, ctx.clock.now())
    report = Dispatcher(ctx.db, ctx.clock, routes(ctx)).run_once(kinds={SUBMIT_KIND})
    return f"Claims sent now: {report}" + (f" ({report.errors[0]})" if report.errors else "")


# ---------------------------------------------------------------------------------------- polls

_Handle = Callable[[AppContext, PayerProfile, InboundFile], Outcome]
_ACK_WORDS = frozenset({"RECEIVED", "ACCEPTED", "IN_REVIEW", "PROCESSING", "PENDING", "PAID", "DENIED", "SETTLED"})


def _portal_statuses(
    ctx: AppContext, profile: PayerProfile, channel: PortalInsurerChannel, report: InboundReport
) -> None:
    """Ask the portal about each submitted claim: registered → ACKNOWLEDGED, REJECTED → REJECTED + task."""
    with ctx.db.read() as s:
        waiting = list(
            s.execute(
                select(Claim.id, Claim.insurer_ref).where(
                    Claim.payer_id == profile.id, Claim.status == ClaimStatus.SUBMITTED, Claim.insurer_ref != ""
                )
            )
        )
    for claim_id, ref in waiting:
        word = channel.claim_status(ref).upper()
        if word not in _ACK_WORDS and word != "REJECTED":
            continue
        with ctx.db.unit_of_work() as s:
            claim = get_claim(s, claim_id, lock=True)
            if word == "REJECTED":
                reject_claim(s, ctx.clock, claim, rejections.advise_xml("PORTAL_REJECTED"), f"{channel.name} status")
            else:
                acknowledge_claim(s, ctx.clock, claim, None, f"{channel.name} status {word}")
        report.add(f"status {word.lower()}")


def _poll(kind: InsurerChannelKind, handle: _Handle) -> Callable[[AppContext], str]:
    provider = PROVIDER_BY_CHANNEL[kind]

    def run(ctx: AppContext) -> str:
        with ctx.db.read() as s:
            profiles = profiles_on(s, kind)
        report = InboundReport()
        for profile in profiles:
            try:
                with open_channel(ctx, profile) as channel:
                    for file in channel.fetch_inbound():
                        if already_quarantined(ctx, file):
                            continue
                        outcome = report.add(handle(ctx, profile, file))
                        if outcome in (Outcome.APPLIED, Outcome.DUPLICATE) and isinstance(channel, SftpInsurerChannel):
                            channel.acknowledge(file.name)
                    if isinstance(channel, PortalInsurerChannel):
                        _portal_statuses(ctx, profile, channel, report)
            except ClinicBillingError as exc:
                health.mark(ctx.db, ctx.clock, provider, False, str(exc))
                report.problems.append(f"{profile.name}: {exc}")
                continue
            health.mark(ctx.db, ctx.clock, provider, True)
        return f"{provider}: {report}"

    run.__name__ = f"poll_{provider}"
    return run


POLLS: dict[str, Callable[[AppContext], str]] = {
    "insurer_sftp": _poll(InsurerChannelKind.SFTP_XML, handle_xml),
    "insurer_portal": _poll(InsurerChannelKind.HTTP_PORTAL, handle_xml),
    "clearinghouse": _poll(InsurerChannelKind.X12, handle_x12),
}
