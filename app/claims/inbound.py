"""Files insurers leave for us: acknowledgements are applied to claims, remittances registered.

* Insurer XML acknowledgements: ACCEPTED → ACKNOWLEDGED (with the insurer's reference);
  REJECTED → REJECTED plus a task with the code, a plain reason, the recommended fix and what the
  clinician must supply.
* X12 999 (file syntax, matched to our claim by its interchange control number) and 277CA (claim by
  claim, matched by CLM01 in TRN02): the same, with the X12 codes.
* Remittances (insurer XML or X12 835) are archived and registered as ``received`` for the
  remittance runbook; nothing is applied here.

A file that cannot be read is quarantined (file, position and reason) in its own transaction and a
task says so; nothing else changes. Each file is recorded once: the same bytes again are a duplicate.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.archive import quarantine, register_incoming
from app.audit import SYSTEM, record
from app.claims import rejections
from app.claims.artefacts import sha256_hex
from app.claims.channels import PayerProfile
from app.claims.service import move, store_of
from app.claims.xml_payload import AckStatus, RemittanceFile, parse_insurer_xml
from app.clock import Clock
from app.connectors.base import InboundFile
from app.context import AppContext
from app.db.models import Claim, ImportedFile, OutboxMessage
from app.domain.status import ClaimStatus, TaskPriority
from app.errors import ParseError
from app.tasks import open_task
from app.x12.acks import Ack999, ClaimStatus277, parse_277ca, parse_999

_ROLE = {
    rejections.OwnerRole.FRONT_DESK: "front_desk",
    rejections.OwnerRole.CLINICIAN: "manager",  # the manager relays it to the clinician
    rejections.OwnerRole.BILLING: "manager",
}
_LIVE = (ClaimStatus.QUEUED, ClaimStatus.SUBMITTED, ClaimStatus.ACKNOWLEDGED)


class Outcome(StrEnum):
    APPLIED = "applied"  # recorded: the file may be moved to processed on the server
    DUPLICATE = "duplicate"  # seen before: may be moved too
    REMITTANCE = "remittance"  # registered for the remittance runbook: left where it is
    QUARANTINED = "quarantined"  # unreadable: left where it is, never read again


@dataclass
class InboundReport:
    counts: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    def add(self, outcome: str) -> str:
        self.counts[outcome] += 1
        return outcome

    def __str__(self) -> str:
        text = ", ".join(f"{n} {word}" for word, n in sorted(self.counts.items())) or "nothing new"
        return text + "".join(f"; {p}" for p in self.problems)


def already_quarantined(ctx: AppContext, file: InboundFile) -> bool:
    with ctx.db.read() as s:
        sha = sha256_hex(file.content)
        return (
            s.scalar(select(ImportedFile.id).where(ImportedFile.sha256 == sha, ImportedFile.status == "quarantined"))
            is not None
        )


def _quarantine(ctx: AppContext, profile: PayerProfile, file: InboundFile, kind: str, exc: ParseError) -> Outcome:
    with ctx.db.unit_of_work() as s:
        row = quarantine(
            s, ctx.clock, SYSTEM, store_of(ctx), kind=kind, source=profile.code, filename=file.name,
            data=file.content, reason=str(exc),
        )  # fmt: skip
        open_task(
            s,
            ctx.clock,
            SYSTEM,
            kind="file_quarantined",
            title=f"Could not read {file.name} from {profile.name}",
            detail=f"{exc}. The file is kept in quarantine; nothing was changed from it.",
            recommended_fix="Ask the insurer to check and resend the file.",
            owner_role="manager",
            priority=TaskPriority.HIGH,
            entity_type="imported_file",
            entity_id=row.id,
            dedupe_key=f"file-quarantined:{row.id}",
        )
    return Outcome.QUARANTINED


def _register_remittance(ctx: AppContext, profile: PayerProfile, file: InboundFile, kind: str) -> Outcome:
    with ctx.db.unit_of_work() as s:
        reg = register_incoming(
            s, ctx.clock, SYSTEM, store_of(ctx), kind=kind, source=profile.code, filename=file.name, data=file.content
        )
        if not reg.duplicate:
            reg.file.status = "received"
            reg.file.message = "Remittance waiting for the remittance runbook; not applied by claims."
    return Outcome.REMITTANCE


def _claim(s: Session, number: str) -> Claim | None:
    return s.scalar(select(Claim).where(Claim.number == number))


def acknowledge_claim(s: Session, clock: Clock, claim: Claim, insurer_ref: str | None, source: str) -> str:
    if claim.status is not ClaimStatus.SUBMITTED:
        return f"{claim.number} is {claim.status.value}; acknowledgement noted only"
    if insurer_ref:
        claim.insurer_ref = insurer_ref[:60]
    claim.acknowledged_at = clock.now()
    move(s, clock, SYSTEM, claim, ClaimStatus.ACKNOWLEDGED, f"acknowledged in {source}")
    return ""


def reject_claim(
    s: Session, clock: Clock, claim: Claim, advice: rejections.RejectionAdvice, source: str, said: str = ""
) -> str:
    if claim.status not in _LIVE:
        return f"{claim.number} is {claim.status.value}; rejection {advice.code} noted only"
    move(s, clock, SYSTEM, claim, ClaimStatus.REJECTED, f"{advice.code} in {source}: {advice.plain_reason}")
    needs = f" The clinician must supply: {advice.missing_for_clinician}" if advice.missing_for_clinician else ""
    insurer = f" The insurer wrote: “{said}”." if said else ""
    open_task(
        s,
        clock,
        SYSTEM,
        kind="claim_rejected",
        title=f"{claim.number} rejected ({advice.code}): {advice.plain_reason}",
        detail=f"Code {advice.code} in {source}: {advice.plain_reason}{insurer}{needs}",
        recommended_fix=advice.recommended_fix,
        owner_role=_ROLE[advice.owner_role],
        priority=TaskPriority.HIGH,
        entity_type="claim",
        entity_id=claim.id,
        dedupe_key=f"claim-rejected:{claim.id}:{claim.submission_count}",
    )
    return ""


def _register(s: Session, ctx: AppContext, profile: PayerProfile, file: InboundFile, kind: str) -> ImportedFile | None:
    reg = register_incoming(
        s, ctx.clock, SYSTEM, store_of(ctx), kind=kind, source=profile.code, filename=file.name, data=file.content
    )
    return None if reg.duplicate else reg.file


def _finish(row: ImportedFile, notes: list[str]) -> Outcome:
    notes = [n for n in notes if n]
    if notes:
        row.status, row.message = "flagged", "; ".join(notes)[:2000]
    return Outcome.APPLIED


# --------------------------------------------------------------------------- insurer XML


def handle_xml(ctx: AppContext, profile: PayerProfile, file: InboundFile) -> Outcome:
    try:
        doc = parse_insurer_xml(file.content, file.name)
    except ParseError as exc:
        return _quarantine(ctx, profile, file, "insurer_xml", exc)
    if isinstance(doc, RemittanceFile):
        return _register_remittance(ctx, profile, file, "insurer_xml")
    with ctx.db.unit_of_work() as s:
        row = _register(s, ctx, profile, file, "insurer_xml_ack")
        if row is None:
            return Outcome.DUPLICATE
        notes = []
        for ack in doc.claims:
            claim = _claim(s, ack.claim_id)
            if claim is None:
                notes.append(f"{ack.claim_id} is not a claim of this clinic")
            elif ack.status is AckStatus.ACCEPTED:
                notes.append(acknowledge_claim(s, ctx.clock, claim, ack.insurer_claim_ref, file.name))
            else:
                advice = rejections.advise_xml(ack.reason_code or "")
                notes.append(reject_claim(s, ctx.clock, claim, advice, file.name, ack.reason_text or ""))
        return _finish(row, notes)


# --------------------------------------------------------------------------- X12


def _x12_kind(content: bytes) -> str | None:
    if not content.startswith(b"ISA") or len(content) < 4:
        return None
    sep = re.escape(content[3:4])
    match = re.search(rb"ST" + sep + rb"(\d{3})", content)
    return match.group(1).decode() if match else None


def _claim_by_control(s: Session, control: str) -> Claim | None:
    if not control.isdigit():
        return None
    sent = s.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.kind == "claim.submit", OutboxMessage.provider == "clearinghouse")
        .order_by(OutboxMessage.id.desc())
    )
    for msg in sent:
        payload = json.loads(msg.payload_json)
        if payload.get("control_number") == int(control):
            return s.get(Claim, int(payload["claim_id"]))
    return None


def _advice_999(ack: Ack999) -> rejections.RejectionAdvice:
    for tx in ack.transactions:
        for seg in tx.segment_errors:
            for element in seg.elements:
                return rejections.advise_999_element(element.code, element.element_ref)
            return rejections.advise_999_segment(seg.code, seg.segment_id)
    return rejections.advise_999_segment(ack.status)


def _apply_999(s: Session, clock: Clock, acks: list[Ack999], name: str) -> list[str]:
    notes = []
    for ack in acks:
        claim = _claim_by_control(s, ack.group_control_number)
        if claim is None:
            notes.append(f"group {ack.group_control_number} is not a claim file of ours")
        elif ack.accepted:
            record(s, clock, SYSTEM, "claim.999_accepted", "claim", claim.id, None, {"file": name}, ack.status_text)
        else:
            notes.append(reject_claim(s, clock, claim, _advice_999(ack), f"999 {name}"))
    return notes


def _apply_277(s: Session, clock: Clock, statuses: list[ClaimStatus277], name: str) -> list[str]:
    notes = []
    for st in statuses:
        claim = _claim(s, st.claim_id)
        if claim is None:
            notes.append(f"{st.claim_id} is not a claim of this clinic")
        elif st.accepted:
            notes.append(acknowledge_claim(s, clock, claim, st.payer_claim_id, f"277CA {name}"))
        else:
            bad = next(c for c in st.statuses if c.category not in ("A0", "A1", "A2", "A5"))
            advice = rejections.advise_277ca(bad.category, bad.status, bad.entity)
            said = "; ".join(c.text for c in st.statuses)
            notes.append(reject_claim(s, clock, claim, advice, f"277CA {name}", said))
    return notes


def handle_x12(ctx: AppContext, profile: PayerProfile, file: InboundFile) -> Outcome:
    kind = _x12_kind(file.content)
    if kind == "835":
        return _register_remittance(ctx, profile, file, "x12_835")
    try:
        if kind == "999":
            acks: list[Ack999] | None = parse_999(file.content, file.name)
            statuses: list[ClaimStatus277] = []
        elif kind == "277":
            acks, statuses = None, parse_277ca(file.content, file.name)
        else:
            raise ParseError(file.name, "segment 1", "not an X12 999, 277CA or 835 file (no ISA/ST found)")
    except ParseError as exc:
        return _quarantine(ctx, profile, file, f"x12_{kind or 'unknown'}", exc)
    with ctx.db.unit_of_work() as s:
        row = _register(s, ctx, profile, file, "x12_999" if acks is not None else "x12_277ca")
        if row is None:
            return Outcome.DUPLICATE
        notes = (
            _apply_999(s, ctx.clock, acks, file.name)
            if acks is not None
            else _apply_277(s, ctx.clock, statuses, file.name)
        )
        return _finish(row, notes)
