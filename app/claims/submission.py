"""Packing a claim and queueing it for sending, exactly once.

``pack_claim`` builds and validates the pack (payload, ``attachments.zip``, ``hash-report.json``) and
keeps every file with the claim in the content-addressed archive. ``submit_claim`` re-runs the
coding audit, builds the pack and, in the SAME transaction, moves the claim to QUEUED and enqueues
one ``claim.submit`` outbox message naming the exact bytes (by SHA-256) to send. A pack that breaks
the insurer's format raises before anything is queued. Once queued, the pack is frozen: it can
only be rebuilt after a rejection (the sent bytes stay in the archive and the dispatch log).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.archive import keep_artefact
from app.audit import Actor, record
from app.claims.artefacts import ArtefactStore
from app.claims.artefacts import sha256_hex as _sha
from app.claims.channels import PayerProfile, payer_profile
from app.claims.coding import Severity
from app.claims.pack import PackFiles, build_pack, load_pack_input
from app.claims.preflight import coding_audit
from app.claims.service import get_claim, move, store_of
from app.context import AppContext
from app.db.models import Artefact, Claim, OutboxMessage
from app.domain.status import ClaimStatus, InsurerChannelKind
from app.errors import ClinicBillingError, DomainError, ValidationFailed
from app.outbox import enqueue
from app.sequences import next_value
from app.users import Permission, require

DISPATCH_LOG = "dispatch-log.ndjson"
SUBMIT_KIND = "claim.submit"
PACKABLE = frozenset({ClaimStatus.READY, ClaimStatus.NEEDS_REVIEW, ClaimStatus.CORRECTED})
SENT = frozenset(
    {
        ClaimStatus.QUEUED,
        ClaimStatus.SUBMITTED,
        ClaimStatus.ACKNOWLEDGED,
        ClaimStatus.PAID,
        ClaimStatus.PARTLY_PAID,
        ClaimStatus.DENIED,
        ClaimStatus.CLOSED,
    }
)


def _blocking_problems(s: Session, claim: Claim) -> None:
    audit, _ = coding_audit(s, claim)
    if audit.blocking:
        errors = [p.message for p in audit.problems if p.severity is Severity.ERROR]
        raise ValidationFailed(f"{claim.number} cannot be sent: its codes have problems", errors)


def _build(s: Session, ctx: AppContext, claim: Claim, profile: PayerProfile) -> tuple[PackFiles, int | None]:
    """The validated pack, kept with the claim, and its X12 interchange control number (None for XML)."""
    data = load_pack_input(s, claim, profile)
    control = None
    if profile.channel is InsurerChannelKind.X12:
        control = _control_number(s, claim)
        files = build_pack(data, control_number=control, created_at=ctx.clock.now())
    else:
        files = build_pack(data)
    store = store_of(ctx)
    for name, content in files.artefacts().items():
        keep_artefact(s, ctx.clock, store, "claim", claim.id, name, content)
    for content in files.attachments.values():
        store.put(content)
    return files, control


def _control_number(s: Session, claim: Claim) -> int:
    """The control number of this claim's unsent 837P pack, if one was built; else the next one."""
    sent_payloads = s.scalars(
        select(OutboxMessage.payload_json).where(OutboxMessage.idempotency_key.startswith(f"{SUBMIT_KIND}:{claim.id}:"))
    )
    sent = {json.loads(p)["payload_name"] for p in sent_payloads}
    names = s.scalars(
        select(Artefact.name).where(
            Artefact.owner_type == "claim", Artefact.owner_id == claim.id, Artefact.name.like(f"{claim.number}-%.837")
        )
    )
    for name in names:
        if name not in sent and name[len(claim.number) + 1 : -4].isdigit():
            return int(name[len(claim.number) + 1 : -4])
    return next_value(s, "x12.interchange_control")


def pack_claim(ctx: AppContext, actor: Actor, claim_id: int) -> str:
    """Build, validate and keep the claim pack (before it is queued)."""
    require(actor, Permission.PREPARE_CLAIMS)
    with ctx.db.unit_of_work() as s:
        claim = get_claim(s, claim_id, lock=True)
        if claim.status not in PACKABLE:
            raise DomainError(
                f"{claim.number} is {claim.status.value}: a pack is built after a clean check and "
                "frozen once the claim is queued."
            )
        _blocking_problems(s, claim)
        files, _ = _build(s, ctx, claim, payer_profile(s, claim.payer_id))
        shas = {name: _sha(data) for name, data in files.artefacts().items()}
        record(s, ctx.clock, actor, "claim.packed", "claim", claim.id, None, {"files": shas})
        return f"{claim.number} packed: {', '.join(sorted(shas))}."


def _round(s: Session, claim_id: int) -> int:
    prefix = f"{SUBMIT_KIND}:{claim_id}:"
    count = s.scalar(
        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.idempotency_key.startswith(prefix))
    )
    return int(count or 0) + 1


