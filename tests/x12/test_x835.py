"""835 parser: agreement with pyx12 on public samples, hand-made edge cases, bad input."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path

import pytest

from app.errors import ParseError
from app.x12.remittance import claim_json, payment_dict, payment_json
from app.x12.x835 import check_balance, parse_835, to_json_dict
from tests.x12.make835 import Clm, Pay, Svc, build_835, bulk_claim
from tests.x12.oracle import pyx12_segments, pyx12_validate
from tests.x12.samples import LFH_835

SAMPLES = sorted(LFH_835.glob("*.835"))
D = Decimal


def _value(seg: object, ref: str) -> str:
    return seg.get_value(ref) or ""  # type: ignore[attr-defined]


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_claims_services_and_adjustments_agree_with_pyx12(path: Path) -> None:
    payments = list(parse_835(path.read_bytes(), path.name))
    claims = [c for p in payments for c in p.claims]
    theirs = pyx12_segments(path)

    assert [c.claim_id for c in claims] == [_value(s, "CLP01") for t, s in theirs if t == "CLP"]
    assert [c.paid for c in claims] == [D(_value(s, "CLP04")) for t, s in theirs if t == "CLP"]
    assert [c.status_code for c in claims] == [_value(s, "CLP02") for t, s in theirs if t == "CLP"]
    services = [s for c in claims for s in c.services]
    assert [(s.qualifier, s.code, s.charged, s.paid) for s in services] == [
        (_value(s, "SVC01-1"), _value(s, "SVC01-2"), D(_value(s, "SVC02")), D(_value(s, "SVC03")))
        for t, s in theirs
        if t == "SVC"
    ]
    ours_cas = [a.amount for c in claims for a in (*c.adjustments, *(x for s in c.services for x in s.adjustments))]
    theirs_cas = [
        D(_value(s, f"CAS{i:02d}"))
        for t, s in theirs
        if t == "CAS"
        for i in range(3, 19, 3)
        if _value(s, f"CAS{i:02d}")
    ]
    assert ours_cas == theirs_cas
    assert [p.total_paid for p in payments] == [D(_value(s, "BPR02")) for t, s in theirs if t == "BPR"]


def test_sample_values_read_as_the_payer_wrote_them() -> None:
    (medicare,) = parse_835((LFH_835 / "medicare-part-a.835").read_bytes(), "medicare-part-a.835")
    assert medicare.trace_number == "12345"
    assert medicare.payer == "INSURANCE COMPANY OF TIMBUCKTU"
    assert medicare.payee == "REGIONAL HOPE HOSPITAL"
    assert medicare.method == "ACH"
    assert medicare.date is not None and medicare.date.isoformat() == "2002-09-13"
    assert [(p.reason, p.reference, p.amount) for p in medicare.provider_adjustments] == [("CV", "CP", D("-1.27"))]
    assert check_balance(medicare) == []
    (managed,) = parse_835((LFH_835 / "managed-care.835").read_bytes(), "managed-care.835")
    # BPR16 20002316 is not a date: the DTM*405 production date is used instead.
    assert managed.date is not None and managed.date.isoformat() == "2002-03-14"
    first = managed.claims[0]
    assert (first.patient_responsibility, first.payer_claim_id) == (D("300.00"), "94060555410000")
    assert [(a.group, a.reason, a.amount) for a in first.adjustments] == [("CO", "A2", D("50.00"))]
    assert first.services[0].units == D(1)  # SVC05 absent
    secondary = next(parse_835((LFH_835 / "secondary-payment.835").read_bytes(), "secondary-payment.835"))
    line = secondary.claims[1].services[1]
    assert [(a.group, a.reason, a.amount) for a in line.adjustments] == [
        ("PR", "1", D("150.00")),
        ("PR", "2", D("70.00")),
        ("CO", "42", D("85.00")),
    ]


def write_valid(tmp_path: Path, payments: list[Pay], name: str = "edge.835") -> Path:
    """Write a generated 835 and prove pyx12 accepts it before our parser sees it."""
    path = tmp_path / name
    path.write_text(build_835(payments))
    ok, errors = pyx12_validate(path)
    assert ok, errors
    return path


REVERSAL = Clm(
    "CLM100",
    D("-200.00"),
    D("-160.00"),
    status="22",
    patient_resp=D("-40.00"),
    payer_claim_id="PCN100",
    services=(Svc("99214", D("-200.00"), D("-160.00"), adjustments=(("PR", "2", D("-40.00")),)),),
)
CORRECTED = Clm(
    "CLM100",
    D("200.00"),
    D("150.00"),
    status="1",
    patient_resp=D("40.00"),
    payer_claim_id="PCN101",
    services=(Svc("99214", D("200.00"), D("150.00"), adjustments=(("PR", "2", D("40.00")), ("CO", "45", D("10.00")))),),
)


def test_reversal_with_negative_amounts_and_its_correction(tmp_path: Path) -> None:
    path = write_valid(tmp_path, [Pay("TRC1", (REVERSAL, CORRECTED))])
    (payment,) = parse_835(path.read_bytes(), path.name)
    reversal, corrected = payment.claims
    assert (reversal.status_code, reversal.paid, reversal.charged) == ("22", D("-160.00"), D("-200.00"))
    assert reversal.services[0].adjustments[0].amount == D("-40.00")
    assert corrected.status_code == "1" and corrected.paid == D("150.00")
    assert payment.total_paid == D("-10.00")
    assert check_balance(payment) == []


def test_plb_takeback_and_interest_reduce_and_raise_the_payment(tmp_path: Path) -> None:
    plb = (("WO", "CLM009", D("120.00")), ("L6", "INT", D("-2.50")))
    path = write_valid(tmp_path, [Pay("TRC2", (bulk_claim(1, 2), bulk_claim(2, 1)), plb=plb)])
    (payment,) = parse_835(path.read_bytes(), path.name)
    assert [(p.reason, p.reference, p.amount) for p in payment.provider_adjustments] == list(plb)
    assert payment.total_paid == D("240.00") - D("120.00") + D("2.50")
    assert check_balance(payment) == []


def test_full_cas_and_plb_segments_and_spill_over(tmp_path: Path) -> None:
    reasons = tuple(("CO", str(r), D("1.00")) for r in range(1, 8))  # 7 > 6 per CAS: two CAS
    plb = tuple(("WO", f"R{i}", D("1.00")) for i in range(6))  # 6 pairs: one full PLB
    claim = Clm("C7", D("107.00"), D("100.00"), adjustments=reasons)
    path = write_valid(tmp_path, [Pay("TRC7", (claim,), plb=plb)])
    (payment,) = parse_835(path.read_bytes(), path.name)
    assert [a.reason for a in payment.claims[0].adjustments] == [str(r) for r in range(1, 8)]
    assert [p.reference for p in payment.provider_adjustments] == [f"R{i}" for i in range(6)]
    assert payment.total_paid == D("94.00")
    # 8 pairs need two PLB segments: valid X12, but pyx12 wrongly counts the second PLB as a
    # second FOOTER loop, so this one is checked by our parser alone.
    plb8 = tuple(("WO", f"R{i}", D("1.00")) for i in range(8))
    (payment,) = parse_835(build_835([Pay("TRC8", (claim,), plb=plb8)]), "plb8.835")
    assert len(payment.provider_adjustments) == 8 and check_balance(payment) == []


def test_two_transactions_give_two_payments_in_file_order(tmp_path: Path) -> None:
    path = write_valid(tmp_path, [Pay("FIRST", (bulk_claim(1, 1),)), Pay("SECOND", (bulk_claim(2, 3),))])
    payments = list(parse_835(path.read_bytes(), path.name))
    assert [p.trace_number for p in payments] == ["FIRST", "SECOND"]
    assert [len(p.claims[0].services) for p in payments] == [1, 3]


def test_partial_payment_with_deductible_and_units(tmp_path: Path) -> None:
    svc = Svc(
        "97110",
        D("300.00"),
        D("90.00"),
        units="3",
        modifiers=("GP",),
        adjustments=(("PR", "1", D("150.00")), ("CO", "45", D("60.00"))),
    )
    claim = Clm("P1", D("300.00"), D("90.00"), patient_resp=D("150.00"), services=(svc,))
    path = write_valid(tmp_path, [Pay("TRC3", (claim,))])
    (payment,) = parse_835(path.read_bytes(), path.name)
    line = payment.claims[0].services[0]
    assert (line.code, line.modifiers, line.units, line.paid) == ("97110", ("GP",), D("3"), D("90.00"))
    assert line.service_date is not None and line.service_date.isoformat() == "2024-01-02"
    assert payment.claims[0].patient_responsibility == D("150.00")


def test_json_has_exactly_the_agreed_shape(tmp_path: Path) -> None:
    path = write_valid(tmp_path, [Pay("TRC1", (REVERSAL,), plb=(("WO", "X1", D("5.00")),))])
    data = to_json_dict(parse_835(path.read_bytes(), path.name))
    json.dumps(data)  # plain JSON types only
    (payment,) = data["payments"]
    assert list(payment) == [
        "trace_number", "payer", "payee", "method", "date", "total_paid", "claims", "provider_adjustments",
    ]  # fmt: skip
    claim = payment["claims"][0]
    assert list(claim) == [
        "claim_id", "payer_claim_id", "status_code", "charged", "paid", "patient_responsibility",
        "adjustments", "services",
    ]  # fmt: skip
    assert list(claim["services"][0]) == ["code", "charged", "paid", "units", "adjustments"]
    assert claim["services"][0]["adjustments"] == [{"group": "PR", "reason": "2", "amount": "-40.00"}]
    assert payment["provider_adjustments"] == [{"reason": "WO", "reference": "X1", "amount": "5.00"}]
    assert (payment["date"], payment["total_paid"], claim["paid"]) == ("2024-01-05", "-165.00", "-160.00")


def test_unbalanced_payment_is_flagged_not_raised() -> None:
    text = build_835([Pay("TRC9", (bulk_claim(1, 1),), plb=(("WO", "A", D("10.00")),), total=D("75.00"))])
    (payment,) = parse_835(text, "short.835")
    (problem,) = check_balance(payment)
    assert "TRC9" in problem and "75.00" in problem and "70.00" in problem


def test_payments_stream_before_later_damage_is_found() -> None:
    text = build_835([Pay("OK1", (bulk_claim(1, 1),)), Pay("BAD", (bulk_claim(2, 1),))])
    text = text.replace("CLP*CLM0000002*1*100.00*80.00", "CLP*CLM0000002*1*100.00*8O.00")
    payments = parse_835(io.BytesIO(text.encode()), "late.835")
    assert next(payments).trace_number == "OK1"
    with pytest.raises(ParseError) as caught:
        next(payments)
    assert (caught.value.filename, caught.value.position) == ("late.835", "segment 30")
    assert caught.value.reason == "CLP04 '8O.00' is not an amount"


GOOD = build_835([Pay("T1", (bulk_claim(1, 1),))])


@pytest.mark.parametrize(
    ("broken", "position", "reason"),
    [
        (GOOD[: GOOD.index("SE*")], None, "truncated"),
        (GOOD.replace("SE*17*0001~\n", ""), "segment 19", "GE before SE"),
        (GOOD.replace("SE*17*", "SE*16*"), "segment 19", "SE01 says 16 segments but there are 17"),
        (
            GOOD.replace("SVC*HC:99213*100.00", "SVC*HC:99213*ABC"),
            "segment 15",
            "SVC02 'ABC' is not an amount",
        ),
        (GOOD.replace("CAS*CO*45*15.00", "CAS*CO*45*1,5"), "segment 17", "CAS03 '1,5' is not an amount"),
        (
            GOOD.replace("BPR*I*80.00", "BPR*I*"),
            "segment 4",
            "BPR segment holds a value that is not a number",
        ),
        (
            GOOD.replace("DTM*472*20240102", "DTM*472*20241302"),
            "segment 16",
            "DTM date '20241302' is not a valid",
        ),
        (GOOD.replace("TRN*1*T1*1512345678~\n", "").replace("SE*17", "SE*16"), "segment 18", "no TRN"),
        (GOOD.replace("ST*835*0001", "ST*837*0001"), "segment 3", "not a remittance (835)"),
        (
            GOOD.replace("CLP*CLM0000001*1*100.00*80.00*5.00*12*PCN000000001", "CLP*X"),
            "segment 13",
            "missing",
        ),
    ],
    ids=[
        "truncated",
        "no-SE",
        "SE-count",
        "SVC-amount",
        "CAS-amount",
        "BPR-empty",
        "DTM",
        "no-TRN",
        "not-835",
        "CLP-short",
    ],
)
def test_bad_input_names_file_segment_and_reason(broken: str, position: str | None, reason: str) -> None:
    with pytest.raises(ParseError) as caught:
        list(parse_835(broken.encode(), "bad.835"))
    assert caught.value.filename == "bad.835"
    if position:
        assert caught.value.position == position
    assert reason in caught.value.reason


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_remittance_json_put_together_from_the_lines_equals_json_dumps(path: Path) -> None:
    _json_assembled_equals_dumps(path.read_bytes(), path.name)


def test_remittance_json_put_together_survives_awkward_text() -> None:
    """Names holding quotes, the key text itself, and non-ASCII are escaped as json.dumps does."""
    claims = (
        Clm('CLM"1', Decimal("10.00"), Decimal("8.00"), payer_claim_id='"claims": []'),
        Clm("CLMÉ2", Decimal("-5"), Decimal("0"), status="22", services=()),
    )
    data = build_835([Pay("TRC1", claims, payer='ACME "claims": [] \\ PLAN')])
    _json_assembled_equals_dumps(data.encode(), "awkward.835")


def _json_assembled_equals_dumps(data: bytes, name: str) -> None:
    seen = 0
    for payment in parse_835(data, name, strict=False):
        doc = payment_dict(payment)
        claims = [claim_json(c, json.dumps(c["adjustments"]), json.dumps(c["services"])) for c in doc["claims"]]
        assert payment_json(doc, claims) == json.dumps(doc)
        seen += 1
    assert seen
