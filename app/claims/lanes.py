"""Work lanes of the Claims view: rejections to fix, SLA breaches, claims awaiting review, ready to send."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import Claim
from app.domain.status import ClaimStatus
from app.queries.claims import SORTS, ClaimRow, filtered_claims, list_claims, to_claim_row
from app.queries.paging import ListQuery, Page
from app.settings import get_setting

LANES: dict[str, str] = {
    "": "All claims",
    "rejections": "Rejections to fix",
    "sla": "SLA breaches (no adjudication)",
    "review": "Waiting for risk review",
    "ready": "Ready to submit",
}
_BY_STATUS = {
    "rejections": ClaimStatus.REJECTED.value,
    "review": ClaimStatus.NEEDS_REVIEW.value,
    "ready": ClaimStatus.READY.value,
}


def claims_in_lane(session: Session, q: ListQuery, lane: str, now: datetime) -> Page[ClaimRow]:
    """One page of the lane; the SLA lane holds sent claims older than ``claims.sla_hours`` without a decision."""
    if lane in _BY_STATUS:
        return list_claims(session, replace(q, status=_BY_STATUS[lane]))
    if lane != "sla":
        return list_claims(session, q)
    cutoff = now - timedelta(hours=int(get_setting(session, "claims.sla_hours")))
    stmt = (
        filtered_claims(replace(q, status=""))
        .where(Claim.status.in_([ClaimStatus.SUBMITTED, ClaimStatus.ACKNOWLEDGED]))
        .where(Claim.submitted_at <= cutoff)
    )
    total = int(session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0)
    key = SORTS.get(q.sort_key, Claim.submitted_at)
    order = [key.desc() if q.descending else key.asc(), Claim.id]
    rows = [to_claim_row(r) for r in session.execute(stmt.order_by(*order).offset(q.offset).limit(q.limit))]
    return Page(rows, total, q.offset)
