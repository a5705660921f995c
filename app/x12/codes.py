"""Plain-language text for the codes a clinic sees in 999 and 277CA acknowledgements."""

from __future__ import annotations

from enum import Enum
from typing import Final


class CodeList(Enum):
    """Which X12 code list a code belongs to (the same digits mean different things)."""

    SEGMENT_ERROR = "IK3"  # IK304
    ELEMENT_ERROR = "IK4"  # IK403
    TRANSACTION_STATUS = "IK5"  # IK501 / AK901 (A, E, R, ...)
    TRANSACTION_ERROR = "IK5-code"  # IK502..IK506
    GROUP_ERROR = "AK9-code"  # AK905..AK909
    CLAIM_CATEGORY = "STC-category"  # STC01-1 (A1, A7, ...)
    CLAIM_STATUS = "STC-status"  # STC01-2 (20, 21, 562, ...)
    ENTITY = "entity"  # STC01-3 (85, IL, QC, ...)


_TEXT: Final[dict[CodeList, dict[str, str]]] = {
    CodeList.SEGMENT_ERROR: {
        "1": "Unrecognized segment: the clearinghouse did not recognise a line of the file",
        "2": "Unexpected segment: a line appears where it is not allowed",
        "3": "Required segment missing: a mandatory line of the claim file is missing",
        "4": "A loop repeats more times than allowed",
        "5": "A segment repeats more times than allowed",
        "6": "Segment not defined for this kind of file",
        "7": "Segment out of order",
        "8": "Segment has data element errors (see the element errors)",
        "I4": "A segment the guide marks 'not used' is present",
        "I6": "A segment required in this situation is missing",
        "I7": "A loop occurs fewer times than required",
        "I8": "A segment occurs fewer times than required",
        "I9": "A segment not used in this situation is present",
    },
    CodeList.ELEMENT_ERROR: {
        "1": "Required field missing",
        "2": "A field required with another field is missing",
        "3": "Too many fields in the segment",
        "4": "Field too short",
        "5": "Field too long",
        "6": "Invalid character in a field",
        "7": "Invalid code value",
        "8": "Invalid date",
        "9": "Invalid time",
        "10": "Two fields that cannot be used together are both present",
        "12": "A field repeats too many times",
        "13": "Too many parts in a composite field",
        "I6": "Code value not used by this implementation guide",
        "I9": "A field required in this situation is missing",
        "I10": "A field the guide marks 'not used' is present",
        "I11": "A field repeats fewer times than required",
        "I12": "Field does not match the required pattern (e.g. NPI or ZIP format)",
        "I13": "A field not used in this situation is present",
    },
    CodeList.TRANSACTION_STATUS: {
        "A": "Accepted",
        "E": "Accepted, but errors were noted",
        "P": "Partially accepted: some claim batches were rejected",
        "R": "Rejected",
        "M": "Rejected: message authentication failed",
        "W": "Rejected: failed validity tests",
        "X": "Rejected: content could not be analysed after decryption",
    },
    CodeList.TRANSACTION_ERROR: {
        "1": "This kind of transaction is not supported by the receiver",
        "2": "Transaction trailer (SE) missing",
        "3": "Control numbers in ST and SE do not match",
        "4": "The segment count in SE is wrong",
        "5": "One or more segments have errors",
        "6": "Missing or invalid transaction set identifier",
        "7": "Missing or invalid transaction control number",
        "18": "Transaction not inside a functional group",
        "19": "Invalid implementation guide reference (version)",
        "23": "Transaction control number used twice in the group",
        "I5": "One or more segments break the implementation guide",
        "I6": "Implementation guide version not supported",
    },
    CodeList.GROUP_ERROR: {
        "1": "This kind of functional group is not supported",
        "2": "Functional group version not supported",
        "3": "Functional group trailer (GE) missing",
        "4": "Group control numbers in GS and GE do not match",
        "5": "The transaction count in GE is wrong",
        "6": "Group control number is not valid",
        "19": "Group control number used twice in the interchange",
    },
    CodeList.CLAIM_CATEGORY: {
        "A0": "Forwarded: the claim was passed on to another entity",
        "A1": "Received: the claim arrived (this is not yet acceptance)",
        "A2": "Accepted into the payer's adjudication system",
        "A3": "Returned as unprocessable: rejected, not entered for adjudication",
        "A4": "Not found in the payer's system",
        "A5": "Split: the payer split the claim when accepting it",
        "A6": "Rejected for missing information",
        "A7": "Rejected for invalid information",
        "A8": "Rejected: related fields are in error",
        "E0": "No response possible: error in the submitted data",
        "E1": "No response possible: the payer's system is unavailable",
        "E2": "The information holder is not responding; resubmit later",
        "E3": "Correction required: related fields are in error",
        "E4": "Trading partner agreement requirement not met: correct the data",
        "F0": "Finalized: adjudication complete",
        "F1": "Finalized: paid",
        "F2": "Finalized: denied",
        "P0": "Pending: adjudication details",
        "P1": "Pending: in process",
        "P2": "Pending: payer review",
        "P3": "Pending: the payer requested information from the provider",
    },
    CodeList.CLAIM_STATUS: {
        "0": "Cannot provide further status electronically",
        "1": "See the remittance advice for details",
        "3": "Claim adjudicated and awaiting the payment cycle",
        "19": "Receipt of the claim acknowledged",
        "20": "Accepted for processing",
        "21": "Missing or invalid information",
        "33": "Subscriber and subscriber id not found",
        "35": "Claim not found",
        "97": "Patient eligibility not found with the payer",
        "164": "Entity's contract/member number",
        "187": "Date(s) of service",
        "254": "Principal diagnosis code",
        "255": "Diagnosis code",
        "400": "Claim is out of balance",
        "454": "Procedure code for services rendered",
        "562": "Entity's National Provider Identifier (NPI)",
    },
    CodeList.ENTITY: {
        "40": "receiver",
        "41": "submitter",
        "82": "rendering provider",
        "85": "billing provider",
        "IL": "subscriber",
        "PR": "payer",
        "QC": "patient",
    },
}

ACCEPTED_CATEGORIES: Final = frozenset({"A0", "A1", "A2", "A5"})


def code_text(code: str, kind: CodeList = CodeList.CLAIM_CATEGORY) -> str:
    """Plain-language meaning of ``code`` in code list ``kind``; says so when it is not listed."""
    text = _TEXT[kind].get(code)
    if text is None:
        return f"code {code} ({kind.value}; not in our list: see the X12 code list)"
    return text
