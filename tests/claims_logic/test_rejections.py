"""Rejection codes become a task with a plain reason, a fix and an owner."""

from __future__ import annotations

import pytest

from app.claims.rejections import (
    XML_REASONS,
    OwnerRole,
    advise_277ca,
    advise_999_element,
    advise_999_segment,
    advise_xml,
)


def test_known_xml_reason_gets_owner_and_fix() -> None:
    advice = advise_xml(" member_not_found ")
    assert advice.known
    assert advice.code == "MEMBER_NOT_FOUND"
    assert advice.owner_role is OwnerRole.FRONT_DESK
    assert "membership number" in advice.plain_reason
    assert advice.missing_for_clinician is None


def test_clinical_reason_says_what_the_clinician_must_supply() -> None:
    advice = advise_xml("MISSING_ATTACHMENT")
    assert advice.owner_role is OwnerRole.CLINICIAN
    assert advice.missing_for_clinician and "report" in advice.missing_for_clinician


@pytest.mark.parametrize("code", sorted(XML_REASONS))
def test_every_xml_reason_is_complete(code: str) -> None:
    advice = advise_xml(code)
    assert advice.plain_reason and advice.recommended_fix
    assert (advice.owner_role is OwnerRole.CLINICIAN) == (advice.missing_for_clinician is not None)


def test_277ca_combines_category_status_and_entity() -> None:
    advice = advise_277ca("A7", "562", "85")
    assert advice.code == "A7:562:85"
    assert "invalid information" in advice.plain_reason
    assert "NPI" in advice.plain_reason and "billing provider" in advice.plain_reason
    assert advice.owner_role is OwnerRole.BILLING
    subscriber = advise_277ca("A6", "33", "IL")
    assert subscriber.owner_role is OwnerRole.FRONT_DESK
    diagnosis = advise_277ca("A7", "255")
    assert diagnosis.owner_role is OwnerRole.CLINICIAN and diagnosis.missing_for_clinician


def test_999_segment_and_element_errors() -> None:
    segment = advise_999_segment("3", "NM1")
    assert segment.code == "999:IK3:3" and "Required segment missing" in segment.plain_reason
    assert "NM1" in segment.plain_reason
    element = advise_999_element("I12", "NM109")
    assert element.code == "999:IK4:I12" and "pattern match" in element.plain_reason
    assert element.owner_role is OwnerRole.BILLING


@pytest.mark.parametrize(
    ("advice_call", "raw"),
    [
        (lambda: advise_xml("COSMIC_RAYS"), "XML:COSMIC_RAYS"),
        (lambda: advise_277ca("A7", "9999", "85"), "A7:9999:85"),
        (lambda: advise_277ca("Z9", "21"), "Z9:21"),
        (lambda: advise_999_segment("77"), "999:IK3:77"),
        (lambda: advise_999_element("99", "CLM01"), "999:IK4:99"),
    ],
)
def test_unknown_code_gets_honest_advice_with_the_raw_code(advice_call, raw) -> None:  # type: ignore[no-untyped-def]
    advice = advice_call()
    assert not advice.known
    assert advice.code == raw
    assert raw in advice.plain_reason and raw in advice.recommended_fix
    assert "does not know" in advice.plain_reason
