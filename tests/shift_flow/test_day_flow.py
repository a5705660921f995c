"""A clinic day at Stripe (localstripe + gaps) and Square: payments, refunds, disputes, payouts →
shifts, settlement against the bank, the close-out and its PDF, all checked to the penny."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from pypdf import PdfReader
from sqlalchemy import func, select

from app.connectors.square_cards import SquareCardProcessor
from app.db.models import Dispute, Payment, Payout, PayoutLine, Refund, Shift, Task
from app.domain.status import DisputeStatus, PaymentStatus, PayoutStatus, ShiftStatus
from app.imports.csv_mapping import ColumnMapping
from app.money import Money
from app.settings import set_setting
from app.shifts.bank import import_bank_file
from app.shifts.exports import pos_payments
from app.shifts.report import shift_report_pdf
from app.shifts.service import close_shift, summarise
from app.shifts.settlement import settlement_diff_csv, settlement_rows
from app.shifts.sync import poll
from sandboxes.localstripe_server import seed_card_day
from sandboxes.stripe_gaps import open_dispute, pay_out
from tests.shift_flow.conftest import SQUARE_DEVICE, SQUARE_TOKEN, Desk, SquareBox
from tests.shift_flow.helpers import LONDON, at, square_control, square_fee, square_payment, stripe_fee
from tests.shift_flow.stripe_process import StripeProcess

SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"
STRIPE_AMOUNTS = (4500, 6000, 12000, 3550)
SQUARE_MORNING = (5000, 7250, 3000)
SQUARE_AFTERNOON = 9999


def _counts(desk: Desk) -> dict[str, int]:
    with desk.ctx.db.read() as s:
        return {
            m.__name__: int(s.scalar(select(func.count()).select_from(m)) or 0)
            for m in (Payment, Refund, Payout, PayoutLine, Dispute, Shift, Task)
        }


def _seed_day(desk: Desk, stripe: StripeProcess, square: SquareBox) -> dict[str, Any]:
    today = desk.clock.now().astimezone(LONDON).date()
    yesterday = today - timedelta(days=1)
    day = seed_card_day(stripe.api_base, amounts=STRIPE_AMOUNTS, refund_first=1500)
    stripe_dispute = open_dispute(stripe.api_base, day.charges[2], reason="fraudulent")
    stripe_payout = pay_out(stripe.api_base, "gbp")
    morning = [
        square_payment(square.base_url, a, at(yesterday, 9 + i * 2, 20), SQUARE_DEVICE)
        for i, a in enumerate(SQUARE_MORNING)
    ]
    afternoon = square_payment(square.base_url, SQUARE_AFTERNOON, at(yesterday, 15, 30), SQUARE_DEVICE)
    SquareCardProcessor(SQUARE_TOKEN, square.base_url).create_refund(morning[0], Money(1000), "desk-refund-1")
    sq_dispute = square_control(square.base_url, "disputes", {"payment_id": morning[1], "reason": "NOT_AS_DESCRIBED"})
    sq_payout = square_control(square.base_url, "payouts", {"currency": "GBP"})
    return {
        "today": today,
        "yesterday": yesterday,
        "stripe": day,
        "stripe_dispute": stripe_dispute,
        "stripe_payout": stripe_payout,
        "morning": morning,
        "afternoon": afternoon,
        "square_dispute": sq_dispute["dispute"],
        "square_payout": sq_payout["payout"],
    }


def _shift_of(desk: Desk, provider_ref: str) -> int:
    with desk.ctx.db.read() as s:
        shift_id = s.scalar(select(Payment.shift_id).where(Payment.provider_ref == provider_ref))
    assert shift_id is not None
    return shift_id


def test_a_day_of_card_takings_to_shifts_payouts_settlement_and_pdf(
    desk: Desk, stripe_proc: StripeProcess, square: SquareBox
) -> None:
    seeded = _seed_day(desk, stripe_proc, square)
    stripe_day = seeded["stripe"]
    ctx = desk.ctx

    assert poll(ctx, "stripe").startswith("stripe: 4 new payment(s), 1 refund(s), 1 payout(s), 1 new dispute(s)")
    assert poll(ctx, "square").startswith("square: 4 new payment(s), 1 refund(s), 1 payout(s), 1 new dispute(s)")
    first = _counts(desk)
    assert first["Payment"] == 8 and first["Refund"] == 2 and first["Payout"] == 2 and first["Dispute"] == 2

    # ---- re-polling the same window adds nothing
    assert "0 new payment(s), 0 refund(s), 0 payout(s), 0 new dispute(s)" in poll(ctx, "stripe")
    assert "0 new payment(s), 0 refund(s), 0 payout(s), 0 new dispute(s)" in poll(ctx, "square")
    assert _counts(desk) == first

    # ---- every payment in exactly one shift, by the schedule (London time)
    morning, afternoon = seeded["morning"], seeded["afternoon"]
    early_yday = {_shift_of(desk, ref) for ref in morning}
    assert len(early_yday) == 1
    late_yday = _shift_of(desk, afternoon)
    stripe_shift = {_shift_of(desk, ref) for ref in stripe_day.payment_intents}
    assert len(stripe_shift) == 1
    today_shift = stripe_shift.pop()
    with ctx.db.read() as s:
        shifts = {sh.id: sh for sh in s.scalars(select(Shift))}
    early = shifts[early_yday.pop()]
    assert early.starts_at == at(seeded["yesterday"], 8, 0) and early.ends_at == at(seeded["yesterday"], 14, 0)
    assert shifts[late_yday].starts_at == at(seeded["yesterday"], 14, 0)
    now_local = desk.clock.now().astimezone(LONDON)
    assert shifts[today_shift].starts_at == at(seeded["today"], 8 if now_local.hour < 14 else 14, 0)

    # ---- shift totals, summed independently from the seeded amounts and the published fee rules
    with ctx.db.read() as s:
        yday = summarise(s, early.id)
        late = summarise(s, late_yday)
        today = summarise(s, today_shift)
    assert (yday.card_gross.minor, yday.card_fees.minor) == (
        sum(SQUARE_MORNING),
        sum(square_fee(a) for a in SQUARE_MORNING),
    )
    assert (late.card_gross.minor, late.card_fees.minor) == (SQUARE_AFTERNOON, square_fee(SQUARE_AFTERNOON))
    assert today.card_gross.minor == sum(STRIPE_AMOUNTS) == 26050
    assert today.card_fees.minor == sum(stripe_fee(a) for a in STRIPE_AMOUNTS) == 471
    assert today.card_refunds.minor == 1500 + 1000  # both refunds were made today at this desk
    assert today.expected_deposit.minor == 26050 - 471 - 2500
    assert [(t.provider, t.count) for t in today.takings] == [("stripe", 4)]
    assert today.open_disputes == 1 and yday.open_disputes == 1

    # ---- payouts, each matched to its payments, amounts as the providers computed them
    stripe_expected = sum(a - stripe_fee(a) for a in STRIPE_AMOUNTS) - 1500 - 12000 - 2000
    square_expected = sum(a - square_fee(a) for a in (*SQUARE_MORNING, SQUARE_AFTERNOON)) - 1000 - 7250
    with ctx.db.read() as s:
        payouts = {p.source: p for p in s.scalars(select(Payout))}
        assert payouts["stripe"].expected_minor == stripe_expected == 10079
        assert payouts["square"].expected_minor == square_expected
        assert payouts["stripe"].provider_ref == seeded["stripe_payout"]["id"]
        lines = s.scalars(select(PayoutLine).where(PayoutLine.payout_id == payouts["stripe"].id)).all()
        assert sorted(ln.entry_type for ln in lines) == ["charge"] * 4 + ["dispute", "refund"]
        assert all(ln.payment_id is not None and ln.status == "matched" for ln in lines)
        assert sum(ln.net_minor for ln in lines) == stripe_expected
        paid_out = s.scalars(select(Payment.provider_ref).where(Payment.payout_id == payouts["stripe"].id)).all()
        assert sorted(paid_out) == sorted(stripe_day.payment_intents)

    # ---- disputes: operations role, checklist, provider deadline, a task; payment marked disputed
    with ctx.db.read() as s:
        disputes = {d.provider: d for d in s.scalars(select(Dispute))}
        tasks = s.scalars(select(Task).where(Task.kind == "card_dispute")).all()
        assert {d.owner_role for d in disputes.values()} == {"manager"}
        assert disputes["stripe"].due_at is not None
        assert int(disputes["stripe"].due_at.timestamp()) == seeded["stripe_dispute"]["evidence_details"]["due_by"]
        assert len(json.loads(disputes["stripe"].checklist_json)) >= 3
        assert "chip & PIN" in disputes["stripe"].checklist_json
        assert len(tasks) == 2 and {t.entity_id for t in tasks} == {d.id for d in disputes.values()}
        disputed = s.get(Payment, disputes["stripe"].payment_id)
        assert disputed is not None and disputed.status is PaymentStatus.DISPUTED and disputed.gross_minor == 12000

    # ---- bank statement: Stripe arrives in full, Square £1.00 short → settlement-diff.csv
    stripe_day_arrival = payouts["stripe"].payout_date
    square_arrival = payouts["square"].payout_date
    mapping = ColumnMapping(
        "test bank",
        {"posted_on": "Date", "amount": "Amount", "description": "Description", "reference": "Reference"},
        date_formats=("%d/%m/%Y",),
    )
    with ctx.db.unit_of_work() as s:
        set_setting(s, desk.clock, desk.manager, "csv_mappings.bank", {"current account": mapping.to_dict()})
    bank_csv = (
        "Date,Description,Reference,Amount\n"
        f"{stripe_day_arrival:%d/%m/%Y},STRIPE PAYMENTS UK LTD,STRIPE,{Money(stripe_expected).amount}\n"
        f"{square_arrival:%d/%m/%Y},SQUARE PAYMENTS,SQ PAYOUT,{Money(square_expected - 100).amount}\n"
        f"{square_arrival:%d/%m/%Y},RENT DEPOSIT,LANDLORD,-1500.00\n"
    ).encode()
    result = import_bank_file(ctx, desk.manager, "statement.csv", bank_csv)
    assert (result.new_lines, result.payouts_matched) == (3, 2)
    with ctx.db.read() as s:
        rows = settlement_rows(s)
    diff = list(csv.DictReader(io.StringIO(settlement_diff_csv(rows).decode())))
    by_provider = {r["provider"]: r for r in diff}
    assert by_provider["stripe"]["expected"] == by_provider["stripe"]["received"] == str(Money(stripe_expected).amount)
    assert by_provider["stripe"]["difference"] == "0.00" and by_provider["stripe"]["status"] == PayoutStatus.MATCHED
    assert by_provider["square"]["difference"] == "-1.00" and by_provider["square"]["status"] == PayoutStatus.VARIANCE
    assert by_provider["square"]["entries_net"] == str(Money(square_expected).amount)
    assert by_provider["stripe"]["payments"] == "4" and by_provider["square"]["payments"] == "4"

    # ---- close today's shift with a denomination count, then the PDF
    with ctx.db.read() as s:
        exported = pos_payments(s, today_shift)
    assert [p["gross"] for p in exported] == [str(Money(a).amount) for a in STRIPE_AMOUNTS]
    closed = close_shift(ctx.db, desk.clock, desk.manager, today_shift, counts={2000: 4, 1000: 2})
    assert closed.status is ShiftStatus.CLOSED and closed.cash_difference == Money(0)
    pdf = shift_report_pdf(ctx, today_shift)
    out = Path(ctx.paths.data) / "shift-report.pdf"
    out.write_bytes(pdf)
    text = "\n".join(page.extract_text() for page in PdfReader(out).pages)
    for expected in (
        "Shift close-out report",
        "Harbour Physio",
        "Front desk",
        str(Money(26050)),  # gross takings
        str(Money(471)),  # fees
        str(Money(26050 - 471)),  # net
        str(Money(stripe_expected)),  # expected deposit of the Stripe payout
        seeded["stripe_payout"]["id"],
        "Mo Manager",
        *stripe_day.payment_intents,
    ):
        assert expected in text, f"{expected!r} missing from the PDF"
    assert "fraudulent" in text and seeded["stripe_dispute"]["id"] in text
    assert shutil.which("pdftoppm"), "pdftoppm is needed for the page picture: apt-get install -y poppler-utils"
    stem = Path(ctx.paths.data) / "page"
    subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", str(out), str(stem)], check=True)
    png = sorted(stem.parent.glob("page*.png"))[0]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    SCREENSHOTS.mkdir(exist_ok=True)
    shutil.copyfile(png, SCREENSHOTS / "shift-close-out-report.png")

    # ---- statuses followed to won / lost
    httpx.post(
        f"{stripe_proc.api_base}/_gaps/disputes/{seeded['stripe_dispute']['id']}",
        json={"status": "won"},
        timeout=10,
    ).raise_for_status()
    square.sandbox.state.disputes[seeded["square_dispute"]["id"]]["state"] = "LOST"
    poll(ctx, "stripe")
    poll(ctx, "square")
    with ctx.db.read() as s:
        disputes = {d.provider: d for d in s.scalars(select(Dispute))}
        assert disputes["stripe"].status is DisputeStatus.WON and disputes["square"].status is DisputeStatus.LOST
        assert {t.status.value for t in s.scalars(select(Task).where(Task.kind == "card_dispute"))} == {"done"}
        assert s.get(Payment, disputes["stripe"].payment_id).status is PaymentStatus.SUCCEEDED
        assert s.get(Payment, disputes["square"].payment_id).status is PaymentStatus.REFUNDED
