"""Shared helpers for the printed-document tests: render once, read text, take a picture."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader

from app.reports.shift_report import ShiftReport, render_shift_pdf
from tests.reports.factory import make_shift

SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"


def page_texts(pdf: Path) -> list[str]:
    return [page.extract_text() for page in PdfReader(pdf).pages]


def first_page_png(pdf: Path, out_stem: Path) -> Path:
    """Page 1 as PNG at 80 dpi via poppler's pdftoppm (apt package poppler-utils)."""
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm not installed: apt-get install -y poppler-utils")
    subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", str(pdf), str(out_stem)], check=True)
    produced = sorted(out_stem.parent.glob(out_stem.name + "*.png"))
    assert produced, "pdftoppm wrote no picture"
    return produced[0]


def png_size(png: Path) -> tuple[int, int]:
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def keep_screenshot(png: Path, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    shutil.copyfile(png, SCREENSHOTS / name)


@pytest.fixture(scope="module")
def stale_shift() -> ShiftReport:
    return make_shift(300, stale=True)


@pytest.fixture(scope="module")
def shift_pdf(stale_shift: ShiftReport, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("shift") / "shift.pdf"
    render_shift_pdf(stale_shift, out)
    return out
