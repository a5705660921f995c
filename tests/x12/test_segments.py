"""The tokenizer against the imsweb samples (read by pyx12 too) and hand-broken envelopes."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from app.errors import ParseError
from app.x12.segments import SegmentReader, iter_segments
from tests.x12.make835 import Pay, build_835, bulk_claim
from tests.x12.oracle import pyx12_segments
from tests.x12.samples import IMSWEB_837

# Broken at the syntax level: refused in strict and lenient mode alike.
SYNTAX_BROKEN = {
    "x12_bad_first_line.txt": ("segment 1", "ISA02 is 9 characters wide, but must be 10"),
    "x12_no_isa_line.txt": ("segment 1", "does not start with an ISA interchange header"),
    "x12_bad_segment_identifier.txt": ("segment 6", "has no segment identifier"),
}
# Every other imsweb 837 file keeps SE01=25 whatever its real length (pyx12 says so too):
# strict mode refuses it at its first SE, lenient mode reads it and lists the problem.
STRUCTURALLY_READABLE = [
    *sorted(p.name for p in IMSWEB_837.glob("x12_*.txt") if p.name not in SYNTAX_BROKEN and "999" not in p.name),
    "x223-test.txt",
]


def read(text: str | bytes, strict: bool = True) -> list[tuple[int, list[str]]]:
    return list(iter_segments(text, "test.x12", strict=strict))


@pytest.mark.parametrize("name", sorted(SYNTAX_BROKEN))
def test_syntax_broken_samples_are_refused_in_both_modes(name: str) -> None:
    position, reason = SYNTAX_BROKEN[name]
    for strict in (True, False):
        with pytest.raises(ParseError) as caught:
            read((IMSWEB_837 / name).read_bytes(), strict=strict)
        assert caught.value.position == position
        assert reason in caught.value.reason


@pytest.mark.parametrize("name", STRUCTURALLY_READABLE)
def test_sample_segment_counts_are_refused_strictly_and_read_leniently(name: str) -> None:
    path = IMSWEB_837 / name
    with pytest.raises(ParseError, match=r"SE01 says \d+ segments but there are \d+"):
        read(path.read_bytes())
    reader = SegmentReader(path.read_bytes(), name, strict=False)
    ours = [fields[0] for _, fields in reader]
    theirs = [seg_id for seg_id, _ in pyx12_segments(path)]
    assert ours == theirs
    assert any("SE01 says" in p for p in reader.problems)


def test_sample_with_other_separators_reads_like_the_standard_one() -> None:
    standard = SegmentReader((IMSWEB_837 / "x12_valid.txt").read_bytes(), "a", strict=False)
    other = SegmentReader((IMSWEB_837 / "x12_valid_different_separators.txt").read_bytes(), "b", strict=False)
    ours = [[e.replace("^", ":") for e in f] for _, f in other]
    assert ours[1:] == [f for _, f in standard][1:]  # ISA16 itself differs, nothing else
    assert other.delimiters is not None
    delims = other.delimiters
    assert (delims.element, delims.sub_element, delims.segment) == ("~", "^", "_")


def good_835(terminator: str = "~\n") -> str:
    return build_835([Pay("T1", (bulk_claim(1, 2),)), Pay("T2", (bulk_claim(2, 1),))], terminator=terminator)


@pytest.mark.parametrize("terminator", ["~", "~\n", "~\r\n", "\n"])
def test_newlines_after_terminators_do_not_matter(terminator: str) -> None:
    segments = read(good_835(terminator))
    assert [n for n, _ in segments] == list(range(1, len(segments) + 1))
    assert [f for _, f in segments] == [f for _, f in read(good_835("~"))]


def test_chunk_boundaries_and_file_objects_give_the_same_segments() -> None:
    text = good_835().replace("DOE*JANE", "DOÉ*JANÉ")  # multi-byte characters across chunks
    expected = read(text)
    for size in (7, 64, 107, 1000):
        assert list(SegmentReader(text.encode(), "x", chunk_size=size)) == expected
        assert list(SegmentReader(io.BytesIO(text.encode()), "x", chunk_size=size)) == expected
        assert list(SegmentReader(text, "x", chunk_size=size)) == expected


def test_several_interchanges_groups_and_transactions_in_one_file() -> None:
    first = good_835()
    second = first.replace("000000001", "000000002").replace("*1*X*005010X221A1", "*2*X*005010X221A1")
    second = second.replace("GE*2*1~", "GE*2*2~")
    tags = [f[0] for _, f in read(first + second)]
    assert tags.count("ISA") == 2 and tags.count("GS") == 2 and tags.count("ST") == 4


@pytest.mark.parametrize(
    ("change", "position", "reason"),
    [
        (("SE*21*0001", "SE*20*0001"), "segment 23", "SE01 says 20 segments but there are 21"),
        (("SE*21*0001", "SE*21*0009"), "segment 23", "SE02 '0009' does not match ST02 '0001'"),
        (("GE*2*1", "GE*3*1"), "segment 41", "GE01 says 3 transactions but there are 2"),
        (("GE*2*1", "GE*2*7"), "segment 41", "GE02 '7' does not match GS06 '1'"),
        (("IEA*1*000000001", "IEA*2*000000001"), "segment 42", "IEA01 says 2 groups but there are 1"),
        (("IEA*1*000000001", "IEA*1*000000005"), "segment 42", "IEA02 '000000005' does not match ISA13"),
        (("ST*835*0002", "ST*835*0001"), "segment 24", "ST02 control number 0001 is used twice"),
        (("SE*21*0001", "SE*X*0001"), "segment 23", "SE01 'X' is not a count"),
        (("SE*21*0001~\n", ""), "segment 23", "ST appears outside a GS group or inside another transaction"),
        (("GE*2*1~\n", ""), "segment 41", "IEA before GE"),
        (("ST*835*0002~\n", ""), "segment 24", "segment BPR appears outside an ST transaction"),
        (("N3*", "n3*"), "segment 8", "identifier 'n3' is not valid"),
    ],
)
def test_broken_envelopes_are_refused_with_file_segment_and_reason(
    change: tuple[str, str], position: str, reason: str
) -> None:
    text = good_835().replace(*change, 1)
    with pytest.raises(ParseError) as caught:
        read(text)
    assert caught.value.filename == "test.x12"
    assert caught.value.position == position
    assert reason in caught.value.reason


def test_lenient_mode_collects_count_problems_but_reads_everything() -> None:
    text = good_835().replace("SE*21*0001", "SE*20*0001").replace("GE*2*1", "GE*2*7")
    reader = SegmentReader(text, "x", strict=False)
    assert len(list(reader)) == 42
    assert reader.problems == [
        "segment 23: SE01 says 20 segments but there are 21",
        "segment 41: GE02 '7' does not match GS06 '1'",
    ]


@pytest.mark.parametrize("cut", [200, 600, -20, -3])
def test_truncated_files_are_refused(cut: int) -> None:
    text = good_835()[:cut]
    with pytest.raises(ParseError, match="truncated"):
        read(text)


def test_empty_and_non_x12_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ParseError, match="empty"):
        read(b"   \n")
    with pytest.raises(ParseError, match="ISA interchange header"):
        read(b"%PDF-1.4 not an x12 file at all" * 10)
