"""Coding audit and mapping import: every problem listed at once, in plain words."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest

from app.claims.coding import (
    ClaimLine,
    CodeMapping,
    InsurerCode,
    InsurerDictionary,
    ProblemCode,
    Severity,
    audit_claim,
    coding_audit_csv,
    import_mapping_csv,
)
from app.errors import ParseError, ValidationFailed

RESOURCES = Path(__file__).resolve().parents[2] / "resources" / "coding"
HEADER = "clinic_code,insurer_code,description,valid_from,valid_to,requires_authorisation\n"
DAY = date(2025, 3, 10)


def mapping(clinic_code: str, insurer_code: str, **kw: object) -> CodeMapping:
    values: dict[str, object] = {
        "clinic_id": "clinic-1",
        "insurer_id": "AXA",
        "clinic_code": clinic_code,
        "insurer_code": insurer_code,
        "description": f"{clinic_code} service",
        "valid_from": date(2024, 1, 1),
        "valid_to": None,
        "requires_authorisation": False,
    }
    values.update(kw)
    return CodeMapping(**values)  # type: ignore[arg-type]


DICTIONARY = InsurerDictionary(
    "AXA",
    (
        InsurerCode("PHY001", date(2020, 1, 1)),
        InsurerCode("PHY002", date(2020, 1, 1), max_units=2),
        InsurerCode("OLD01", date(2020, 1, 1), valid_to=date(2024, 12, 31)),
    ),
)
MAPPINGS = [
    mapping("PT-NEW", "PHY001"),
    mapping("PT-FU", "PHY002", requires_authorisation=True),
    mapping("PT-OLD", "PHY001", valid_to=date(2024, 12, 31)),
    mapping("PT-BAD", "ZZZ99"),
    mapping("PT-RETIRED", "OLD01"),
    mapping("PT-NEW", "PHY001", insurer_id="BUPA"),  # another insurer: ignored
]


def test_clean_claim_maps_every_line_and_does_not_block() -> None:
    audit = audit_claim(
        [ClaimLine(1, "PT-NEW"), ClaimLine(2, "pt-fu", units=2)],
        MAPPINGS,
        DICTIONARY,
        DAY,
        ["M54.5"],
        "AUTH-77",
    )
    assert audit.problems == ()
    assert not audit.blocking
    assert audit.insurer_codes == ("PHY001", "PHY002")


def test_three_different_problems_give_three_entries() -> None:
    audit = audit_claim(
        [ClaimLine(1, "XRAY-9"), ClaimLine(2, "PT-FU", units=3)], MAPPINGS, DICTIONARY, DAY, ["M54.5"], None
    )
    codes = sorted(p.code for p in audit.problems)
    assert codes == sorted([ProblemCode.UNMAPPED, ProblemCode.UNITS_EXCEED_MAX, ProblemCode.AUTH_REQUIRED_MISSING])
    assert len(audit.problems) == 3
    assert audit.blocking


def test_every_kind_of_problem_is_reported_together() -> None:
    lines = [
        ClaimLine(1, "XRAY-9"),
        ClaimLine(2, "PT-OLD"),
        ClaimLine(3, "PT-BAD"),
        ClaimLine(4, "PT-RETIRED"),
        ClaimLine(5, "PT-NEW", units=0),
        ClaimLine(6, "PT-NEW"),
    ]
    audit = audit_claim(lines, MAPPINGS, DICTIONARY, DAY, ["M54.5", "54.5X"], "A1")
    by_code = {p.code: p for p in audit.problems}
    assert set(by_code) == {
        ProblemCode.UNMAPPED,
        ProblemCode.EXPIRED_MAPPING,
        ProblemCode.INVALID_INSURER_CODE,
        ProblemCode.INSURER_CODE_NOT_VALID_ON_DATE,
        ProblemCode.INVALID_UNITS,
        ProblemCode.DUPLICATE_LINE,
        ProblemCode.INVALID_ICD10_FORMAT,
    }
    assert by_code[ProblemCode.DUPLICATE_LINE].severity is Severity.WARNING
    assert by_code[ProblemCode.INVALID_ICD10_FORMAT].line_no is None
    assert "54.5X" in by_code[ProblemCode.INVALID_ICD10_FORMAT].message
    assert "2024-12-31" in by_code[ProblemCode.EXPIRED_MAPPING].message


def test_unmapped_and_invalid_codes_block_with_a_message_naming_the_code() -> None:
    audit = audit_claim([ClaimLine(1, "XRAY-9"), ClaimLine(2, "PT-BAD")], MAPPINGS, DICTIONARY, DAY, ["M54.5"], None)
    assert audit.blocking
    unmapped, invalid = audit.problems
    assert unmapped.code is ProblemCode.UNMAPPED and unmapped.severity is Severity.ERROR
    assert "XRAY-9" in unmapped.message
    assert invalid.code is ProblemCode.INVALID_INSURER_CODE
    assert "PT-BAD" in invalid.message and "ZZZ99" in invalid.message


def test_missing_diagnosis_blocks() -> None:
    audit = audit_claim([ClaimLine(1, "PT-NEW")], MAPPINGS, DICTIONARY, DAY, ["  "], None)
    assert [p.code for p in audit.problems] == [ProblemCode.MISSING_DIAGNOSIS]
    assert audit.blocking


def test_only_warnings_do_not_block() -> None:
    audit = audit_claim([ClaimLine(1, "PT-NEW"), ClaimLine(2, "PT-NEW")], MAPPINGS, DICTIONARY, DAY, ["S83.511A"], None)
    assert [p.code for p in audit.problems] == [ProblemCode.DUPLICATE_LINE]
    assert not audit.blocking


def test_overlapping_mappings_for_one_date_are_ambiguous() -> None:
    maps = [mapping("PT-NEW", "PHY001"), mapping("PT-NEW", "PHY002", valid_from=date(2025, 1, 1))]
    audit = audit_claim([ClaimLine(1, "PT-NEW")], maps, DICTIONARY, DAY, ["M54.5"], None)
    assert [p.code for p in audit.problems] == [ProblemCode.AMBIGUOUS_MAPPING]


def test_coding_audit_csv_has_one_row_per_problem() -> None:
    audit = audit_claim([ClaimLine(1, "XRAY-9"), ClaimLine(2, "PT-FU", units=3)], MAPPINGS, DICTIONARY, DAY, [], None)
    rows = list(csv.DictReader(io.StringIO(coding_audit_csv(audit).decode("utf-8"))))
    assert len(rows) == len(audit.problems) == 4
    assert rows[0]["line"] == "1" and rows[0]["problem"] == "UNMAPPED" and rows[0]["severity"] == "error"
    assert {r["insurer_code"] for r in rows if r["line"] == "2"} == {"PHY002"}
    assert rows[-1]["line"] == "" and rows[-1]["problem"] == "MISSING_DIAGNOSIS"


# --------------------------------------------------------------------------- CSV import


def test_import_reads_rows_and_both_date_formats() -> None:
    data = (
        HEADER + "pt-new,phy001,Initial,2024-01-01,,no\nPT-FU,PHY002,Follow-up,01/02/2024,31/12/2025,Yes\n"
    ).encode()
    result = import_mapping_csv(data, "map.csv", "clinic-1", "AXA")
    assert result == [
        mapping("PT-NEW", "PHY001", description="Initial"),
        mapping(
            "PT-FU",
            "PHY002",
            description="Follow-up",
            valid_from=date(2024, 2, 1),
            valid_to=date(2025, 12, 31),
            requires_authorisation=True,
        ),
    ]


def test_import_reports_every_row_problem_naming_row_and_column() -> None:
    data = (
        HEADER
        + "PT-NEW,PHY001,ok,2024-01-01,,no\n"  # row 2
        + ",PHY002,no clinic code,2024-01-01,,no\n"  # row 3
        + "PT-FU,PHY002,bad date,2024-13-01,,no\n"  # row 4
        + "PT-X,PHY003,bad flag,2024-01-01,,maybe\n"  # row 5
        + "PT-Y,PHY004,ends before start,2024-06-01,2024-01-01,no\n"  # row 6
        + "PT-NEW,PHY009,overlaps row 2,2024-06-01,,no\n"  # row 7
    ).encode()
    with pytest.raises(ValidationFailed) as info:
        import_mapping_csv(data, "map.csv", "clinic-1", "AXA")
    problems = info.value.problems
    assert len(problems) == 5
    assert "row 3, column clinic_code" in problems[0]
    assert "row 4, column valid_from" in problems[1]
    assert "row 5, column requires_authorisation" in problems[2]
    assert "row 6, column valid_to" in problems[3]
    assert "row 7, column clinic_code" in problems[4] and "row 2" in problems[4]
    assert "map.csv" in str(info.value)


def test_same_code_with_consecutive_periods_is_not_a_duplicate() -> None:
    data = (HEADER + "PT-NEW,PHY001,a,2024-01-01,2024-12-31,no\nPT-NEW,PHY002,b,2025-01-01,,no\n").encode()
    assert len(import_mapping_csv(data, "map.csv", "clinic-1", "AXA")) == 2


def test_missing_columns_and_bad_encoding_are_parse_errors() -> None:
    with pytest.raises(ParseError, match="valid_to, requires_authorisation"):
        import_mapping_csv(b"clinic_code,insurer_code,description,valid_from\n", "map.csv", "c", "i")
    with pytest.raises(ParseError, match="not UTF-8"):
        import_mapping_csv(HEADER.encode() + b"\xff\xfe,x\n", "map.csv", "c", "i")


@pytest.mark.parametrize("name", ["demo-clinic__uk-insurer.csv", "demo-clinic__us-payer.csv"])
def test_sample_mapping_files_import_cleanly(name: str) -> None:
    result = import_mapping_csv((RESOURCES / name).read_bytes(), name, "demo-clinic", "insurer")
    assert len(result) >= 4
