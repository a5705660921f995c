"""The refund acknowledgement: one page, every fact printed, refused when wrong, picture kept."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader

from app.errors import ValidationFailed
from app.money import Money
from app.reports.refund_ack import DEFAULT_DECLARATION, RefundAcknowledgement, render_refund_ack_pdf
from tests.reports.conftest import first_page_png, keep_screenshot, page_texts, png_size
from tests.reports.factory import CLINIC


def make_ack(**changes: object) -> RefundAcknowledgement:
    ack = RefundAcknowledgement(
        clinic=CLINIC,
        reference="RF-000123",
        patient_name="Margaret O'Neill",
        patient_ref="P-004512",
        original_paid_at=datetime(2026, 11, 20, 10, 15, tzinfo=UTC),
        original_method="Visa •••• 4242, card present",
        original_ref="pi_3Q0000a6a3a450",
        original_amount=Money.of("120.00"),
        refund_amount=Money.of("45.00"),
        reason="Session cancelled by the clinic (practitioner ill).",
        refund_method="Back to the original card",
        expected_time="3–5 working days",
        issued_at=datetime(2026, 7, 1, 15, 40, tzinfo=UTC),
        issued_by="Jo Bailey",
        display_timezone="Europe/London",
    )
    return replace(ack, **changes) if changes else ack


def test_one_page_with_every_fact(tmp_path: Path) -> None:
    out = tmp_path / "ack.pdf"
    render_refund_ack_pdf(make_ack(), out)
    texts = page_texts(out)
    assert len(texts) == 1
    text = texts[0]
    for expected in (
        "Northside Physio & Sports Clinic",
        "Refund acknowledgement",
        "Reference RF-000123",
        "Margaret O'Neill",
        "P-004512",
        "20 Nov 2026 10:15 GMT",
        "4242, card present",  # pypdf cannot map the bullets back; the picture shows them
        "pi_3Q0000a6a3a450",
        "Amount paid\n£120.00",
        "Amount refunded\n£45.00",
        "REMAINING PAID\n£75.00",
        "partial refund",
        "Back to the original card",
        "3–5 working days",
        "Session cancelled by the clinic (practitioner ill).",
        "Issued 01 Jul 2026 16:40 BST",  # display zone applied in summer time
        "Page 1 of 1",
    ):
        assert expected in text, expected
    assert " ".join(DEFAULT_DECLARATION.split()[:8]) in " ".join(text.split())
    assert text.count("Signature") == 2 and text.count("Date\n") >= 2


def test_full_refund_is_called_full() -> None:
    buffer = io.BytesIO()
    render_refund_ack_pdf(make_ack(refund_amount=Money.of("120.00")), buffer)
    text = PdfReader(io.BytesIO(buffer.getvalue())).pages[0].extract_text()
    assert "full refund" in text and "REMAINING PAID\n£0.00" in text


def test_wrong_acknowledgement_lists_every_problem() -> None:
    with pytest.raises(ValidationFailed) as caught:
        make_ack(refund_amount=Money.of("130.00"), reason=" ", issued_at=datetime(2026, 7, 1, 15, 40))
    problems = caught.value.problems
    assert "the refund £130.00 is more than the payment £120.00" in problems
    assert "a reason for the refund is required" in problems
    assert "the issue time has no time zone" in problems
    with pytest.raises(ValidationFailed, match="more than zero"):
        make_ack(refund_amount=Money.zero())


def test_picture_of_the_acknowledgement(tmp_path: Path) -> None:
    out = tmp_path / "ack.pdf"
    render_refund_ack_pdf(make_ack(), out)
    png = first_page_png(out, tmp_path / "ack")
    width, height = png_size(png)
    assert abs(width - 661) <= 2 and abs(height - 935) <= 2
    assert png.stat().st_size > 25_000
    keep_screenshot(png, "refund-ack.png")
