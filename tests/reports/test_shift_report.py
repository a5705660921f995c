"""The shift close-out report: totals, sections, paging, repeated headers, stale note, picture."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader

from app.errors import ValidationFailed
from app.money import Money
from app.reports.shift_report import (
    PAYMENT_HEADER,
    DepositStatus,
    ShiftReport,
    ShiftState,
    payment_totals,
    render_shift_pdf,
    takings_by_provider,
    uk_cash_count,
)
from tests.reports.conftest import first_page_png, keep_screenshot, page_texts, png_size
from tests.reports.factory import make_shift

ROW_TIME = re.compile(r"^\d{2} [A-Z][a-z]{2} \d{2}:\d{2}$", re.MULTILINE)
HEADER_TEXT = "\n".join(PAYMENT_HEADER)


def pounds(minor: int) -> str:
    """Independent formatting of pence as the report should print them."""
    sign = "-" if minor < 0 else ""
    return f"{sign}£{Decimal(abs(minor)) / 100:,.2f}"


def test_totals_are_printed_exactly(stale_shift: ShiftReport, shift_pdf: Path) -> None:
    text = "\n".join(page_texts(shift_pdf))
    gross = sum(p.gross.minor for p in stale_shift.payments)
    fee = sum(p.fee.minor for p in stale_shift.payments)
    assert (pounds(gross), pounds(fee), pounds(gross - fee)) == ("£24,547.50", "£393.05", "£24,154.45")
    page_one = page_texts(shift_pdf)[0]
    assert "GROSS TAKINGS\n£24,547.50\n300 payments" in page_one
    assert "PROVIDER FEES\n£393.05" in page_one
    assert "NET TAKINGS\n£24,154.45" in page_one
    assert "Total\n300\n£24,547.50\n£393.05\n£24,154.45" in page_one  # takings table total row
    assert "Total\n300 payments\n£24,547.50\n£393.05\n£24,154.45" in text  # appendix total row
    assert "Difference (counted − expected)\n-£2.50" in page_one
    assert "Short\n" in page_one and "-£12.50" in page_one


def test_sections_appear_in_filing_order(shift_pdf: Path) -> None:
    text = "\n".join(page_texts(shift_pdf))
    titles = [
        "Shift close-out report",
        "Takings by provider and method",
        "Expected and received deposits",
        "Cash drawer",
        "Open card disputes",
        "Settlement ETA",
        "Sign-off",
        "Appendix — all payments in this shift (300)",
    ]
    positions = [text.find(t) for t in titles]
    assert -1 not in positions, dict(zip(titles, positions, strict=True))
    assert positions == sorted(positions)
    assert "Closed by".upper() in text and "Checked by".upper() in text and text.count("Signature") == 2


def test_every_page_is_numbered_page_x_of_y(shift_pdf: Path) -> None:
    texts = page_texts(shift_pdf)
    n = len(texts)
    assert n >= 5
    assert "Page 1 of " + str(n) in texts[0]
    for number, text in enumerate(texts, start=1):
        assert f"Page {number} of {n}" in text
        assert "Generated 23 Nov 2026 18:42 GMT" in text


def test_payments_header_repeats_on_every_page_with_payment_rows(stale_shift: ShiftReport, shift_pdf: Path) -> None:
    texts = page_texts(shift_pdf)
    pages_with_rows = [i for i, t in enumerate(texts) if ROW_TIME.search(t)]
    assert len(pages_with_rows) >= 3, "300 payments must span several pages"
    for i in pages_with_rows:
        assert HEADER_TEXT in texts[i], f"page {i + 1} has payment rows but no table header"
    rows = sum(len(ROW_TIME.findall(t)) for t in texts)
    assert rows == len(stale_shift.payments)
    everything = "\n".join(texts)
    assert all(p.ref in everything for p in stale_shift.payments)


def test_stale_provider_data_note_only_when_stale(tmp_path: Path) -> None:
    stale, fresh = tmp_path / "stale.pdf", tmp_path / "fresh.pdf"
    render_shift_pdf(make_shift(20, stale=True), stale)
    render_shift_pdf(make_shift(20, stale=False), fresh)
    assert "Provider data as of 17:27." in page_texts(stale)[0]
    assert "Provider data as of" not in "\n".join(page_texts(fresh))


def test_open_shift_prints_as_interim_to_a_stream() -> None:
    buffer = io.BytesIO()
    render_shift_pdf(make_shift(10, state=ShiftState.OPEN), buffer)
    text = PdfReader(io.BytesIO(buffer.getvalue())).pages[0].extract_text()
    assert "Interim shift report" in text
    assert "Shift still open." in text
    assert "still open" in text


def test_page_one_picture_looks_like_a_document(shift_pdf: Path, tmp_path: Path) -> None:
    png = first_page_png(shift_pdf, tmp_path / "page")
    width, height = png_size(png)
    assert abs(width - 661) <= 2 and abs(height - 935) <= 2  # A4 at 80 dpi
    assert png.stat().st_size > 40_000, "page 1 is almost blank"
    keep_screenshot(png, "shift-report-page1.png")


def test_one_chunk_per_page_even_when_forced_small(stale_shift: ShiftReport, tmp_path: Path) -> None:
    out = tmp_path / "small-chunks.pdf"
    render_shift_pdf(replace(stale_shift, payments=stale_shift.payments[:120]), out, rows_per_table=25)
    texts = page_texts(out)
    rows = [len(ROW_TIME.findall(t)) for t in texts]
    assert sum(rows) == 120
    assert all(HEADER_TEXT in t for t, r in zip(texts, rows, strict=True) if r)


def test_takings_and_payout_status_are_derived() -> None:
    report = make_shift(40)
    lines = takings_by_provider(report.payments)
    assert sum(line.count for line in lines) == 40
    assert sum((line.net for line in lines), Money.zero()) == payment_totals(report.payments).net
    assert [p.status for p in report.payouts] == [
        DepositStatus.MATCHED,
        DepositStatus.SHORT,
        DepositStatus.AWAITING,
    ]
    assert report.deposits_difference == Money.of("-12.50")
    assert report.cash is not None and report.cash.difference == Money.of("-2.50")


def test_bad_report_lists_every_problem_at_once() -> None:
    good = make_shift(5)
    with pytest.raises(ValidationFailed) as caught:
        replace(
            good,
            period_start=datetime(2026, 11, 23, 8, 0),
            display_timezone="Europe/Nowhere",
            payouts=(replace(good.payouts[0], expected=Money.of("1.00", "EUR")),),
        )
    problems = caught.value.problems
    assert any("period start has no time zone" in p for p in problems)
    assert any("Europe/Nowhere" in p for p in problems)
    assert any("not in GBP" in p for p in problems)


def test_cash_count_refuses_unknown_denominations() -> None:
    with pytest.raises(ValidationFailed, match="3p"):
        uk_cash_count({3: 1, 5000: 2})
    counted = uk_cash_count({5000: 2, 1: 3})
    assert [c.label for c in counted][:2] == ["£50", "£20"] and counted[-1].label == "1p"
    assert counted[0].value == Money.of("100.00")
