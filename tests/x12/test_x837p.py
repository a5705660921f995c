"""837P writer: every file passes pyx12, plus explicit envelope and HL checks with our reader."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.errors import ValidationFailed
from app.x12.professional import ProfessionalClaim
from app.x12.segments import iter_segments
from app.x12.x837p import write_837p
from tests.x12.claims import DR_WHO, LILY, OTHER_CLINIC, RECEIVER, SENDER, claim, line, usd
from tests.x12.oracle import pyx12_validate

WHEN = datetime(2024, 1, 5, 14, 30, tzinfo=UTC)

BATCHES: dict[str, list[ProfessionalClaim]] = {
    "single": [claim()],
    "many": [claim(f"CLM{i:04d}") for i in range(40)],
    "patient-not-subscriber": [claim("DEP1", patient=LILY)],
    "prior-auth-and-rendering": [claim("AUTH1", prior_auth="PA998877", rendering=DR_WHO)],
    "several-lines": [
        claim(
            "LINES1",
            lines=(
                line("99214", "180.00", pointers=(1, 2)),
                line("J1100", "12.50", pointers=(2,), units=4, modifiers=("JZ",)),
                line("97110", "60.00", pointers=(1,), units=2, modifiers=("GP", "59")),
            ),
        )
    ],
    "mixed": [
        claim("M1"),
        claim("M2", patient=LILY, prior_auth="PA1"),
        claim("M3", provider=OTHER_CLINIC, rendering=DR_WHO),
        claim("M4", provider=OTHER_CLINIC, patient=LILY),
    ],
}


def segments(text: str) -> list[list[str]]:
    return [fields for _, fields in iter_segments(text, "out.837")]


@pytest.mark.parametrize("name", sorted(BATCHES))
def test_generated_837p_passes_pyx12(name: str, tmp_path: Path) -> None:
    path = tmp_path / f"{name}.837"
    path.write_text(write_837p(BATCHES[name], SENDER, RECEIVER, 1207, WHEN))
    ok, errors = pyx12_validate(path)
    assert ok, errors


@pytest.mark.parametrize("name", sorted(BATCHES))
def test_envelope_counts_control_numbers_and_hl_links(name: str) -> None:
    batch = BATCHES[name]
    segs = segments(write_837p(batch, SENDER, RECEIVER, 1207, WHEN))  # our reader checks SE/GE/IEA too
    by_tag = {s[0]: s for s in segs}
    assert by_tag["ISA"][13] == "000001207" and by_tag["IEA"][2] == "000001207"
    assert by_tag["GS"][6] == "1207" and by_tag["GE"][1:] == ["1", "1207"]
    assert by_tag["BHT"][3] == "1207" and by_tag["GS"][8] == "005010X222A1"
    st = next(i for i, s in enumerate(segs) if s[0] == "ST")
    assert int(by_tag["SE"][1]) == len(segs) - st - 2  # ST..SE inclusive
    levels: dict[str, str] = {}
    for index, seg in enumerate(segs):
        if seg[0] != "HL":
            continue
        number, parent, level, child = seg[1:5]
        assert number == str(len(levels) + 1)
        assert {"20": "", "22": "20", "23": "22"}[level] == (levels[parent] if parent else "")
        levels[number] = level
        nxt = next((s for s in segs[index + 1 :] if s[0] == "HL"), None)
        assert child == ("1" if nxt is not None and nxt[2] == number else "0")
    assert list(levels.values()).count("22") == len(batch)
    assert list(levels.values()).count("23") == sum(1 for c in batch if c.patient is not None)
    assert [s[1] for s in segs if s[0] == "CLM"] == [c.claim_id for c in batch]
    assert [s[2] for s in segs if s[0] == "REF" and s[1] == "G1"] == [
        c.prior_authorization for c in batch if c.prior_authorization
    ]
    assert sum(1 for s in segs if s[0] == "SV1") == sum(len(c.lines) for c in batch)


def test_claim_and_line_values_are_written() -> None:
    (only,) = BATCHES["several-lines"]
    segs = segments(write_837p([only], SENDER, RECEIVER, 5, WHEN))
    clm = next(s for s in segs if s[0] == "CLM")
    assert clm[1:3] == ["LINES1", "252.50"] and clm[5] == "11:B:1"
    assert next(s for s in segs if s[0] == "HI")[1:] == ["ABK:J029", "ABF:R509"]
    sv1 = [s for s in segs if s[0] == "SV1"]
    assert sv1[1][1:5] == ["HC:J1100:JZ", "12.50", "UN", "4"] and sv1[1][7] == "2"
    assert sv1[0][7] == "1:2"
    assert [s[3] for s in segs if s[0] == "DTP" and s[1] == "472"] == ["20240102"] * 3


def test_every_problem_of_every_claim_is_reported_at_once() -> None:
    bad = replace(
        claim("BAD1"),
        total_charge=usd("1.00"),
        place_of_service="X",
        diagnosis_codes=("not-icd",),
        billing_provider=replace(
            OTHER_CLINIC, npi="1234567890", address=replace(OTHER_CLINIC.address, postal_code="627")
        ),
    )
    worse = claim("BAD*2", lines=(line("992", pointers=(5,), units=0),))
    with pytest.raises(ValidationFailed) as caught:
        write_837p([bad, worse, claim("FINE")], SENDER, RECEIVER, 1, WHEN)
    problems = caught.value.problems
    assert any("BAD1: billing provider NPI '1234567890' is not a valid NPI" in p for p in problems)
    assert any("BAD1: the total charge" in p for p in problems)
    assert any("BAD1: place of service" in p for p in problems)
    assert any("BAD1: the billing provider ZIP code must have 9 digits" in p for p in problems)
    assert any("'NOT-ICD' is not an ICD-10 code" in p for p in problems)
    assert any("BAD*2: the claim id contains a character X12 reserves" in p for p in problems)
    assert any("BAD*2 line 1: units must be at least 1" in p for p in problems)
    assert any("BAD*2 line 1: diagnosis pointers" in p for p in problems)
    assert any("BAD*2 line 1: '992' is not a CPT/HCPCS code" in p for p in problems)
    assert not any("FINE" in p for p in problems)


def test_empty_batch_bad_control_number_and_naive_time_are_refused() -> None:
    with pytest.raises(ValidationFailed, match="no claims"):
        write_837p([], SENDER, RECEIVER, 1, WHEN)
    with pytest.raises(ValidationFailed, match="control number"):
        write_837p([claim()], SENDER, RECEIVER, 0, WHEN)
    with pytest.raises(ValueError, match="naive"):
        write_837p([claim()], SENDER, RECEIVER, 1, datetime(2024, 1, 5))


def test_a2_version_id_can_be_asked_for() -> None:
    segs = segments(write_837p([claim()], SENDER, RECEIVER, 9, WHEN, version="005010X222A2", production=False))
    assert next(s for s in segs if s[0] == "GS")[8] == "005010X222A2"
    assert next(s for s in segs if s[0] == "ST")[3] == "005010X222A2"
    assert next(s for s in segs if s[0] == "ISA")[15] == "T"
