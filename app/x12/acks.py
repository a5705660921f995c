"""Acknowledgements of our 837 batches: the 999 (file syntax) and the 277CA (claim by claim).

Acknowledgements are read leniently about envelope counts and control numbers (some
clearinghouses get them wrong): such problems are kept in ``envelope_problems`` instead of
refusing the acknowledgement. Syntax damage still raises :class:`app.errors.ParseError`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import BinaryIO

from app.errors import ParseError
from app.x12.codes import ACCEPTED_CATEGORIES, CodeList, code_text
from app.x12.segments import SegmentReader

__all__ = [
    "Ack999",
    "ClaimStatus277",
    "ElementError",
    "SegmentError",
    "StatusCode",
    "TransactionAck",
    "parse_277ca",
    "parse_999",
]


@dataclass(frozen=True, slots=True)
class ElementError:
    """IK4: which field of the segment is wrong and why."""

    position: str  # IK401, e.g. "2" or "1:2" for a component
    element_ref: str  # IK402, the data element number
    code: str  # IK403
    text: str
    bad_value: str  # IK404, a copy of the bad data when sent


@dataclass(frozen=True, slots=True)
class SegmentError:
    """IK3: a segment of our file with a problem."""

    segment_id: str
    position: int  # segment number within our transaction set (ST = 1)
    loop: str
    code: str
    text: str
    elements: tuple[ElementError, ...]


@dataclass(frozen=True, slots=True)
class TransactionAck:
    """AK2..IK5: the verdict on one of our transaction sets."""

    transaction_set: str  # ST01 we sent, "837"
    control_number: str  # ST02 we sent
    status: str  # IK501: A, E, R, ...
    status_text: str
    error_codes: tuple[str, ...]  # IK502..IK506
    error_texts: tuple[str, ...]
    segment_errors: tuple[SegmentError, ...]

    @property
    def accepted(self) -> bool:
        return self.status in ("A", "E")


@dataclass(frozen=True, slots=True)
class Ack999:
    """One 999: the verdict on one of our functional groups (GS06 = ``group_control_number``)."""

    functional_id: str  # AK101, "HC" for claims
    group_control_number: str  # AK102
    status: str  # AK901: A, E, P, R, ...
    status_text: str
    transactions_included: int
    transactions_received: int
    transactions_accepted: int
    group_error_codes: tuple[str, ...]
    transactions: tuple[TransactionAck, ...]
    envelope_problems: tuple[str, ...] = ()

    @property
    def accepted(self) -> bool:
        """True when the whole group was accepted (possibly with noted errors)."""
        return self.status in ("A", "E")


@dataclass(frozen=True, slots=True)
class StatusCode:
    """One STC composite: category (A1, A7...), status (20, 562...) and entity (85...)."""

    category: str
    status: str
    entity: str
    text: str


@dataclass(frozen=True, slots=True)
class ClaimStatus277:
    """The payer's or clearinghouse's word on one of our claims."""

    claim_id: str  # our CLM01, from TRN02
    payer_claim_id: str  # REF*1K (payer) or REF*D9 (clearinghouse) when given
    statuses: tuple[StatusCode, ...]
    status_date: date | None
    total_charge: Decimal | None

    @property
    def accepted(self) -> bool:
        """No rejecting category (only A0, A1, A2 or A5)."""
        return bool(self.statuses) and all(s.category in ACCEPTED_CATEGORIES for s in self.statuses)

    @property
    def category(self) -> str:
        return self.statuses[0].category if self.statuses else ""

    @property
    def status_code(self) -> str:
        return self.statuses[0].status if self.statuses else ""


def _get(fields: list[str], index: int) -> str:
    return fields[index] if len(fields) > index else ""


def _codes(fields: list[str], start: int, stop: int) -> tuple[str, ...]:
    return tuple(c for c in fields[start:stop] if c)


def _count(text: str, filename: str, number: int) -> int:
    if not text.isdigit():
        raise ParseError(filename, f"segment {number}", f"AK9 count {text!r} is not a number")
    return int(text)


def parse_999(data: bytes | str | BinaryIO, filename: str) -> list[Ack999]:
    """Every AK1..AK9 group acknowledged in a 999 file."""
    reader = SegmentReader(data, filename, strict=False)
    acks: list[Ack999] = []
    ak1: list[str] = []
    transactions: list[TransactionAck] = []
    ak2: list[str] = []
    segment_errors: list[SegmentError] = []
    elements: list[ElementError] = []
    ik3: list[str] | None = None

    def close_segment() -> None:
        nonlocal ik3
        if ik3 is not None:
            code = _get(ik3, 4)
            position = _get(ik3, 2)
            segment_errors.append(
                SegmentError(
                    _get(ik3, 1),
                    int(position) if position.isdigit() else 0,
                    _get(ik3, 3),
                    code,
                    code_text(code, CodeList.SEGMENT_ERROR) if code else "Segment has errors",
                    tuple(elements),
                )
            )
            elements.clear()
            ik3 = None

    for number, f in reader:
        tag = f[0]
        if tag == "ST" and _get(f, 1) != "999":
            raise ParseError(filename, f"segment {number}", f"this is not a 999 acknowledgement but a {f[1]!r}")
        if tag == "AK1":
            ak1, transactions = f, []
        elif tag == "AK2":
            ak2, segment_errors = f, []
        elif tag == "IK3":
            close_segment()
            ik3 = f
        elif tag == "IK4":
            code = _get(f, 3)
            elements.append(
                ElementError(_get(f, 1), _get(f, 2), code, code_text(code, CodeList.ELEMENT_ERROR), _get(f, 4))
            )
        elif tag == "IK5":
            close_segment()
            codes = _codes(f, 2, 7)
            transactions.append(
                TransactionAck(
                    _get(ak2, 1),
                    _get(ak2, 2),
                    f[1],
                    code_text(f[1], CodeList.TRANSACTION_STATUS),
                    codes,
                    tuple(code_text(c, CodeList.TRANSACTION_ERROR) for c in codes),
                    tuple(segment_errors),
                )
            )
        elif tag == "AK9":
            acks.append(
                Ack999(
                    _get(ak1, 1),
                    _get(ak1, 2),
                    f[1],
                    code_text(f[1], CodeList.TRANSACTION_STATUS),
                    _count(_get(f, 2), filename, number),
                    _count(_get(f, 3), filename, number),
                    _count(_get(f, 4), filename, number),
                    _codes(f, 5, 10),
                    tuple(transactions),
                )
            )
    if not acks:
        raise ParseError(filename, "end of file", "the file holds no 999 acknowledgement (no AK9 segment)")
    problems = tuple(reader.problems)  # complete only once the IEA has been read
    return [replace(ack, envelope_problems=problems) for ack in acks]


def _status(composite: str, sub: str) -> StatusCode:
    parts = composite.split(sub)
    category, status, entity = [*parts, "", "", ""][:3]
    text = code_text(category, CodeList.CLAIM_CATEGORY)
    if status:
        text += f" — {code_text(status, CodeList.CLAIM_STATUS)}"
    if entity:
        text += f" ({code_text(entity, CodeList.ENTITY)})"
    return StatusCode(category, status, entity, text)


class _Open277:
    """The claim being read (mutable); frozen into a ClaimStatus277 at the next HL or SE."""

    __slots__ = ("charge", "in_line", "ref", "statuses", "trn", "when")

    def __init__(self) -> None:
        self.trn = ""
        self.ref = ""
        self.statuses: list[StatusCode] = []
        self.when: date | None = None
        self.charge: Decimal | None = None
        self.in_line = False

    def frozen(self) -> ClaimStatus277:
        return ClaimStatus277(self.trn, self.ref, tuple(self.statuses), self.when, self.charge)


def parse_277ca(data: bytes | str | BinaryIO, filename: str) -> list[ClaimStatus277]:
    """Claim-level statuses (patient/subscriber HL levels) of a 277CA, in file order."""
    reader = SegmentReader(data, filename, strict=False)
    claims: list[ClaimStatus277] = []
    current: _Open277 | None = None
    sub = ":"
    for number, f in reader:
        tag = f[0]
        if tag in ("HL", "SE") and current is not None:
            if current.trn:
                claims.append(current.frozen())
            current = None
        if tag == "ST":
            if _get(f, 1) != "277":
                raise ParseError(filename, f"segment {number}", f"this is not a 277 claim status but a {f[1]!r}")
            assert reader.delimiters is not None
            sub = reader.delimiters.sub_element
        elif tag == "HL" and _get(f, 3) in ("PT", "22", "23"):
            current = _Open277()
        elif current is None:
            continue
        elif tag == "TRN":
            current.trn = _get(f, 2)
        elif tag == "SVC":
            current.in_line = True  # later STCs are about one service line, not the claim
        elif tag == "STC" and not current.in_line:
            current.statuses += [_status(c, sub) for c in (_get(f, 1), _get(f, 10), _get(f, 11)) if c]
            try:
                when = _get(f, 2)
                current.when = date(int(when[:4]), int(when[4:6]), int(when[6:8])) if when else None
                current.charge = Decimal(f[4]) if _get(f, 4) else None
            except (ValueError, InvalidOperation):
                raise ParseError(filename, f"segment {number}", "STC has an invalid date or amount") from None
        elif tag == "REF" and _get(f, 1) in ("1K", "D9") and not (current.ref and f[1] == "D9"):
            current.ref = _get(f, 2)
    return claims
