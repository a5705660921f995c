"""ClassPass via its sandbox end to end; the finance summary reaches a real SMTP server through the outbox."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from app.audit import Actor
from app.context import AppContext
from app.db.models import ImportedFile, OutboxMessage, Payout, Task
from app.domain.status import OutboxStatus, PayoutStatus, Role
from app.outbox import Dispatcher
from app.payouts.ledger_match import reconcile_received
from app.payouts.service import import_settlement
from app.routes import build_routes, poll_provider
from sandboxes.classpass import ClassPassSandbox
from tests.notify.conftest import SmtpServer
from tests.payouts.samples import PARTNER, classpass_payout
from tests.payouts_flow.conftest import configure

FINANCE = Actor(None, "finance", Role.FINANCE)


def test_classpass_sandbox_end_to_end(keyring_ctx: AppContext, classpass: ClassPassSandbox) -> None:
    ctx = keyring_ctx
    body = classpass_payout("po_2026_11_001", "2026-03-09")
    httpx.post(
        f"{classpass.base_url}/_sandbox/payouts",
        params={"created_at": "2026-11-19T10:00:00+00:00"},
        content=body,
        timeout=5,
    ).raise_for_status()
    configure(
        ctx, endpoints={"classpass": classpass.base_url}, payouts__accounts={"classpass": {"partner_id": PARTNER}}
    )

    report = poll_provider(ctx, "classpass")

    assert report.startswith("classpass: 1 file(s), 1 new; 1 payout(s) reconciled (2 matched, 1 variance)")
    with ctx.db.read() as s:
        (payout,) = s.scalars(select(Payout))
        (file,) = s.scalars(select(ImportedFile))
    assert payout.provider_ref == "po_2026_11_001" and payout.status is PayoutStatus.VARIANCE
    assert file.kind == "classpass_json" and file.sha256 == payout.raw_sha256

    again = poll_provider(ctx, "classpass")  # the hourly catch-up finds nothing new

    assert again.startswith("classpass: 0 file(s), 0 new; 0 payout(s)")
    with ctx.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Payout)) == 1


def test_finance_summary_reaches_smtp_through_the_outbox(
    clinic: AppContext, payout_file: bytes, smtp_server: SmtpServer
) -> None:
    ctx = clinic
    configure(
        ctx,
        endpoints={"smtp": f"{smtp_server.host}:{smtp_server.port}"},
        notify__email={"sender": "desk@clinic.example"},
        payouts__finance_email="finance@clinic.example",
    )
    import_settlement(ctx, FINANCE, "classpass", "po.json", payout_file)
    reconcile_received(ctx, FINANCE)

    report = Dispatcher(ctx.db, ctx.clock, build_routes(ctx)).run_once()

    assert report.sent == 1, report.errors
    (mail,) = smtp_server.mailbox.messages
    assert mail["To"] == "finance@clinic.example" and mail["Subject"] == "Payouts: 1 variance(s), 0 held"
    text = mail.get_content()
    assert "classpass po_2026_03_001, booking CPB-1003: differs by £5.00" in text
    assert Dispatcher(ctx.db, ctx.clock, build_routes(ctx)).run_once().sent == 0  # sent once
    with ctx.db.read() as s:
        (msg,) = s.scalars(select(OutboxMessage))
        summary = s.scalar(select(Task).where(Task.kind == "payout_summary"))
    assert msg.kind == "notify.email" and msg.status is OutboxStatus.SENT
    assert summary is not None and summary.owner_role == "finance" and "CPB-1003" in summary.detail
