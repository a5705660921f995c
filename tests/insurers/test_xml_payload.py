"""The claim XML we send and the acknowledgement/remittance XML we read, checked against the XSDs."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

import pytest

from app.claims.xml_payload import (
    SCHEMA_DIR,
    AcknowledgementFile,
    AckStatus,
    ClaimLine,
    InsurerClaim,
    RemittanceFile,
    build_claim_xml,
    parse_ack_xml,
    parse_insurer_xml,
    parse_remittance_xml,
    validate_claim_xml,
)
from app.errors import ParseError, ValidationFailed
from app.money import Money

EXAMPLES = SCHEMA_DIR / "examples"
ACK_EXAMPLE = (EXAMPLES / "ACK-20261120-0001.xml").read_bytes()
REMITTANCE_EXAMPLE = (EXAMPLES / "REM-20261127-0042.xml").read_bytes()


def test_good_claim_passes_the_xsd_and_the_sums(good_claim: InsurerClaim) -> None:
    xml = build_claim_xml(good_claim)
    validate_claim_xml(xml)
    assert b'<Charged currency="GBP">156.00</Charged>' in xml
    assert b'<Amount currency="GBP">91.00</Amount>' in xml
    assert good_claim.total == Money.of("156.00")


def test_building_is_deterministic(good_claim: InsurerClaim) -> None:
    again = dataclasses.replace(good_claim, lines=tuple(dataclasses.replace(line) for line in good_claim.lines))
    assert build_claim_xml(good_claim) == build_claim_xml(again)
    other = dataclasses.replace(good_claim, notes="Different notes")
    assert build_claim_xml(good_claim) != build_claim_xml(other)


def test_broken_claim_lists_every_problem(good_claim: InsurerClaim) -> None:
    broken = dataclasses.replace(
        good_claim,
        member_number="bad member!",
        patient=dataclasses.replace(good_claim.patient, postcode="nowhere"),
        provider=dataclasses.replace(good_claim.provider, registration_body="XYZ"),
        diagnosis_codes=("back pain",),
        lines=(ClaimLine("PHY01", "A5005", "Assessment", 1, Money.of("65.00", "EUR")),),
        consent_given=False,
        consent_date=None,
    )
    with pytest.raises(ValidationFailed) as caught:
        validate_claim_xml(build_claim_xml(broken))
    problems = "\n".join(caught.value.problems)
    for where in (
        "/Claim/Insurer/MemberNumber",
        "/Claim/Patient/Postcode",
        "/Claim/Provider/Registration",
        "/Claim/Encounter/Diagnosis",
        "/Claim/Lines/Line/UnitPrice",
        "/Claim/Totals/Charged",
        "/Claim/Consent/Given",
    ):
        assert where in problems, f"{where} missing from:\n{problems}"


def test_hand_edited_amounts_that_do_not_add_up_are_refused(good_claim: InsurerClaim) -> None:
    xml = build_claim_xml(good_claim).replace(b">91.00<", b">91.001<")
    with pytest.raises(ValidationFailed) as caught:
        validate_claim_xml(xml)
    problems = caught.value.problems
    assert any("Line[2]/Amount" in p and "fraction digits" in p for p in problems)
    assert any(p.startswith("/Claim/Lines/Line[2]:") for p in problems)
    assert any(p.startswith("/Claim/Totals/Charged:") for p in problems)


def test_claim_that_is_not_xml_names_the_line() -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_claim_xml(b"<?xml version='1.0'?>\n<Claim>\n<ClaimId>CLM-1</Claim>")
    assert caught.value.problems[0].startswith("line 3")


def test_entity_expansion_is_refused() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "xxxxxxxx"><!ENTITY y "&x;&x;&x;&x;">]><a>&y;</a>'
    with pytest.raises(ParseError, match="DTD or entities"):
        parse_ack_xml(bomb, "ACK-evil.xml")


def test_acknowledgement_is_read() -> None:
    ack = parse_ack_xml(ACK_EXAMPLE, "ACK-20261120-0001.xml")
    assert ack.issued_at == datetime(2026, 11, 20, 14, 5, tzinfo=UTC)
    accepted, rejected = ack.claims
    assert (accepted.claim_id, accepted.status, accepted.insurer_claim_ref) == (
        "CLM-000123",
        AckStatus.ACCEPTED,
        "BUPA-7781234",
    )
    assert rejected.status is AckStatus.REJECTED
    assert rejected.reason_code == "R12"
    assert rejected.reason_text is not None and "Pre-authorisation" in rejected.reason_text


def test_malformed_acknowledgement_names_file_and_line() -> None:
    broken = ACK_EXAMPLE.replace(b"</Status>\n  </Claim>", b"</Stat>\n  </Claim>", 1)
    with pytest.raises(ParseError) as caught:
        parse_ack_xml(broken, "ACK-20261120-0001.xml")
    assert caught.value.filename == "ACK-20261120-0001.xml"
    assert caught.value.position.startswith("line 8")
    assert "ACK-20261120-0001.xml" in str(caught.value)


def test_acknowledgement_breaking_the_xsd_names_the_element() -> None:
    broken = ACK_EXAMPLE.replace(b"<Status>ACCEPTED</Status>", b"<Status>MAYBE</Status>")
    with pytest.raises(ParseError) as caught:
        parse_ack_xml(broken, "ACK-x.xml")
    assert caught.value.position == "/Acknowledgement/Claim[1]/Status"


def test_rejection_without_reason_is_refused() -> None:
    broken = ACK_EXAMPLE.replace(
        b'<Reason code="R12">Pre-authorisation number not recognised for this member</Reason>', b""
    )
    with pytest.raises(ParseError, match="no reason") as caught:
        parse_ack_xml(broken, "ACK-x.xml")
    assert caught.value.position == "/Acknowledgement/Claim[2]"


def test_remittance_is_read_as_money() -> None:
    remittance = parse_remittance_xml(REMITTANCE_EXAMPLE, "REM-20261127-0042.xml")
    assert remittance.payment_reference == "BUPA-PAY-0042"
    assert remittance.payment_date == date(2026, 11, 27)
    assert remittance.total_paid == Money(12600, "GBP")
    (claim,) = remittance.claims
    assert (claim.charged, claim.paid, claim.patient_responsibility) == (
        Money(15600),
        Money(12600),
        Money(2000),
    )
    assert [(a.code, a.amount) for a in claim.adjustments] == [("FEE-SCHEDULE", Money(1000))]


def test_remittance_whose_sums_disagree_is_refused() -> None:
    wrong_total = REMITTANCE_EXAMPLE.replace(b">126.00</TotalPaid>", b">162.00</TotalPaid>")
    with pytest.raises(ParseError) as caught:
        parse_remittance_xml(wrong_total, "REM-1.xml")
    assert caught.value.position == "/Remittance/TotalPaid"
    unexplained = REMITTANCE_EXAMPLE.replace(b">10.00</Adjustment>", b">15.00</Adjustment>")
    with pytest.raises(ParseError) as caught:
        parse_remittance_xml(unexplained, "REM-1.xml")
    assert caught.value.position == "/Remittance/Claim[1]"


def test_inbound_files_are_told_apart_by_their_root() -> None:
    assert isinstance(parse_insurer_xml(ACK_EXAMPLE, "a.xml"), AcknowledgementFile)
    assert isinstance(parse_insurer_xml(REMITTANCE_EXAMPLE, "r.xml"), RemittanceFile)
    with pytest.raises(ParseError, match="not an acknowledgement or a remittance"):
        parse_insurer_xml(b"<Invoice/>", "other.xml")


def test_remittance_date_with_a_zone_is_refused_cleanly() -> None:
    zoned = REMITTANCE_EXAMPLE.replace(b"2026-11-27</PaymentDate>", b"2026-11-27+01:00</PaymentDate>")
    with pytest.raises(ParseError) as caught:
        parse_remittance_xml(zoned, "REM-1.xml")
    assert caught.value.position == "/Remittance/PaymentDate"
