"""The HTTP portal channel against the fake AXA-style portal on loopback."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

import httpx
import pytest

from app.claims.xml_payload import SCHEMA_DIR, InsurerClaim, build_claim_xml, parse_remittance_xml
from app.connectors.base import ClaimSubmission
from app.connectors.insurer_portal import PortalInsurerChannel, PortalLogin
from app.errors import PermanentError, TransientError
from sandboxes.insurer_portal import InsurerPortalSandbox, MemberCover
from tests.insurers.samples import REFERRAL_PDF

REMITTANCE_EXAMPLE = (SCHEMA_DIR / "examples" / "REM-20261127-0042.xml").read_bytes()


def _submission(claim: InsurerClaim) -> ClaimSubmission:
    return ClaimSubmission(claim.claim_id, claim.file_name, build_claim_xml(claim), {"referral.pdf": REFERRAL_PDF})


def test_claim_is_posted_with_its_attachments(
    portal_channel: PortalInsurerChannel, portal: InsurerPortalSandbox, good_claim: InsurerClaim
) -> None:
    receipt = portal_channel.submit(_submission(good_claim), "CLM-000123-attempt")
    assert receipt.insurer_ref == "AXA-000001"
    assert receipt.detail == "received"
    stored = portal.claims["AXA-000001"]
    assert stored.payload == build_claim_xml(good_claim)
    assert stored.payload_name == "CLM-000123.xml"
    assert stored.attachments == {"referral.pdf": REFERRAL_PDF}
    assert portal_channel.claim_status("AXA-000001") == "RECEIVED"


def test_same_idempotency_key_twice_makes_one_claim(
    portal_channel: PortalInsurerChannel, portal: InsurerPortalSandbox, good_claim: InsurerClaim
) -> None:
    first = portal_channel.submit(_submission(good_claim), "key-123")
    second = portal_channel.submit(_submission(good_claim), "key-123")
    assert first.insurer_ref == second.insurer_ref
    assert "already received" in second.detail
    assert len(portal.claims) == 1


@pytest.mark.parametrize("after_handling", [False, True])
def test_connection_dropped_then_retried_makes_one_claim(
    portal_channel: PortalInsurerChannel,
    portal: InsurerPortalSandbox,
    good_claim: InsurerClaim,
    after_handling: bool,
) -> None:
    portal_channel.check_eligibility("AXA-MEMBER", date(2026, 11, 2), [])  # log in first
    portal.drop_next(1, after_handling=after_handling)
    with pytest.raises(TransientError):
        portal_channel.submit(_submission(good_claim), "key-drop")
    assert len(portal.claims) == (1 if after_handling else 0)
    receipt = portal_channel.submit(_submission(good_claim), "key-drop")
    assert receipt.insurer_ref == "AXA-000001"
    assert len(portal.claims) == 1


def test_service_unavailable_is_transient(
    portal_channel: PortalInsurerChannel, portal: InsurerPortalSandbox, good_claim: InsurerClaim
) -> None:
    portal_channel.check_eligibility("AXA-MEMBER", date(2026, 11, 2), [])  # log in first
    portal.fail_next(1, status=503)
    with pytest.raises(TransientError, match="503"):
        portal_channel.submit(_submission(good_claim), "key-503")
    assert portal.claims == {}
    assert portal_channel.submit(_submission(good_claim), "key-503").insurer_ref == "AXA-000001"


def test_bad_token_and_bad_login_are_permanent(
    portal_client: httpx.Client, portal: InsurerPortalSandbox, good_claim: InsurerClaim
) -> None:
    stale = PortalInsurerChannel(portal_client, lambda: "expired-token", name="AXA portal")
    with pytest.raises(PermanentError, match="401"):
        stale.submit(_submission(good_claim), "key-401")
    login = PortalLogin(portal_client, "clinic", "not-the-password", name="AXA portal")
    with pytest.raises(PermanentError, match="401") as caught:
        PortalInsurerChannel(portal_client, login).fetch_inbound()
    assert "not-the-password" not in str(caught.value)
    assert portal.claims == {}


def test_invalid_claim_is_permanent_and_says_why(
    portal_channel: PortalInsurerChannel, portal: InsurerPortalSandbox, good_claim: InsurerClaim
) -> None:
    broken = dataclasses.replace(good_claim, patient=dataclasses.replace(good_claim.patient, postcode="nowhere"))
    with pytest.raises(PermanentError, match="422") as caught:
        portal_channel.submit(_submission(broken), "key-422")
    assert "Postcode" in str(caught.value)
    portal_channel.submit(_submission(good_claim), "key-ok")
    other = dataclasses.replace(good_claim, notes="changed")
    with pytest.raises(PermanentError, match="idempotency_key_reused"):
        portal_channel.submit(_submission(other), "key-ok")
    assert len(portal.claims) == 1


def test_eligibility(portal_channel: PortalInsurerChannel, portal: InsurerPortalSandbox) -> None:
    portal.members["AXA-M-1001"] = MemberCover(True, date(2026, 1, 1), date(2026, 12, 31), "AUTH-55", 3)
    covered = portal_channel.check_eligibility("AXA-M-1001", date(2026, 11, 2), ["PHY01"])
    assert covered.covered and covered.authorisation_number == "AUTH-55" and covered.visits_left == 3
    assert (covered.coverage_start, covered.coverage_end) == (date(2026, 1, 1), date(2026, 12, 31))
    outside = portal_channel.check_eligibility("AXA-M-1001", date(2027, 2, 1), ["PHY01"])
    assert not outside.covered and outside.messages
    unknown = portal_channel.check_eligibility("AXA-M-0000", date(2026, 11, 2), [])
    assert not unknown.covered and "does not know member" in unknown.messages[0]


def test_remittances_are_fetched_since_a_time(
    portal_channel: PortalInsurerChannel, portal: InsurerPortalSandbox
) -> None:
    portal.add_remittance("REM-OLD.xml", REMITTANCE_EXAMPLE, datetime(2026, 10, 1, tzinfo=UTC))
    portal.add_remittance("REM-20261127-0042.xml", REMITTANCE_EXAMPLE, datetime(2026, 11, 27, tzinfo=UTC))
    assert [f.name for f in portal_channel.fetch_inbound()] == ["REM-OLD.xml", "REM-20261127-0042.xml"]
    (recent,) = portal_channel.fetch_inbound(since=datetime(2026, 11, 1, tzinfo=UTC))
    assert recent.content == REMITTANCE_EXAMPLE
    assert parse_remittance_xml(recent.content, recent.name).payment_reference == "BUPA-PAY-0042"
