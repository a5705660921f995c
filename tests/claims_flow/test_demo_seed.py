"""The demo's claims reference data: mappings, dictionaries and channel profiles make demo claims packable."""

from __future__ import annotations

import json

from sqlalchemy import select

from app.claims.preflight import check_claim
from app.claims.submission import pack_claim
from app.context import AppContext
from app.db.models import Claim, CodeMapping, InsurerCode, Payer, Practitioner
from app.demo import load_demo
from app.domain.status import ClaimStatus
from app.users import sign_in


def test_demo_claims_pass_the_coding_audit_and_pack(ctx: AppContext) -> None:
    load_demo(ctx.db, ctx.clock)  # calls app.claims.demo_data.seed_demo itself
    actor = sign_in(ctx.db, ctx.clock, "manager", "2222")
    with ctx.db.read() as s:
        assert s.scalar(select(CodeMapping.id).limit(1)) and s.scalar(select(InsurerCode.id).limit(1))
        aetna = s.scalar(select(Payer).where(Payer.code == "aetna"))
        assert aetna is not None and json.loads(aetna.settings_json)["x12"]["sender_id"]
        claim_id = s.scalar(
            select(Claim.id)
            .join(Practitioner, Practitioner.id == Claim.practitioner_id)
            .join(Payer, Payer.id == Claim.payer_id)
            .where(
                Payer.code == "axa",
                Practitioner.name == "James O'Neill",
                Claim.status.in_([ClaimStatus.DRAFT, ClaimStatus.READY]),
            )
        )
    assert claim_id is not None
    result = check_claim(ctx, actor, claim_id)  # no portal is set up: cover is "not confirmed", codes are fine
    assert not result.blocking and result.status in (ClaimStatus.READY, ClaimStatus.NEEDS_REVIEW)
    assert "packed" in pack_claim(ctx, actor, claim_id)
