"""Rejection codes turned into a task someone at the clinic can act on.

Three sources:

* the UK XML channel's reason codes (``XML_REASONS``; our channel's documented set, below);
* X12 999 syntax errors: IK3 segment codes (IK304) and IK4 element codes (IK403);
* X12 277CA claim acknowledgements: STC01 category (A3, A6, A7, A8 …), status code and,
  optionally, the entity code (85 billing provider, IL subscriber, QC patient …).

Every lookup returns a :class:`RejectionAdvice`; an unknown code gets honest generic advice that
repeats the raw code, so nothing is silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class OwnerRole(StrEnum):
    FRONT_DESK = "front_desk"  # patient, policy and authorisation details
    CLINICIAN = "clinician"  # diagnoses, procedures, clinical documents
    BILLING = "billing"  # codes, mappings, provider set-up, file format


@dataclass(frozen=True, slots=True)
class RejectionAdvice:
    code: str
    plain_reason: str
    recommended_fix: str
    missing_for_clinician: str | None
    owner_role: OwnerRole
    known: bool = True


@dataclass(frozen=True, slots=True)
class _Entry:
    reason: str
    fix: str
    owner: OwnerRole
    clinician_needs: str | None = None


_FD, _CL, _BI = OwnerRole.FRONT_DESK, OwnerRole.CLINICIAN, OwnerRole.BILLING

# --------------------------------------------------------------------------- UK XML channel

XML_REASONS: Final[dict[str, _Entry]] = {
    "MEMBER_NOT_FOUND": _Entry(
        "The insurer cannot find the patient's membership number.",
        "Check the membership number, name and date of birth against the patient's insurance card; "
        "correct them and resubmit.",
        _FD,
    ),
    "MEMBER_DETAILS_MISMATCH": _Entry(
        "The membership number exists but the name or date of birth does not match it.",
        "Confirm the patient's details with the patient or the insurer and correct the record.",
        _FD,
    ),
    "POLICY_LAPSED": _Entry(
        "The patient's policy was not active on the service date.",
        "Ask the patient for their current cover; if they have none, bill the patient directly.",
        _FD,
    ),
    "BENEFIT_EXHAUSTED": _Entry(
        "The patient has used up this benefit (sessions or annual limit).",
        "Tell the patient and bill the remaining amount to them, or ask the insurer for an extension.",
        _FD,
    ),
    "AUTH_MISSING": _Entry(
        "The treatment needs a pre-authorisation and the claim has none.",
        "Obtain the authorisation number from the insurer (or the patient) and add it to the claim.",
        _FD,
    ),
    "AUTH_INVALID": _Entry(
        "The authorisation number is unknown to the insurer or does not cover this treatment.",
        "Check the number and what it covers with the insurer; correct it or request a new one.",
        _FD,
    ),
    "AUTH_EXPIRED": _Entry(
        "The authorisation had expired, or its sessions were used up, before the service date.",
        "Ask the insurer to extend the authorisation, then resubmit with the new number.",
        _FD,
    ),
    "REFERRAL_MISSING": _Entry(
        "The insurer needs a GP or specialist referral for this treatment.",
        "Obtain the referral letter and attach it to the claim.",
        _FD,
    ),
    "CODE_NOT_COVERED": _Entry(
        "The patient's policy does not cover this procedure code.",
        "Check the procedure was coded correctly; if it was, bill the patient for it.",
        _BI,
    ),
    "CODE_INVALID": _Entry(
        "The insurer does not recognise a procedure code on the claim.",
        "Correct the clinic's code mapping for this insurer and resubmit.",
        _BI,
    ),
    "DIAGNOSIS_MISSING": _Entry(
        "The claim has no diagnosis.",
        "The clinician records the diagnosis (ICD-10) on the treatment note; then resubmit.",
        _CL,
        "An ICD-10 diagnosis code for the treatment.",
    ),
    "DIAGNOSIS_INVALID": _Entry(
        "A diagnosis code is not valid ICD-10 or does not support the treatment billed.",
        "The clinician checks and corrects the diagnosis code; then resubmit.",
        _CL,
        "A valid ICD-10 diagnosis that supports the treatment billed.",
    ),
    "MISSING_ATTACHMENT": _Entry(
        "The insurer needs a document that was not attached (e.g. clinical report or treatment plan).",
        "Ask the clinician for the document, attach it and resubmit.",
        _CL,
        "The clinical report or treatment plan the insurer asked for.",
    ),
    "PRACTITIONER_NOT_RECOGNISED": _Entry(
        "The treating practitioner is not registered with this insurer.",
        "Check the practitioner's insurer provider number in settings, or register them with the insurer.",
        _BI,
    ),
    "FEE_ABOVE_SCHEDULE": _Entry(
        "The fee is above the insurer's fee schedule for this code.",
        "Resubmit at the scheduled fee; bill any shortfall to the patient if their policy allows.",
        _BI,
    ),
    "DUPLICATE_CLAIM": _Entry(
        "The insurer already has a claim for the same patient, date and treatment.",
        "Find the earlier claim; do not resubmit unless it is a correction (then send it as one).",
        _BI,
    ),
    "LATE_SUBMISSION": _Entry(
        "The claim arrived after the insurer's submission deadline.",
        "Appeal with the reason for the delay if there is one; otherwise write off or bill the patient.",
        _BI,
    ),
    "SCHEMA_INVALID": _Entry(
        "The claim file did not match the insurer's XML format.",
        "Report it to the clinic's software support with the claim number; it is not a data-entry error.",
        _BI,
    ),
}


def advise_xml(reason_code: str) -> RejectionAdvice:
    """Advice for a reason code from the UK XML channel."""
    code = reason_code.strip().upper()
    entry = XML_REASONS.get(code)
    return _advice(code, entry) if entry else _unknown(f"XML:{code}", "the insurer's XML response")


# --------------------------------------------------------------------------- X12 999

_999_FIX: Final = (
    "The claim file was built incorrectly; resend after the software fix. Report it to the clinic's "
    "software support with the 999 file: no patient data needs changing."
)
IK3_SEGMENT_ERRORS: Final[dict[str, str]] = {
    "1": "Unrecognised segment ID.",
    "2": "Unexpected segment.",
    "3": "Required segment missing.",
    "4": "Loop occurs over maximum times.",
    "5": "Segment exceeds maximum use.",
    "6": "Segment not in defined transaction set.",
    "7": "Segment not in proper sequence.",
    "8": "Segment has data element errors.",
    "I4": "Implementation 'not used' segment present.",
    "I6": "Implementation dependent segment missing.",
    "I7": "Implementation loop occurs under minimum times.",
    "I8": "Implementation segment below minimum use.",
    "I9": "Implementation dependent 'not used' segment present.",
}
IK4_ELEMENT_ERRORS: Final[dict[str, str]] = {
    "1": "Required data element missing.",
    "2": "Conditional required data element missing.",
    "3": "Too many data elements.",
    "4": "Data element too short.",
    "5": "Data element too long.",
    "6": "Invalid character in data element.",
    "7": "Invalid code value.",
    "8": "Invalid date.",
    "9": "Invalid time.",
    "10": "Exclusion condition violated.",
    "12": "Too many repetitions.",
    "13": "Too many components.",
    "I6": "Code value not used in implementation.",
    "I9": "Implementation dependent data element missing.",
    "I10": "Implementation 'not used' data element present.",
    "I11": "Implementation too few repetitions.",
    "I12": "Implementation pattern match failure.",
    "I13": "Implementation dependent 'not used' data element present.",
}


def advise_999_segment(ik304: str, segment_id: str | None = None) -> RejectionAdvice:
    """Advice for a 999 IK3 segment error (``segment_id`` from IK301, e.g. ``NM1``)."""
    code = ik304.strip().upper()
    where = f" (segment {segment_id})" if segment_id else ""
    text = IK3_SEGMENT_ERRORS.get(code)
    if text is None:
        return _unknown(f"999:IK3:{code}", f"the 999 acknowledgement{where}")
    reason = f"The clearinghouse rejected the file's structure{where}: {text}"
    return RejectionAdvice(f"999:IK3:{code}", reason, _999_FIX, None, _BI)


def advise_999_element(ik403: str, element_ref: str | None = None) -> RejectionAdvice:
    """Advice for a 999 IK4 element error (``element_ref`` e.g. ``NM109``)."""
    code = ik403.strip().upper()
    where = f" (element {element_ref})" if element_ref else ""
    text = IK4_ELEMENT_ERRORS.get(code)
    if text is None:
        return _unknown(f"999:IK4:{code}", f"the 999 acknowledgement{where}")
    reason = f"The clearinghouse rejected a value in the file{where}: {text}"
    return RejectionAdvice(f"999:IK4:{code}", reason, _999_FIX, None, _BI)


# --------------------------------------------------------------------------- X12 277CA

CATEGORIES_277: Final[dict[str, str]] = {
    "A3": "returned as unprocessable",
    "A4": "not found",
    "A6": "rejected for missing information",
    "A7": "rejected for invalid information",
    "A8": "rejected for a relational field in error",
}
ENTITIES_277: Final[dict[str, str]] = {
    "85": "billing provider",
    "82": "rendering provider",
    "87": "pay-to provider",
    "77": "service location",
    "DN": "referring provider",
    "IL": "subscriber (policy holder)",
    "QC": "patient",
    "PR": "payer",
    "40": "receiver",
    "41": "submitter",
}
STATUSES_277: Final[dict[str, _Entry]] = {
    "21": _Entry(
        "Missing or invalid information.",
        "Read the other status codes on this claim; they say which information.",
        _BI,
    ),
    "26": _Entry("The entity was not found.", "Check the identifiers of the named party.", _BI),
    "27": _Entry(
        "The policy was cancelled.",
        "Ask the patient for current cover; otherwise bill the patient.",
        _FD,
    ),
    "29": _Entry(
        "Subscriber and policy number do not match.",
        "Check the policy number on the patient's card.",
        _FD,
    ),
    "30": _Entry(
        "Subscriber and subscriber ID do not match.",
        "Check the member ID and the policy holder's name and date of birth.",
        _FD,
    ),
    "33": _Entry(
        "Subscriber and subscriber ID not found.",
        "Check the member ID, name and date of birth on the insurance card; confirm the right payer.",
        _FD,
    ),
    "35": _Entry("The payer cannot find the claim.", "Check the claim was sent to this payer.", _BI),
    "54": _Entry(
        "Duplicate of a claim already processed.",
        "Find the earlier claim; resubmit only as a corrected claim.",
        _BI,
    ),
    "78": _Entry(
        "Duplicate of a claim still awaiting processing.",
        "Wait for the earlier claim's outcome; do not resubmit.",
        _BI,
    ),
    "97": _Entry(
        "The payer cannot find the patient's eligibility.",
        "Run an eligibility check and correct the patient's policy details.",
        _FD,
    ),
    "116": _Entry(
        "The claim was sent to the wrong payer.",
        "Confirm the patient's insurer and payer ID, then resubmit to the right payer.",
        _FD,
    ),
    "122": _Entry(
        "Missing or invalid data prevents the payer from processing the claim.",
        "Read the other status codes on this claim and correct what they name.",
        _BI,
    ),
    "128": _Entry("The tax identifier is missing or invalid.", "Correct the clinic's tax ID in settings.", _BI),
    "145": _Entry(
        "The specialty (taxonomy) code is missing or invalid.",
        "Correct the practitioner's taxonomy code in settings.",
        _BI,
    ),
    "187": _Entry(
        "The date(s) of service are missing or invalid.",
        "Check the appointment date on the claim.",
        _FD,
    ),
    "252": _Entry(
        "The prior authorisation number is missing or invalid.",
        "Add the correct authorisation number from the insurer.",
        _FD,
    ),
    "254": _Entry(
        "The principal diagnosis code is missing or invalid.",
        "The clinician corrects the primary diagnosis.",
        _CL,
        "A valid primary ICD-10 diagnosis.",
    ),
    "255": _Entry(
        "A diagnosis code is missing or invalid.",
        "The clinician corrects the diagnosis codes.",
        _CL,
        "Valid ICD-10 diagnosis codes.",
    ),
    "400": _Entry(
        "The claim is out of balance (line charges do not add up to the total).",
        "Report to software support with the claim number.",
        _BI,
    ),
    "454": _Entry(
        "The procedure code is missing or invalid.",
        "Check the code mapping; if the procedure itself is wrong the clinician corrects it.",
        _BI,
    ),
    "500": _Entry(
        "A postal code is missing or invalid.",
        "Correct the postal code of the named party (for providers, in settings).",
        _BI,
    ),
    "562": _Entry(
        "The National Provider Identifier (NPI) is missing or invalid.",
        "Correct the NPI of the named provider in settings; check it is active in NPPES.",
        _BI,
    ),
    "796": _Entry(
        "The procedure code is not valid for the date of service.",
        "Check the code mapping's validity dates for this insurer.",
        _BI,
    ),
}


def advise_277ca(category: str, status: str, entity: str | None = None) -> RejectionAdvice:
    """Advice for an STC01 composite, e.g. ``advise_277ca("A7", "562", "85")``."""
    cat = category.strip().upper()
    st = status.strip().upper()
    ent = entity.strip().upper() if entity else None
    raw = ":".join(p for p in (cat, st, ent) if p)
    entry = STATUSES_277.get(st)
    category_text = CATEGORIES_277.get(cat)
    if entry is None or category_text is None:
        return _unknown(raw, "the 277CA claim acknowledgement")
    party = f" (about the {ENTITIES_277.get(ent, f'entity {ent}')})" if ent else ""
    reason = f"Claim {category_text}: {entry.reason}{party}"
    return RejectionAdvice(raw, reason, entry.fix, entry.clinician_needs, entry.owner)


# --------------------------------------------------------------------------- shared


def _advice(code: str, entry: _Entry) -> RejectionAdvice:
    return RejectionAdvice(code, entry.reason, entry.fix, entry.clinician_needs, entry.owner)


def _unknown(raw: str, source: str) -> RejectionAdvice:
    return RejectionAdvice(
        code=raw,
        plain_reason=f"The insurer returned code {raw} in {source}; this app does not know that code yet.",
        recommended_fix=(
            f"Look up {raw} in the insurer's or clearinghouse's guide, or call them, then correct the claim. "
            "Ask software support to add the code."
        ),
        missing_for_clinician=None,
        owner_role=OwnerRole.BILLING,
        known=False,
    )
