"""Treatwell polled through its sandbox end to end; the finance summary reaches a chat webhook once."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select

from app.archive import artefact_bytes
from app.audit import Actor
from app.claims.artefacts import ArtefactStore
from app.context import AppContext
from app.db.models import ImportedFile, OutboxMessage, Payout, PayoutLine
from app.domain.status import OutboxStatus, PayoutStatus, Role
from app.outbox import Dispatcher
from app.payouts.ledger_match import reconcile_received
from app.payouts.normalise import PARQUET_NAME
from app.payouts.notify import queue_finance_summary
from app.payouts.service import import_settlement
from app.routes import build_routes, poll_provider
from app.secrets import SecretStore
from sandboxes.treatwell import TreatwellSandbox
from sandboxes.webhook_sink import WebhookSink
from tests.payouts.samples import TW_PASSWORD, TW_USER
from tests.payouts_flow.conftest import add_sales, configure
from tests.support.memory_keyring import MemoryKeyring

FINANCE = Actor(None, "finance", Role.FINANCE)
STATEMENT = (Path(__file__).parents[2] / "resources/marketplaces/treatwell-settlement-sample.csv").read_bytes()

# The sample statement TW-ST-1001 has five lines: TWB-88001..88004 and a late-cancellation refund TWB-87950.
TREATWELL_SALES = [
    ("treatwell", "TWB-88001", "CUST-4411", date(2026, 3, 2), 6500),  # booking id, exact
    ("treatwell", "TW-DESK-2", "CUST-4412", date(2026, 3, 3), 8500),  # other id: patient + date + amount
    ("treatwell", "TWB-88003", "CUST-4413", date(2026, 3, 4), 5000),  # £5 less than the line: variance
    ("treatwell", "TWB-88004", "CUST-4411", date(2026, 3, 6), 13000),  # booking id, exact
]  # the refund line has no sale


@pytest.fixture
def treatwell() -> Iterator[TreatwellSandbox]:
    with TreatwellSandbox(TW_USER, TW_PASSWORD) as sandbox:
        yield sandbox


def count(ctx: AppContext, model: type) -> int:
    with ctx.db.read() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_treatwell_sandbox_end_to_end(clinic: AppContext, treatwell: TreatwellSandbox) -> None:
    ctx = clinic
    add_sales(ctx, TREATWELL_SALES)
    ctx.secrets = SecretStore(backend=MemoryKeyring())
    ctx.secrets.set("treatwell.password", TW_PASSWORD)
    configure(ctx, endpoints={"treatwell": treatwell.base_url}, payouts__accounts={"treatwell": {"username": TW_USER}})
    params = {"id": "TW-ST-1001", "payout_date": "2026-11-20", "currency": "GBP", "total_net": "206.08"}
    httpx.post(f"{treatwell.base_url}/_sandbox/statements", params=params, content=STATEMENT, timeout=5)

    report = poll_provider(ctx, "treatwell")

    assert report.startswith("treatwell: 1 file(s), 1 new; 1 payout(s) reconciled (3 matched, 2 variance)"), report
    with ctx.db.read() as s:
        (file,) = s.scalars(select(ImportedFile))
        (payout,) = s.scalars(select(Payout))
        store = ArtefactStore(ctx.paths.archive)
        raw = artefact_bytes(s, store, "imported_file", file.id, "treatwell-settlement.csv")
        parquet = artefact_bytes(s, store, "imported_file", file.id, PARQUET_NAME)
        lines = [
            (ln.booking_id, ln.status, ln.match_rule, ln.variance_minor)
            for ln in s.scalars(select(PayoutLine).order_by(PayoutLine.id))
        ]
    assert raw == STATEMENT  # downloaded and archived byte for byte
    assert file.kind == "treatwell_csv" and file.sha256 == payout.raw_sha256 == hashlib.sha256(STATEMENT).hexdigest()
    assert parquet is not None and pq.read_table(io.BytesIO(parquet)).num_rows == 5  # normalised
    assert (payout.source, payout.provider_ref, payout.payout_date) == ("treatwell", "TW-ST-1001", date(2026, 3, 10))
    assert payout.status is PayoutStatus.HELD  # £5 variance + £55 refund with no sale > the £50 batch limit
    assert payout.held_reason == "variances of £60.00 exceed the limit of £50.00"
    assert [(b, st, rule) for b, st, rule, _ in lines] == [
        ("TWB-88001", "matched", "booking_id"),
        ("TWB-88002", "matched", "patient_date_amount"),
        ("TWB-88003", "variance", "booking_id"),
        ("TWB-88004", "matched", "booking_id"),
        ("TWB-87950", "unmatched", ""),
    ]
    assert lines[2][3] == 500

    again = poll_provider(ctx, "treatwell")  # the statement is still listed: recognised, nothing added

    assert again.startswith("treatwell: 1 file(s), 0 new; 0 payout(s) reconciled"), again
    assert (count(ctx, ImportedFile), count(ctx, Payout), count(ctx, PayoutLine)) == (1, 1, 5)


def test_finance_summary_reaches_the_staff_webhook_once(clinic: AppContext, payout_file: bytes) -> None:
    ctx = clinic
    with WebhookSink() as sink:
        configure(ctx, endpoints={"staff_webhook": f"{sink.url}/hooks/finance"})
        import_settlement(ctx, FINANCE, "classpass", "po.json", payout_file)
        reconcile_received(ctx, FINANCE)  # a £5 variance: queues the finance summary
        with ctx.db.unit_of_work() as s:  # the same summary queued again (e.g. a second run today)
            queue_finance_summary(s, ctx.clock, FINANCE)

        first = Dispatcher(ctx.db, ctx.clock, build_routes(ctx)).run_once()
        second = Dispatcher(ctx.db, ctx.clock, build_routes(ctx)).run_once()

        assert (first.sent, second.sent) == (1, 0), (first.errors, second.errors)
        (post,) = sink.received
    assert post.path == "/hooks/finance"
    assert post.headers["Idempotency-Key"].startswith("payout-summary:webhook:")
    text = post.payload["text"]
    assert text.startswith("*Payouts: 1 variance(s), 0 held*\nOutstanding payout variances: 1 (total £5.00).")
    assert "classpass po_2026_03_001, booking CPB-1003: differs by £5.00" in text
    with ctx.db.read() as s:
        (msg,) = s.scalars(select(OutboxMessage))
    assert msg.kind == "notify.webhook" and msg.status is OutboxStatus.SENT
