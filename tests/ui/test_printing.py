"""The shift PDF printed through Qt: every page reaches the printer, scaled to the sheet."""

from __future__ import annotations

import io
from pathlib import Path

from pypdf import PdfReader
from PySide6.QtPrintSupport import QPrinter
from pytestqt.qtbot import QtBot

from app.context import AppContext
from app.shifts.report import shift_report_pdf
from ui.printing import paint_pages, render_pages


def test_shift_report_prints_every_page(qtbot: QtBot, demo_ctx: AppContext, tmp_path: Path) -> None:
    from sqlalchemy import func, select

    from app.db.models import Payment

    with demo_ctx.db.read() as s:
        shift_id = s.scalar(
            select(Payment.shift_id)
            .where(Payment.shift_id.is_not(None))
            .group_by(Payment.shift_id)
            .order_by(func.count().desc())
            .limit(1)
        )
    assert shift_id is not None
    pdf = shift_report_pdf(demo_ctx, shift_id)
    expected_pages = len(PdfReader(io.BytesIO(pdf)).pages)
    pages = render_pages(pdf, dpi=100)
    assert len(pages) == expected_pages and not pages[0].isNull()
    assert pages[0].width() < pages[0].height()  # A4 portrait first page

    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    out = tmp_path / "printed.pdf"
    printer.setOutputFileName(str(out))
    assert paint_pages(printer, pages) == expected_pages
    printed = PdfReader(str(out))
    assert len(printed.pages) == expected_pages
