"""The shared look of every printed document: page, styles, header/footer and "Page X of Y".

Built on reportlab's platypus with the built-in Helvetica (its WinAnsi encoding has £, € and …).
Times are printed in the document's display time zone; amounts via ``str(Money)``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.pagesizes import landscape as turned
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from app.money import Money

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN_X = 16 * mm
MARGIN_TOP = 20 * mm
MARGIN_BOTTOM = 18 * mm
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN_X
LANDSCAPE_CONTENT_WIDTH = PAGE_HEIGHT - 2 * MARGIN_X
FRAME_PADDING = 6.0  # reportlab Frame's default padding on each side
PORTRAIT, LANDSCAPE = "portrait", "landscape"  # page template names

FONT = "Helvetica"
FONT_BOLD = "Helvetica-Bold"

INK = colors.HexColor("#1B2733")
MUTED = colors.HexColor("#5B6B7B")
ACCENT = colors.HexColor("#1F4E79")
RULE = colors.HexColor("#B8C4D0")
HEADER_FILL = colors.HexColor("#E3EAF2")
ZEBRA = colors.HexColor("#F6F8FA")
TOTAL_FILL = colors.HexColor("#EEF2F6")
NEGATIVE_INK = colors.HexColor("#B00020")
NEGATIVE_FILL = colors.HexColor("#FCE4E8")
WARNING_FILL = colors.HexColor("#FFF4D6")
WARNING_EDGE = colors.HexColor("#D99A00")

Command = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class ClinicDetails:
    """The clinic as printed at the top of every document."""

    name: str
    address_lines: tuple[str, ...]
    phone: str | None = None
    email: str | None = None
    registration: str | None = None  # e.g. "Company no. 01234567 · VAT GB123456789"


def _style(name: str, **kw: Any) -> ParagraphStyle:
    base: dict[str, Any] = {"fontName": FONT, "fontSize": 9, "leading": 11.5, "textColor": INK}
    base.update(kw)
    return ParagraphStyle(name, **base)


BODY = _style("body")
SMALL = _style("small", fontSize=7.5, leading=9.5, textColor=MUTED)
CLINIC_NAME = _style("clinic", fontName=FONT_BOLD, fontSize=15, leading=18)
DOC_TITLE = _style("title", fontName=FONT_BOLD, fontSize=14, leading=17, textColor=ACCENT, alignment=TA_RIGHT)
DOC_SUBTITLE = _style("subtitle", fontSize=9, leading=12, textColor=MUTED, alignment=TA_RIGHT)
HEADING = _style(
    "heading",
    fontName=FONT_BOLD,
    fontSize=11,
    leading=14,
    textColor=ACCENT,
    spaceBefore=12,
    spaceAfter=4,
    keepWithNext=1,
)
CELL = _style("cell", fontSize=8, leading=10)
CELL_BOLD = _style("cell_bold", fontName=FONT_BOLD, fontSize=8, leading=10)
BOX_LABEL = _style("box_label", fontSize=7.5, leading=9, textColor=MUTED)
BOX_VALUE = _style("box_value", fontName=FONT_BOLD, fontSize=13, leading=16)
BOX_VALUE_NEGATIVE = ParagraphStyle("box_value_neg", parent=BOX_VALUE, textColor=NEGATIVE_INK)


def zone(name: str) -> ZoneInfo:
    """The display time zone; ValueError naming it when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


def local(when: datetime, tz: ZoneInfo, pattern: str = "%d %b %Y %H:%M") -> str:
    """An aware datetime as local text with the zone abbreviation, e.g. ``23 Nov 2026 18:05 GMT``."""
    shown = when.astimezone(tz)
    return f"{shown.strftime(pattern)} {shown.tzname()}"


@functools.lru_cache(maxsize=8192)
def fit(text: str, width: float, font: str = FONT, size: float = 8) -> str:
    """Shorten ``text`` with an ellipsis so it fits ``width`` points on one line (memoised)."""
    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…"


def is_negative(amount: Money | None) -> bool:
    return amount is not None and amount.minor < 0


def heading(text: str) -> Paragraph:
    """A section title that stays with what follows it."""
    return Paragraph(text, HEADING)