def queue_claim(s: Session, ctx: AppContext, actor: Actor, claim_id: int, *, reviewed: bool = False) -> str:
    """Pack and queue in the caller's transaction (one outbox message per submission round)."""
    claim = get_claim(s, claim_id, lock=True)
    if claim.status in SENT:
        raise DomainError(f"{claim.number} is already {claim.status.value}: a claim is sent once only.")
    if claim.status is ClaimStatus.NEEDS_REVIEW and not reviewed:
        raise DomainError(
            f"{claim.number} waits for a person's review of its denial risk ({claim.risk_score}); "
            "a reviewer approves or returns it."
        )
    if claim.status not in PACKABLE:
        raise DomainError(f"{claim.number} is {claim.status.value}: run the pre-flight check first.")
    _blocking_problems(s, claim)
    profile = payer_profile(s, claim.payer_id)
    if not profile.provider:
        raise DomainError(f"{profile.name} takes no electronic claims: settle {claim.number} by hand.")
    files, control = _build(s, ctx, claim, profile)
    move(s, ctx.clock, actor, claim, ClaimStatus.QUEUED, "queued for sending")
    number = _round(s, claim.id)
    enqueue(
        s,
        ctx.clock,
        actor,
        kind=SUBMIT_KIND,
        provider=profile.provider,
        payload={
            "claim_id": claim.id,
            "claim_number": claim.number,
            "payer_code": profile.code,
            "payload_name": files.payload_name,
            "payload_sha256": _sha(files.payload),
            "attachments": {name: _sha(data) for name, data in files.attachments.items()},
            "round": number,
            "control_number": control,
        },
        idempotency_key=f"{SUBMIT_KIND}:{claim.id}:{number}",
    )
    return f"{claim.number} queued for {profile.name}."


def submit_claim(ctx: AppContext, actor: Actor, claim_id: int) -> str:
    require(actor, Permission.SUBMIT_CLAIMS)
    with ctx.db.unit_of_work() as s:
        return queue_claim(s, ctx, actor, claim_id)


def approve_and_submit(ctx: AppContext, actor: Actor, claim_id: int, reason: str) -> str:
    """The reviewer lets a risky claim go: the decision is audit-logged with the score and reasons."""
    require(actor, Permission.REVIEW_RISK)
    require(actor, Permission.SUBMIT_CLAIMS)
    with ctx.db.unit_of_work() as s:
        claim = get_claim(s, claim_id, lock=True)
        if claim.status is not ClaimStatus.NEEDS_REVIEW:
            raise DomainError(f"{claim.number} is {claim.status.value}, not waiting for a risk review.")
        decision = {"decision": "approved", "score": str(claim.risk_score), "reasons": json.loads(claim.risk_reasons)}
        record(s, ctx.clock, actor, "claim.risk_review", "claim", claim.id, None, decision, reason)
        return queue_claim(s, ctx, actor, claim_id, reviewed=True)


@dataclass
class BulkResult:
    done: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = f"{len(self.done)} done"
        if self.failed:
            text += f", {len(self.failed)} not: " + "; ".join(self.failed[:5])
        return text


def submit_all_ready(ctx: AppContext, actor: Actor, claim_ids: Sequence[int] | None = None) -> BulkResult:
    """Queue every READY claim (or the given ones); each in its own transaction, problems listed."""
    require(actor, Permission.SUBMIT_CLAIMS)
    if claim_ids is None:
        with ctx.db.read() as s:
            claim_ids = list(s.scalars(select(Claim.id).where(Claim.status == ClaimStatus.READY).order_by(Claim.id)))
    result = BulkResult()
    for claim_id in claim_ids:
        try:
            result.done.append(submit_claim(ctx, actor, claim_id))
        except ClinicBillingError as exc:
            result.failed.append(str(exc))
    return result


# --------------------------------------------------------------------------- artefacts


def claim_artefacts(session: Session, store: ArtefactStore, claim_id: int) -> dict[str, bytes]:
    rows = session.scalars(
        select(Artefact).where(Artefact.owner_type == "claim", Artefact.owner_id == claim_id).order_by(Artefact.name)
    )
    return {a.name: store.get(a.sha256) for a in rows}


def export_artefacts(ctx: AppContext, claim_id: int, folder: Path) -> list[Path]:
    """Write every artefact of the claim into ``folder`` (created if needed)."""
    with ctx.db.read() as s:
        claim = get_claim(s, claim_id)
        files = claim_artefacts(s, store_of(ctx), claim.id)
    if not files:
        raise DomainError(f"{claim.number} has no artefacts yet: run the check and build the pack first.")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in files.items():
        target = folder / name
        target.write_bytes(data)
        written.append(target)
    return written
