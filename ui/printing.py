"""Printing our PDFs through the Qt print dialog.

Pages are rendered to images with pdfium in the background (QImage is safe off the GUI thread),
then painted onto the QPrinter the user chose, each scaled to fit the printable area.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import QWidget


def render_pages(pdf: bytes, dpi: int = 200) -> list[QImage]:
    """Every page of ``pdf`` as an image at ``dpi`` (run this in the background)."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(pdf)
    images = []
    try:
        for index in range(len(document)):
            page = document[index]
            bitmap = page.render(scale=dpi / 72)
            pil = bitmap.to_pil().convert("RGB")
            data = pil.tobytes("raw", "RGB")
            image = QImage(data, pil.width, pil.height, 3 * pil.width, QImage.Format.Format_RGB888).copy()
            image.setDotsPerMeterX(round(dpi / 0.0254))
            image.setDotsPerMeterY(round(dpi / 0.0254))
            images.append(image)
            page.close()
    finally:
        document.close()
    return images


def paint_pages(printer: QPrinter, pages: list[QImage]) -> int:
    """Paint the pages onto the printer, one per sheet, scaled to fit and centred. Returns pages printed."""
    painter = QPainter()
    if not painter.begin(printer):
        raise RuntimeError("the printer could not be opened")
    try:
        for n, image in enumerate(pages):
            if n:
                printer.newPage()
            area = painter.viewport()
            size = image.size().scaled(area.size(), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRect(area.x() + (area.width() - size.width()) // 2, area.y(), size.width(), size.height())
            painter.drawImage(target, image)
    finally:
        painter.end()
    return len(pages)


def ask_and_print(parent: QWidget, pages: list[QImage], title: str) -> bool:
    """Show the Qt print dialog; print if the user accepts."""
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setDocName(title)
    dialog = QPrintDialog(printer, parent)
    dialog.setWindowTitle(f"Print {title}")
    if dialog.exec() != QPrintDialog.DialogCode.Accepted:
        return False
    paint_pages(printer, pages)
    return True
