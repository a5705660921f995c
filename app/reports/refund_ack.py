"""The one-page refund acknowledgement a patient signs at the desk."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from reportlab.platypus import Flowable, Paragraph

from app.errors import ValidationFailed
from app.money import Money
from app.reports.pdf_common import (
    ACCENT,
    BODY,
    CONTENT_WIDTH,
    FONT_BOLD,
    INK,
    RULE,
    SMALL,
    TOTAL_FILL,
    ClinicDetails,
    Command,
    PageDecor,
    SummaryBox,
    build_pdf,
    clinic_block,
    details_grid,
    escape,
    gap,
    grid_table,
    heading,
    local,
    signature_block,
    summary_boxes,
    zone,
)

DEFAULT_DECLARATION = (
    "I confirm that I have asked for this refund, that the details above are correct, and that the "
    "amount shown will be returned by the method stated. I understand that the time it takes to reach "
    "my account depends on my bank or card issuer. I have been given a copy of this acknowledgement."
)


@dataclass(frozen=True, slots=True)
class RefundAcknowledgement:
    """What the patient signs: the original payment, the refund and the declaration."""

    clinic: ClinicDetails
    reference: str  # our refund reference, e.g. "RF-000123"
    patient_name: str
    patient_ref: str | None  # patient / account number
    original_paid_at: datetime
    original_method: str  # e.g. "Visa •••• 4242, card present"
    original_ref: str
    original_amount: Money
    refund_amount: Money
    reason: str
    refund_method: str  # e.g. "Back to the original card"
    expected_time: str  # e.g. "3–5 working days"
    issued_at: datetime
    issued_by: str
    display_timezone: str  # e.g. "Europe/London"
    declaration: str = DEFAULT_DECLARATION

    def __post_init__(self) -> None:
        problems: list[str] = []
        for label, when in (("original payment time", self.original_paid_at), ("issue time", self.issued_at)):
            if when.utcoffset() is None:
                problems.append(f"the {label} has no time zone")
        if self.refund_amount.currency != self.original_amount.currency:
            problems.append("the refund and the original payment are in different currencies")
        elif self.refund_amount.minor <= 0:
            problems.append("the refund amount must be more than zero")
        elif self.refund_amount > self.original_amount:
            problems.append(f"the refund {self.refund_amount} is more than the payment {self.original_amount}")
        if not self.reason.strip():
            problems.append("a reason for the refund is required")
        try:
            zone(self.display_timezone)
        except ValueError as exc:
            problems.append(str(exc))
        if problems:
            raise ValidationFailed(f"Refund acknowledgement {self.reference} cannot be printed", problems)

    @property
    def is_partial(self) -> bool:
        return self.refund_amount != self.original_amount


def render_refund_ack_pdf(ack: RefundAcknowledgement, out: Path | BinaryIO) -> None:
    """Write the acknowledgement as a one-page PDF to a path or binary stream."""
    tz = zone(ack.display_timezone)
    title = "Refund acknowledgement"
    subtitle = [f"Reference <b>{escape(ack.reference)}</b>", f"Issued {escape(local(ack.issued_at, tz))}"]
    kept = ack.original_amount - ack.refund_amount
    story: list[Flowable] = [
        clinic_block(ack.clinic, title, subtitle),
        gap(10),
        details_grid(
            [
                ("Patient", ack.patient_name),
                ("Patient number", ack.patient_ref or "—"),
                ("Issued by", ack.issued_by),
                ("Time zone", ack.display_timezone),
            ]
        ),
        gap(10),
        summary_boxes(
            [
                SummaryBox(
                    "Refund amount",
                    str(ack.refund_amount),
                    "partial refund" if ack.is_partial else "full refund",
                ),
                SummaryBox("Originally paid", str(ack.original_amount)),
                SummaryBox("Remaining paid", str(kept)),
                SummaryBox("Expected to arrive", ack.expected_time),
            ]
        ),
        heading("Original payment"),
        _pairs_table(
            [
                ("Date and time", local(ack.original_paid_at, tz)),
                ("Paid by", ack.original_method),
                ("Payment reference", ack.original_ref),
                ("Amount paid", str(ack.original_amount)),
            ]
        ),
        heading("Refund"),
        _pairs_table(
            [
                ("Refund reference", ack.reference),
                ("Amount refunded", str(ack.refund_amount)),
                ("Refunded to", ack.refund_method),
                ("Expected to arrive", ack.expected_time),
                ("Reason", ack.reason),
            ]
        ),
        heading("Declaration"),
        Paragraph(escape(ack.declaration), BODY),
        gap(18),
        signature_block([("Patient", ack.patient_name), ("For the clinic", ack.issued_by)]),
        gap(14),
        Paragraph("Please keep this copy. Questions about this refund: quote the refund reference above.", SMALL),
    ]
    decor = PageDecor(
        running_title=f"{ack.clinic.name} — {title}",
        reference=f"Refund {ack.reference}",
        footer_note=f"Generated {local(ack.issued_at, tz)} by Clinic Billing Desk",
    )
    build_pdf(out, story, decor, title=f"{title} {ack.reference}", author=ack.clinic.name)


def _pairs_table(pairs: list[tuple[str, str]]) -> Flowable:
    """A two-column label/value table without a header row."""
    rows: list[list[Any]] = [[label, Paragraph(escape(value), BODY)] for label, value in pairs]
    cmds: list[Command] = [
        ("FONT", (0, 0), (0, -1), FONT_BOLD, 8.5),
        ("TEXTCOLOR", (0, 0), (0, -1), INK),
        ("BACKGROUND", (0, 0), (0, -1), TOTAL_FILL),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, RULE),
        ("LINEABOVE", (0, 0), (-1, 0), 0.8, ACCENT),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ]
    return grid_table(rows, [CONTENT_WIDTH * 0.3, CONTENT_WIDTH * 0.7], cmds, repeat_header=False)