def escape(text: str) -> str:
    """Text safe inside a Paragraph (which reads a small XML dialect)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def grid_style(rows: int, *, total_row: bool = False, right_cols: Sequence[int] = ()) -> list[Command]:
    """The house table look: tinted header, zebra rows, hairlines, right-aligned amount columns."""
    cmds: list[Command] = [
        ("FONT", (0, 0), (-1, -1), FONT, 8),
        ("TEXTCOLOR", (0, 0), (-1, -1), INK),
        ("FONT", (0, 0), (-1, 0), FONT_BOLD, 8),
        ("BACKGROUND", (0, 0), (-1, 0), HEADER_FILL),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, ACCENT),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, RULE),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
        ("LEFTPADDING", (0, 0), (-1, -1), 4),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
    ]
    if rows > 2:
        cmds.append(("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, ZEBRA]))
    for col in right_cols:
        cmds.append(("ALIGN", (col, 0), (col, -1), "RIGHT"))
    if total_row:
        cmds += [
            ("BACKGROUND", (0, -1), (-1, -1), TOTAL_FILL),
            ("FONT", (0, -1), (-1, -1), FONT_BOLD, 8),
            ("LINEABOVE", (0, -1), (-1, -1), 0.8, INK),
        ]
    return cmds


def flag_negative(cmds: list[Command], col: int, row: int) -> None:
    """Highlight one cell holding a shortfall: red bold text on a pink fill."""
    cmds += [
        ("BACKGROUND", (col, row), (col, row), NEGATIVE_FILL),
        ("TEXTCOLOR", (col, row), (col, row), NEGATIVE_INK),
        ("FONT", (col, row), (col, row), FONT_BOLD, 8),
    ]


def grid_table(
    rows: list[list[Any]], widths: Sequence[float], cmds: list[Command], *, repeat_header: bool = True
) -> Table:
    table = Table(rows, colWidths=list(widths), repeatRows=1 if repeat_header else 0, hAlign="LEFT")
    table.setStyle(TableStyle(cmds))
    return table


def clinic_block(clinic: ClinicDetails, title: str, subtitle_lines: Sequence[str]) -> Table:
    """Page-one title block: the clinic on the left, the document title on the right, a rule below."""
    contact = [c for c in (clinic.phone, clinic.email) if c]
    left: list[Flowable] = [Paragraph(escape(clinic.name), CLINIC_NAME)]
    left += [Paragraph(escape(line), SMALL) for line in clinic.address_lines]
    if contact:
        left.append(Paragraph(escape(" · ".join(contact)), SMALL))
    if clinic.registration:
        left.append(Paragraph(escape(clinic.registration), SMALL))
    right: list[Flowable] = [Paragraph(escape(title), DOC_TITLE)]
    right += [Paragraph(line, DOC_SUBTITLE) for line in subtitle_lines]
    block = Table([[left, right]], colWidths=[CONTENT_WIDTH * 0.5, CONTENT_WIDTH * 0.5], hAlign="LEFT")
    block.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 8),
                ("LINEBELOW", (0, 0), (-1, 0), 1.5, ACCENT),
            ]
        )
    )
    return block


def details_grid(pairs: Sequence[tuple[str, str]], columns: int = 2) -> Table:
    """Label/value pairs laid out in ``columns`` pairs per row (labels muted, values bold)."""
    rows: list[list[Any]] = []
    for start in range(0, len(pairs), columns):
        row: list[Any] = []
        for label, value in pairs[start : start + columns]:
            row += [Paragraph(escape(label), BOX_LABEL), Paragraph(escape(value), CELL_BOLD)]
        row += [""] * (2 * columns - len(row))
        rows.append(row)
    label_w = 24 * mm
    value_w = CONTENT_WIDTH / columns - label_w
    table = Table(rows, colWidths=[label_w, value_w] * columns, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return table


@dataclass(frozen=True, slots=True)
class SummaryBox:
    label: str
    value: str
    note: str = ""
    negative: bool = False


def summary_boxes(boxes: Sequence[SummaryBox], per_row: int = 4) -> Table:
    """The row(s) of headline figures a reader sees first."""
    width = CONTENT_WIDTH / per_row
    rows: list[list[Any]] = []
    cmds: list[Command] = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
        ("LEFTPADDING", (0, 0), (-1, -1), 7),
    ]
    for start in range(0, len(boxes), per_row):
        r = len(rows)
        row: list[Any] = []
        for c, box in enumerate(boxes[start : start + per_row]):
            cell: list[Flowable] = [
                Paragraph(escape(box.label.upper()), BOX_LABEL),
                Paragraph(escape(box.value), BOX_VALUE_NEGATIVE if box.negative else BOX_VALUE),
            ]
            if box.note:
                cell.append(Paragraph(escape(box.note), SMALL))
            row.append(cell)
            fill = NEGATIVE_FILL if box.negative else TOTAL_FILL
            edge = NEGATIVE_INK if box.negative else ACCENT
            cmds += [("BACKGROUND", (c, r), (c, r), fill), ("LINEBEFORE", (c, r), (c, r), 3, edge)]
        row += [""] * (per_row - len(row))
        rows.append(row)
    cmds.append(("LINEBELOW", (0, 0), (-1, -2), 4, colors.white))
    table = Table(rows, colWidths=[width] * per_row, hAlign="LEFT")
    table.setStyle(TableStyle(cmds))
    return table


def warning_box(text: str) -> Table:
    """A yellow call-out for things the reader must notice (stale data, open shift)."""
    box = Table([[Paragraph(text, BODY)]], colWidths=[CONTENT_WIDTH], hAlign="LEFT")
    box.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, -1), WARNING_FILL),
                ("LINEBEFORE", (0, 0), (0, 0), 3, WARNING_EDGE),
                ("TOPPADDING", (0, 0), (-1, -1), 5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
                ("LEFTPADDING", (0, 0), (-1, -1), 8),
            ]
        )
    )
    return box


def signature_block(roles: Sequence[tuple[str, str | None]]) -> Table:
    """Side-by-side boxes to sign: role, printed name, and lines for signature and date."""
    width = CONTENT_WIDTH / len(roles)
    cells: list[Any] = []
    for role, name in roles:
        inner = Table(
            [
                [Paragraph(escape(role.upper()), BOX_LABEL), ""],
                ["Name", name or ""],
                ["Signature", ""],
                ["Date", ""],
            ],
            colWidths=[22 * mm, width - 22 * mm - 10 * mm],
            rowHeights=[12, 22, 30, 22],
        )
        inner.setStyle(
            TableStyle(
                [
                    ("SPAN", (0, 0), (1, 0)),
                    ("FONT", (0, 1), (0, -1), FONT, 8),
                    ("TEXTCOLOR", (0, 1), (0, -1), MUTED),
                    ("FONT", (1, 1), (1, -1), FONT_BOLD, 9),
                    ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                    ("LINEBELOW", (1, 1), (1, -1), 0.6, INK),
                    ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ]
            )
        )
        cells.append(inner)
    table = Table([cells], colWidths=[width] * len(roles), hAlign="LEFT")
    table.setStyle(TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return table


@dataclass(frozen=True, slots=True)
class PageDecor:
    """Text printed around every page: running header (pages 2+) and footer (all pages)."""

    running_title: str  # e.g. "Northside Physio — Shift close-out report"
    reference: str  # e.g. "Shift SH-2026-11-23-A"
    footer_note: str  # e.g. "Generated 23 Nov 2026 18:05 GMT by Clinic Billing Desk"


def _numbered_canvas(decor: PageDecor) -> Callable[..., Canvas]:
    """A canvas that holds pages back until the end so each footer can say "Page X of Y"."""

    class NumberedCanvas(Canvas):  # type: ignore[misc]  # reportlab ships no types
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._held: list[dict[str, Any]] = []

        def showPage(self) -> None:
            self._held.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._held)
            for number, state in enumerate(self._held, start=1):
                self.__dict__.update(state)
                self._decorate(number, total)
                super().showPage()
            super().save()

        def _decorate(self, number: int, total: int) -> None:
            width, height = self._pagesize  # portrait or landscape, per page
            self.saveState()
            self.setStrokeColor(RULE)
            self.setLineWidth(0.5)
            if number > 1:
                y = height - MARGIN_TOP + 6 * mm
                self.setFont(FONT_BOLD, 8)
                self.setFillColor(ACCENT)
                self.drawString(MARGIN_X, y, decor.running_title)
                self.setFont(FONT, 8)
                self.setFillColor(MUTED)
                self.drawRightString(width - MARGIN_X, y, decor.reference)
                self.line(MARGIN_X, y - 3, width - MARGIN_X, y - 3)
            y = MARGIN_BOTTOM - 8 * mm
            self.line(MARGIN_X, y + 9, width - MARGIN_X, y + 9)
            self.setFont(FONT, 7.5)
            self.setFillColor(MUTED)
            self.drawString(MARGIN_X, y, f"{decor.footer_note} · {decor.reference}")
            self.setFont(FONT_BOLD, 7.5)
            self.drawRightString(width - MARGIN_X, y, f"Page {number} of {total}")
            self.restoreState()

    return NumberedCanvas


def frame_height(*, landscape: bool = False) -> float:
    """Usable height of one page's frame, in points."""
    height = PAGE_WIDTH if landscape else PAGE_HEIGHT
    return float(height - MARGIN_TOP - MARGIN_BOTTOM - 2 * FRAME_PADDING)


def _template(name: str, size: tuple[float, float]) -> PageTemplate:
    width, height = size
    frame = Frame(MARGIN_X, MARGIN_BOTTOM, width - 2 * MARGIN_X, height - MARGIN_TOP - MARGIN_BOTTOM, id=name)
    return PageTemplate(id=name, frames=[frame], pagesize=size)


def build_pdf(out: Path | BinaryIO, story: list[Flowable], decor: PageDecor, *, title: str, author: str) -> None:
    """Lay out ``story`` on A4 pages with the house header/footer and write it to ``out``.

    Pages are portrait; put ``NextPageTemplate(LANDSCAPE)`` before a page break in ``story`` to
    switch to landscape A4 (wide listings).
    """
    target: str | BinaryIO = str(out) if isinstance(out, Path) else out
    doc = BaseDocTemplate(
        target,
        pagesize=A4,
        pageTemplates=[_template(PORTRAIT, A4), _template(LANDSCAPE, turned(A4))],
        title=title,
        author=author,
        creator="Clinic Billing Desk",
    )
    doc.build(story, canvasmaker=_numbered_canvas(decor))


def gap(points: float) -> Spacer:
    return Spacer(1, points)
