"""The shift close-out report as a PDF a finance team files.

Page one: title block, headline figures, then takings, deposits, cash drawer, disputes,
settlements and the sign-off. The full payments list follows as an appendix, one table per page
(never one huge Table: 20,000 rows in one Table takes ~16 s), each with its own header row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, NextPageTemplate, PageBreak, Paragraph, Table, TableStyle

from app.money import Money
from app.reports.pdf_common import (
    ACCENT,
    BODY,
    CONTENT_WIDTH,
    FONT,
    FONT_BOLD,
    HEADER_FILL,
    INK,
    LANDSCAPE,
    LANDSCAPE_CONTENT_WIDTH,
    NEGATIVE_INK,
    RULE,
    SMALL,
    TOTAL_FILL,
    ZEBRA,
    Command,
    PageDecor,
    SummaryBox,
    build_pdf,
    clinic_block,
    details_grid,
    escape,
    fit,
    flag_negative,
    frame_height,
    gap,
    grid_style,
    grid_table,
    heading,
    is_negative,
    local,
    signature_block,
    summary_boxes,
    warning_box,
)
from app.reports.shift_model import (
    CashCount,
    DenominationCount,
    DepositStatus,
    OpenDispute,
    PaymentRow,
    PayoutCheck,
    SettlementEta,
    ShiftReport,
    ShiftState,
    ShiftTotals,
    TakingsLine,
    payment_totals,
    takings_by_provider,
    uk_cash_count,
)

__all__ = [
    "CashCount",
    "DenominationCount",
    "DepositStatus",
    "OpenDispute",
    "PaymentRow",
    "PayoutCheck",
    "SettlementEta",
    "ShiftReport",
    "ShiftState",
    "ShiftTotals",
    "TakingsLine",
    "payment_totals",
    "render_shift_pdf",
    "takings_by_provider",
    "uk_cash_count",
]

PAYMENT_HEADER = [
    "Time",
    "Provider",
    "Method",
    "Reference",
    "Terminal",
    "Practitioner",
    "Gross",
    "Fee",
    "Net",
]
_PAY_WIDTHS = (62.0, 56.0, 70.0, 150.0, 96.0, 124.0, 64.0, 52.0, 64.0)  # landscape: 738 of 751 pt
_PAY_FONT_SIZE = 7.5
_PAY_HEADER_H = 14.0
_PAY_ROW_H = 11.0


def render_shift_pdf(report: ShiftReport, out: Path | BinaryIO, *, rows_per_table: int | None = None) -> None:
    """Write the shift report as PDF to a path or binary stream.

    ``rows_per_table`` overrides the page-sized chunks of the payments list (the benchmark uses
    it to compare against one single Table); leave it ``None`` otherwise.
    """
    tz = report.tz
    title = "Shift close-out report" if report.state is ShiftState.CLOSED else "Interim shift report"
    story: list[Flowable] = [*_title_block(report, title, tz), gap(8)]
    if report.state is ShiftState.OPEN:
        story += [
            warning_box("<b>Shift still open.</b> Figures are interim and will change until close."),
            gap(6),
        ]
    if report.provider_data_is_stale and report.provider_data_as_of is not None:
        as_of = report.provider_data_as_of.astimezone(tz).strftime("%H:%M")
        text = (
            f"<b>Provider data as of {as_of}.</b> Card takings, deposits and disputes may be incomplete; "
            "refresh from the providers before filing this report."
        )
        story += [warning_box(text), gap(6)]
    story += [summary_boxes(_summary(report))]
    story += _takings_section(report)
    story += _deposits_section(report)
    if report.cash is not None:
        story += _cash_section(report.cash)
    story += _disputes_section(report, tz)
    story += _settlements_section(report)
    story += [
        heading("Sign-off"),
        signature_block([("Closed by", report.closed_by), ("Checked by", report.checked_by)]),
    ]
    story += _payments_appendix(report, tz, rows_per_table)
    decor = PageDecor(
        running_title=f"{report.clinic.name} — {title}",
        reference=f"Shift {report.shift_ref}",
        footer_note=f"Generated {local(report.generated_at, tz)} by Clinic Billing Desk",
    )
    build_pdf(out, story, decor, title=f"{title} {report.shift_ref}", author=report.clinic.name)


def _title_block(report: ShiftReport, title: str, tz: ZoneInfo) -> list[Flowable]:
    end = local(report.period_end, tz) if report.period_end else "still open"
    subtitle = [
        f"Shift <b>{escape(report.shift_ref)}</b>",
        f"{report.state.value.capitalize()} · {escape(report.display_timezone)} time",
    ]
    details = details_grid(
        [
            ("Desk", report.desk),
            ("Period start", local(report.period_start, tz)),
            ("Terminal", report.terminal),
            ("Period end", end),
            ("Staff on shift", ", ".join(report.staff) or "—"),
            ("Currency", report.currency),
        ]
    )
    return [clinic_block(report.clinic, title, subtitle), gap(6), details]


def _summary(report: ShiftReport) -> list[SummaryBox]:
    totals = report.totals
    cash_diff = report.cash.difference if report.cash is not None else None
    deposits = report.deposits_difference
    awaiting = sum(1 for p in report.payouts if p.status is DepositStatus.AWAITING)
    disputed, expected = Money.zero(report.currency), Money.zero(report.currency)
    for p in report.payouts:
        expected = expected + p.expected
    for d in report.disputes:
        disputed = disputed + d.amount
    next_eta = min((s.expected_on for s in report.settlements), default=None)
    return [
        SummaryBox("Gross takings", str(totals.gross), f"{totals.count} payments"),
        SummaryBox("Provider fees", str(totals.fee)),
        SummaryBox("Net takings", str(totals.net)),
        SummaryBox(
            "Cash difference",
            str(cash_diff) if cash_diff is not None else "—",
            "counted − expected",
            negative=is_negative(cash_diff),
        ),
        SummaryBox(
            "Deposits difference",
            str(deposits),
            f"{awaiting} payout(s) awaiting" if awaiting else "all payouts received",
            negative=is_negative(deposits),
        ),
        SummaryBox("Open disputes", str(len(report.disputes)), f"{disputed} at stake"),
        SummaryBox("Next settlement", next_eta.strftime("%d %b %Y") if next_eta else "—"),
        SummaryBox("Expected deposits", str(expected), f"{len(report.payouts)} payout(s)"),
    ]


def _takings_section(report: ShiftReport) -> list[Flowable]:
    rows: list[list[Any]] = [["Provider", "Method", "Payments", "Gross", "Fees", "Net"]]
    rows += [[t.provider, t.method, str(t.count), str(t.gross), str(t.fee), str(t.net)] for t in report.takings]
    totals = report.totals
    rows.append(["Total", "", str(totals.count), str(totals.gross), str(totals.fee), str(totals.net)])
    cmds = grid_style(len(rows), total_row=True, right_cols=(2, 3, 4, 5))
    widths = _spread((1.4, 1.4, 0.8, 1.0, 1.0, 1.0))
    return [heading("Takings by provider and method"), grid_table(rows, widths, cmds)]


def _deposits_section(report: ShiftReport) -> list[Flowable]:
    if not report.payouts:
        return [heading("Expected and received deposits"), Paragraph("No payouts fall in this shift.", BODY)]
    rows: list[list[Any]] = [["Provider", "Payout reference", "Expected", "Received", "Difference", "Status"]]
    cmds: list[Command] = []
    expected, received = Money.zero(report.currency), Money.zero(report.currency)
    for i, p in enumerate(report.payouts, start=1):
        diff = p.difference
        rows.append([p.provider, p.payout_ref, str(p.expected), _opt(p.received), _opt(diff), p.status.value])
        expected = expected + p.expected
        if p.received is not None:
            received = received + p.received
        if is_negative(diff):
            flag_negative(cmds, 4, i)
            flag_negative(cmds, 5, i)
    rows.append(["Total", "", str(expected), str(received), str(report.deposits_difference), ""])
    if is_negative(report.deposits_difference):
        flag_negative(cmds, 4, len(rows) - 1)
    style = grid_style(len(rows), total_row=True, right_cols=(2, 3, 4)) + cmds
    widths = _spread((1.0, 1.7, 1.0, 1.0, 1.0, 0.8))
    return [heading("Expected and received deposits"), grid_table(rows, widths, style)]


def _cash_section(cash: CashCount) -> list[Flowable]:
    rows: list[list[Any]] = [["Denomination", "Count", "Value"]]
    rows += [[c.label, str(c.count), str(c.value)] for c in cash.counted]
    rows.append(["Counted", "", str(cash.counted_total)])
    count_table = Table(rows, colWidths=[30 * mm, 22 * mm, 30 * mm], hAlign="LEFT", rowHeights=[13.0] * len(rows))
    count_style = [
        *grid_style(len(rows), total_row=True, right_cols=(1, 2)),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
    ]
    count_table.setStyle(TableStyle(count_style))
    diff = cash.difference
    recon: list[list[Any]] = [
        ["Drawer reconciliation", ""],
        ["Opening float", str(cash.opening_float)],
        ["Expected in drawer", str(cash.expected_cash)],
        ["Counted", str(cash.counted_total)],
        ["Difference (counted − expected)", str(diff)],
    ]
    recon_cmds = [*grid_style(len(recon), right_cols=(1,)), ("FONT", (0, -1), (-1, -1), FONT_BOLD, 8)]
    if is_negative(diff):
        flag_negative(recon_cmds, 1, len(recon) - 1)
    recon_table = grid_table(recon, [58 * mm, 26 * mm], recon_cmds, repeat_header=False)
    reason = cash.difference_reason or ("None needed." if not diff else "No reason given.")
    side: list[Flowable] = [
        recon_table,
        gap(8),
        Paragraph("<b>Reason for difference</b>", SMALL),
        Paragraph(escape(reason), BODY),
    ]
    layout = Table([[count_table, side]], colWidths=[90 * mm, CONTENT_WIDTH - 90 * mm], hAlign="LEFT")
    layout.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    return [heading("Cash drawer"), layout]


def _disputes_section(report: ShiftReport, tz: ZoneInfo) -> list[Flowable]:
    if not report.disputes:
        return [heading("Open card disputes"), Paragraph("No open disputes.", BODY)]
    rows: list[list[Any]] = [["Provider", "Dispute", "Payment", "Amount", "Reason", "Evidence due"]]
    today = report.generated_at.astimezone(tz).date()
    cmds: list[Command] = []
    for i, d in enumerate(sorted(report.disputes, key=lambda d: d.evidence_due), start=1):
        rows.append(
            [
                d.provider,
                d.ref,
                d.payment_ref,
                str(d.amount),
                fit(d.reason, 100),
                d.evidence_due.strftime("%d %b %Y"),
            ]
        )
        if (d.evidence_due - today).days <= 3:
            cmds += [("TEXTCOLOR", (5, i), (5, i), NEGATIVE_INK), ("FONT", (5, i), (5, i), FONT_BOLD, 8)]
    style = grid_style(len(rows), right_cols=(3,)) + cmds
    return [heading("Open card disputes"), grid_table(rows, _spread((0.9, 1.3, 1.3, 0.8, 1.4, 0.9)), style)]


def _settlements_section(report: ShiftReport) -> list[Flowable]:
    if not report.settlements:
        return []
    rows: list[list[Any]] = [["Provider", "Amount still to settle", "Expected in bank"]]
    rows += [[s.provider, str(s.amount), s.expected_on.strftime("%a %d %b %Y")] for s in report.settlements]
    style = grid_style(len(rows), right_cols=(1,))
    return [heading("Settlement ETA"), grid_table(rows, _spread((1.0, 1.0, 1.0)), style)]


def _payments_appendix(report: ShiftReport, tz: ZoneInfo, rows_per_table: int | None) -> list[Flowable]:
    title = heading(f"Appendix — all payments in this shift ({len(report.payments)})")
    note = Paragraph(f"Times in {escape(report.display_timezone)}. Amounts: gross − fee = net.", SMALL)
    head: list[Flowable] = [NextPageTemplate(LANDSCAPE), PageBreak(), title, note, gap(4)]
    if not report.payments:
        return [*head, Paragraph("No payments were taken.", BODY)]
    page = frame_height(landscape=True)
    used = sum(f.wrap(LANDSCAPE_CONTENT_WIDTH, page)[1] + f.getSpaceAfter() for f in head[2:])
    rows = [_payment_cells(p, tz) for p in report.payments]
    totals = payment_totals(report.payments, report.currency)
    rows.append(
        [
            "Total",
            "",
            "",
            f"{totals.count} payments",
            "",
            "",
            str(totals.gross),
            str(totals.fee),
            str(totals.net),
        ]
    )
    tables: list[Flowable] = []
    start, room = 0, page - used
    while start < len(rows):
        size = rows_per_table or max(1, int((room - _PAY_HEADER_H - 2) // _PAY_ROW_H))
        tables.append(_payment_table(rows, start, min(start + size, len(rows)), report.payments))
        start, room = start + size, page
    return head + tables


def _payment_cells(p: PaymentRow, tz: ZoneInfo) -> list[str]:
    w = _PAY_WIDTHS
    return [
        p.taken_at.astimezone(tz).strftime("%d %b %H:%M"),
        fit(p.provider, w[1] - 6, size=_PAY_FONT_SIZE),
        fit(p.method, w[2] - 6, size=_PAY_FONT_SIZE),
        fit(p.ref, w[3] - 6, size=_PAY_FONT_SIZE),
        fit(p.terminal, w[4] - 6, size=_PAY_FONT_SIZE),
        fit(p.practitioner, w[5] - 6, size=_PAY_FONT_SIZE),
        str(p.gross),
        str(p.fee),
        str(p.net),
    ]


def _payment_table(rows: list[list[str]], start: int, stop: int, payments: tuple[PaymentRow, ...]) -> Table:
    """Rows ``start:stop`` under their own header; the last chunk carries the totals row."""
    body = rows[start:stop]
    last = stop == len(rows)
    cmds: list[Command] = [
        ("FONT", (0, 0), (-1, -1), FONT, _PAY_FONT_SIZE),
        ("FONT", (0, 0), (-1, 0), FONT_BOLD, _PAY_FONT_SIZE),
        ("ALIGN", (6, 0), (8, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 1),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("BACKGROUND", (0, 0), (-1, 0), HEADER_FILL),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, ACCENT),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, RULE),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, ZEBRA]),
    ]
    if last:
        cmds += [
            ("BACKGROUND", (0, -1), (-1, -1), TOTAL_FILL),
            ("FONT", (0, -1), (-1, -1), FONT_BOLD, _PAY_FONT_SIZE),
            ("LINEABOVE", (0, -1), (-1, -1), 0.8, INK),
        ]
    for offset, index in enumerate(range(start, min(stop, len(payments))), start=1):
        if payments[index].gross.minor < 0:
            cmds.append(("TEXTCOLOR", (6, offset), (8, offset), NEGATIVE_INK))
    table = Table(
        [PAYMENT_HEADER, *body],
        colWidths=list(_PAY_WIDTHS),
        rowHeights=[_PAY_HEADER_H] + [_PAY_ROW_H] * len(body),
        repeatRows=1,
        hAlign="LEFT",
    )
    table.setStyle(TableStyle(cmds))
    return table


def _opt(amount: Money | None) -> str:
    return "—" if amount is None else str(amount)


def _spread(weights: tuple[float, ...]) -> list[float]:
    """Column widths filling the content width in proportion to ``weights``."""
    whole = sum(weights)
    return [CONTENT_WIDTH * w / whole for w in weights]
