"""999 and 277CA acknowledgements from the imsweb samples, plus the plain-language codes."""

from __future__ import annotations

import pytest

from app.errors import ParseError
from app.x12.acks import parse_277ca, parse_999
from app.x12.codes import CodeList, code_text
from tests.x12.samples import IMSWEB_277, IMSWEB_837, LFH_835


def test_999_accepted() -> None:
    (ack,) = parse_999((IMSWEB_837 / "x12_999_accepted.txt").read_bytes(), "x12_999_accepted.txt")
    assert ack.accepted and ack.status == "A" and ack.status_text == "Accepted"
    assert (ack.functional_id, ack.group_control_number) == ("HC", "17456")
    assert (ack.transactions_included, ack.transactions_received, ack.transactions_accepted) == (1, 1, 1)
    (tx,) = ack.transactions
    assert tx.accepted and (tx.transaction_set, tx.control_number) == ("837", "0001")
    assert tx.segment_errors == ()
    # The sample's IEA02 does not match its ISA13: kept as a note, not a refusal.
    assert ack.envelope_problems == ("segment 10: IEA02 '000000001' does not match ISA13 '000000286'",)


def test_999_rejected_explains_the_segment_error() -> None:
    (ack,) = parse_999((IMSWEB_837 / "x12_999_rejected.txt").read_bytes(), "x12_999_rejected.txt")
    assert not ack.accepted and ack.status == "R" and ack.transactions_accepted == 0
    (tx,) = ack.transactions
    assert not tx.accepted and tx.control_number == "0028"
    assert tx.error_codes == ("5",) and tx.error_texts == ("One or more segments have errors",)
    (error,) = tx.segment_errors
    assert (error.segment_id, error.position, error.code) == ("NM", 17, "1")
    assert error.text.startswith("Unrecognized segment")


def test_999_with_element_errors() -> None:
    text = (
        "ISA*00*          *00*          *ZZ*CLEARHOUSE     *ZZ*CLINICSUB01    *240105*1200*^*00501*"
        "000000077*0*P*:~"
        "GS*FA*CLEARHOUSE*CLINICSUB01*20240105*1200*77*X*005010X231A1~ST*999*0001*005010X231A1~"
        "AK1*HC*1207*005010X222A1~AK2*837*0001*005010X222A1~IK3*NM1*9*2010AA*8~IK4*9*67*I12*12345~"
        "IK4*3*1035*1~IK5*R*I5~AK9*R*1*1*0~SE*9*0001~GE*1*77~IEA*1*000000077~"
    )
    (ack,) = parse_999(text, "ack.999")
    assert ack.envelope_problems == ()
    (error,) = ack.transactions[0].segment_errors
    assert (error.segment_id, error.loop, error.code) == ("NM1", "2010AA", "8")
    assert [(e.position, e.element_ref, e.code, e.bad_value) for e in error.elements] == [
        ("9", "67", "I12", "12345"),
        ("3", "1035", "1", ""),
    ]
    assert error.elements[0].text.startswith("Field does not match the required pattern")
    assert error.elements[1].text == "Required field missing"


def test_277ca_accepted_and_rejected() -> None:
    (accepted,) = parse_277ca((IMSWEB_277 / "x12_277CA_accepted.txt").read_bytes(), "accepted.277")
    assert accepted.accepted and (accepted.category, accepted.status_code) == ("A2", "20")
    assert (accepted.claim_id, accepted.payer_claim_id) == ("5781", "1107000000014420")
    assert "Accepted for processing" in accepted.statuses[0].text
    (rejected,) = parse_277ca((IMSWEB_277 / "x12_277CA_rejected.txt").read_bytes(), "rejected.277")
    assert not rejected.accepted
    assert (rejected.claim_id, rejected.category, rejected.status_code) == ("3920394930203", "A7", "562")
    assert rejected.statuses[0].entity == "85"
    assert rejected.statuses[0].text == (
        "Rejected for invalid information — Entity's National Provider Identifier (NPI) (billing provider)"
    )
    assert str(rejected.total_charge) == "199.14"
    assert rejected.status_date is not None and rejected.status_date.isoformat() == "2011-03-11"


def test_277_with_many_claims_keeps_file_order() -> None:
    claims = parse_277ca((IMSWEB_277 / "x12_277_x212.txt").read_bytes(), "x212.277")
    assert [c.claim_id for c in claims][:3] == ["0000001", "0000002", "0000003"]
    assert all(c.category == "A1" and c.accepted for c in claims)


def test_wrong_file_kinds_are_refused() -> None:
    with pytest.raises(ParseError, match="not a 999"):
        parse_999((IMSWEB_277 / "x12_277CA_accepted.txt").read_bytes(), "x.999")
    with pytest.raises(ParseError, match="not a 277"):
        parse_277ca((LFH_835 / "managed-care.835").read_bytes(), "x.277")


@pytest.mark.parametrize(
    ("code", "kind", "text"),
    [
        ("A1", CodeList.CLAIM_CATEGORY, "Received"),
        ("A3", CodeList.CLAIM_CATEGORY, "unprocessable"),
        ("A6", CodeList.CLAIM_CATEGORY, "missing information"),
        ("A7", CodeList.CLAIM_CATEGORY, "invalid information"),
        ("A8", CodeList.CLAIM_CATEGORY, "related fields"),
        ("8", CodeList.SEGMENT_ERROR, "data element errors"),
        ("3", CodeList.SEGMENT_ERROR, "Required segment missing"),
        ("7", CodeList.ELEMENT_ERROR, "Invalid code value"),
        ("8", CodeList.ELEMENT_ERROR, "Invalid date"),
        ("I5", CodeList.TRANSACTION_ERROR, "implementation guide"),
        ("5", CodeList.GROUP_ERROR, "transaction count"),
    ],
)
def test_code_text_in_plain_language(code: str, kind: CodeList, text: str) -> None:
    assert text in code_text(code, kind)


def test_unknown_codes_say_so() -> None:
    assert "not in our list" in code_text("Z9")
