"""Streaming X12 tokenizer with envelope checks.

Reads the separators from the 106-character ISA header, then yields every segment as
``(number, elements)`` where ``number`` is the 1-based segment number in the file and
``elements[0]`` is the segment id. The input is processed in chunks, so memory stays flat
whatever the file size. Envelope rules (ISA/IEA, GS/GE, ST/SE nesting, counts and control
numbers) are checked on the way; a broken file raises :class:`app.errors.ParseError`.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Final

from app.errors import ParseError

ISA_LENGTH: Final = 106
# Widths of ISA01..ISA16 (fixed in X12).
_ISA_WIDTHS: Final = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)
_CONTROL: Final = frozenset({"ISA", "GS", "ST", "SE", "GE", "IEA", "TA1"})
_CHUNK: Final = 1 << 14  # small batches: big ones keep many lists alive and make the GC churn

Segment = tuple[int, list[str]]


@dataclass(frozen=True, slots=True)
class Delimiters:
    """The separators an interchange declares in its ISA header."""

    element: str
    sub_element: str
    segment: str
    repetition: str


def _valid_id(tag: str) -> bool:
    return 2 <= len(tag) <= 3 and tag[0].isalpha() and tag.isalnum() and tag.isupper() and tag.isascii()


def read_delimiters(head: str, filename: str) -> Delimiters:
    """Separators from the start of an interchange; ``head`` must start with ``ISA``."""
    if not head.startswith("ISA"):
        raise ParseError(filename, "segment 1", "the file does not start with an ISA interchange header")
    if len(head) < 4:
        raise ParseError(filename, "segment 1", "the ISA interchange header is incomplete")
    element = head[3]
    if element.isalnum() or element.isspace():
        raise ParseError(filename, "segment 1", f"{element!r} cannot be an element separator")
    pos = 3
    for index in range(1, 17):
        nxt = head.find(element, pos + 1)
        if index < 16 and (nxt < 0 or nxt > ISA_LENGTH + 20):
            raise ParseError(filename, "segment 1", "the ISA interchange header is incomplete")
        if index == 16:
            nxt = pos + 2
        width = nxt - pos - 1
        if width != _ISA_WIDTHS[index - 1]:
            raise ParseError(
                filename,
                "segment 1",
                f"ISA{index:02d} is {width} characters wide, but must be {_ISA_WIDTHS[index - 1]}: "
                f"the ISA header must be exactly {ISA_LENGTH} characters",
            )
        pos = nxt
    if len(head) < ISA_LENGTH:
        raise ParseError(filename, "segment 1", "the ISA interchange header is incomplete")
    sub_element, segment, repetition = head[104], head[105], head[82]
    if segment.isalnum() or segment in (element, sub_element):
        raise ParseError(filename, "segment 1", f"{segment!r} cannot be a segment terminator")
    return Delimiters(element, sub_element, segment, repetition)


class SegmentReader:
    """Iterate the segments of an X12 file, checking the envelope as it goes.

    ``strict=True`` raises on a wrong SE/GE/IEA count or control number; ``strict=False``
    collects those (and only those) in :attr:`problems` and carries on. Syntax problems
    (no ISA, bad ISA, bad segment id, truncated file) always raise.
    """

    def __init__(
        self, source: bytes | str | BinaryIO, filename: str, *, strict: bool = True, chunk_size: int = _CHUNK
    ) -> None:
        self.filename = filename
        self.strict = strict
        self.problems: list[str] = []
        self.delimiters: Delimiters | None = None
        self._source = source
        self._chunk_size = chunk_size
        # Envelope state: 0 outside, 1 in ISA, 2 in GS, 3 in ST.
        self._state = 0
        self._isa: tuple[int, str] = (0, "")
        self._gs: tuple[int, str] = (0, "")
        self._st: tuple[int, str] = (0, "")
        self._groups = 0
        self._sets = 0
        self._set_ids: set[str] = set()
        self._unterminated = False

    # ------------------------------------------------------------------ reading
    def _raw_chunks(self) -> Iterator[str]:
        src = self._source
        size = self._chunk_size
        if isinstance(src, str):
            for start in range(0, len(src), size):
                yield src[start : start + size]
            return
        # Invalid bytes become U+FFFD rather than failing the whole remittance on one name.
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        if isinstance(src, bytes | bytearray | memoryview):
            view = memoryview(src)
            for start in range(0, len(view), size):
                yield decoder.decode(view[start : start + size])
        else:
            while block := src.read(size):
                yield decoder.decode(block)
        yield decoder.decode(b"", final=True)

    def _pieces(self) -> Iterator[list[str]]:
        """Lists of raw segment texts (without terminators), chunk by chunk."""
        chunks = self._raw_chunks()
        head = ""
        for chunk in chunks:
            head += chunk
            if len(head.lstrip("\ufeff \t\r\n")) >= ISA_LENGTH + 20:
                break
        head = head.lstrip("\ufeff \t\r\n")
        if not head:
            raise ParseError(self.filename, "segment 1", "the file is empty")
        delims = read_delimiters(head, self.filename)
        self.delimiters = delims
        term = delims.segment
        carry = head
        for chunk in chunks:
            carry += chunk
            cut = carry.rfind(term)
            if cut < 0:
                continue
            yield self._clean(carry[:cut], term).split(term)
            carry = carry[cut + 1 :]
        pieces = self._clean(carry, term).split(term)
        tail = pieces.pop()
        yield pieces
        if tail.strip(" \t\x00\x1a"):
            self._unterminated = True
            yield [tail]

    @staticmethod
    def _clean(text: str, term: str) -> str:
        if term == "\n":
            return text.replace("\r", "")
        if "\n" in text or "\r" in text:
            return text.replace("\r", "").replace("\n", "")
        return text

    def __iter__(self) -> Iterator[Segment]:
        for first, batch in self.batches():
            yield from enumerate(batch, first)

    def batches(self) -> Iterator[tuple[int, list[list[str]]]]:
        """``(number of the first segment, segments)`` chunk by chunk, checked like iteration.

        Faster than iterating one segment at a time. When a segment breaks the envelope, the
        segments before it are yielded first, then the error is raised.
        """
        element = ""
        known: set[str] = set()
        control = _CONTROL
        number = 0
        for pieces in self._pieces():
            if not element:
                assert self.delimiters is not None
                element = self.delimiters.element
            if self._unterminated:
                self._problem(number + 1, "the last segment has no terminator: the file may be truncated")
            first = number + 1
            batch: list[list[str]] = []
            try:
                for raw in pieces:
                    if not raw:
                        continue
                    number += 1
                    fields = raw.split(element)
                    tag = fields[0]
                    if tag not in known:
                        if tag[:1].isspace():  # blanks after a terminator, as newlines are
                            fields[0] = tag = tag.lstrip()
                        if not _valid_id(tag):
                            what = f"identifier {tag!r} is not valid" if tag else "has no segment identifier"
                            raise ParseError(self.filename, f"segment {number}", f"the segment {what}")
                        known.add(tag)
                    if tag in control:
                        self._control(number, fields)
                    elif self._state != 3:
                        self._outside(number, tag)
                    batch.append(fields)
            except ParseError:
                if batch:
                    yield first, batch
                raise
            if batch:
                yield first, batch
        self._finish(number)

    # ------------------------------------------------------------------ envelope
    def _fail(self, number: int, reason: str) -> None:
        raise ParseError(self.filename, f"segment {number}", reason)

    def _problem(self, number: int, reason: str) -> None:
        if self.strict:
            self._fail(number, reason)
        self.problems.append(f"segment {number}: {reason}")

    def _outside(self, number: int, tag: str) -> None:
        where = {0: "before any ISA header", 1: "outside a GS group", 2: "outside an ST transaction"}
        self._fail(number, f"segment {tag} appears {where[self._state]}")

    @staticmethod
    def _get(fields: list[str], index: int) -> str:
        return fields[index] if len(fields) > index else ""

    def _control(self, number: int, fields: list[str]) -> None:
        tag, get = fields[0], self._get
        opened = {1: "interchange (ISA)", 2: "group (GS)", 3: "transaction (ST)"}
        if tag == "ISA":
            if self._state != 0:
                self._fail(number, f"a new ISA starts before the previous {opened[self._state]} was closed")
            if len(fields) != 17 or any(len(fields[i]) != _ISA_WIDTHS[i - 1] for i in range(1, 17)):
                self._fail(number, f"the ISA header is malformed (it must be exactly {ISA_LENGTH} characters)")
            self._state, self._isa, self._groups = 1, (number, fields[13]), 0
        elif tag == "TA1":
            if self._state != 1:
                self._outside(number, tag)
        elif tag == "GS":
            if self._state != 1:
                self._fail(number, "GS appears outside an interchange or inside another group")
            self._state, self._gs, self._sets, self._set_ids = 2, (number, get(fields, 6)), 0, set()
        elif tag == "ST":
            if self._state != 2:
                self._fail(number, "ST appears outside a GS group or inside another transaction")
            control = get(fields, 2)
            if control in self._set_ids:
                self._problem(number, f"ST02 control number {control} is used twice in the same group")
            self._set_ids.add(control)
            self._state, self._st = 3, (number, control)
            self._sets += 1
        elif tag == "SE":
            if self._state != 3:
                self._fail(number, "SE appears without a matching ST")
            start, control = self._st
            self._check_count(number, "SE01", get(fields, 1), number - start + 1, "segments")
            if get(fields, 2) != control:
                self._problem(number, f"SE02 {get(fields, 2)!r} does not match ST02 {control!r}")
            self._state = 2
        elif tag == "GE":
            if self._state != 2:
                self._fail(number, "GE appears without a matching GS" if self._state < 2 else "GE before SE")
            self._check_count(number, "GE01", get(fields, 1), self._sets, "transactions")
            if get(fields, 2) != self._gs[1]:
                self._problem(number, f"GE02 {get(fields, 2)!r} does not match GS06 {self._gs[1]!r}")
            self._state = 1
            self._groups += 1
        elif tag == "IEA":
            if self._state != 1:
                self._fail(number, "IEA appears without a matching ISA" if self._state < 1 else "IEA before GE")
            self._check_count(number, "IEA01", get(fields, 1), self._groups, "groups")
            if get(fields, 2) != self._isa[1]:
                self._problem(number, f"IEA02 {get(fields, 2)!r} does not match ISA13 {self._isa[1]!r}")
            self._state = 0

    def _check_count(self, number: int, name: str, text: str, actual: int, noun: str) -> None:
        if not text.isdigit():
            self._fail(number, f"{name} {text!r} is not a count")
        elif int(text) != actual:
            self._problem(number, f"{name} says {int(text)} {noun} but there are {actual}")

    def _finish(self, number: int) -> None:
        if number == 0:
            raise ParseError(self.filename, "segment 1", "the file holds no segments")
        missing = {1: "IEA", 2: "GE", 3: "SE"}
        if self._state:
            self._fail(
                number,
                f"the file ends before the closing {missing[self._state]} segment: it is truncated",
            )


def iter_segments(source: bytes | str | BinaryIO, filename: str, *, strict: bool = True) -> Iterator[Segment]:
    """Shortcut for ``iter(SegmentReader(source, filename, strict=strict))``."""
    return iter(SegmentReader(source, filename, strict=strict))
