"""Square connector against the Square sandbox on loopback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from app.connectors.square_cards import SquareCardProcessor
from app.errors import PermanentError, TransientError
from app.money import Money
from tests.cards.conftest import SQUARE_TOKEN, Sandbox


def _window() -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    return now - timedelta(hours=1), now + timedelta(hours=1)


def _pay(sq: Sandbox, amount: int, **extra: object) -> str:
    response = httpx.post(f"{sq.base_url}/_sandbox/payments", json={"amount": amount, **extra})
    return str(response.json()["payment"]["id"])


@pytest.fixture
def square(square_sandbox: Sandbox) -> SquareCardProcessor:
    return SquareCardProcessor(SQUARE_TOKEN, square_sandbox.base_url)


def test_payments_with_fees_device_and_card(square_sandbox: Sandbox, square: SquareCardProcessor) -> None:
    ids = [
        _pay(square_sandbox, a, device_id="device:front-desk-2", fingerprint="sq-1-abc") for a in (4500, 6000, 12000)
    ]

    payments = {p.provider_ref: p for p in square.list_payments(*_window())}  # page size 2: follows cursor

    ours = [payments[i] for i in ids]
    # Square UK in-person fee 1.75 %, rounded half up, as given in processing_fee.
    assert [(p.gross.minor, p.fee.minor, p.net.minor) for p in ours] == [
        (4500, 79, 4421),
        (6000, 105, 5895),
        (12000, 210, 11790),
    ]
    assert {p.terminal_id for p in ours} == {"device:front-desk-2"}
    assert {p.card_fingerprint for p in ours} == {"sq-1-abc"}
    assert {(p.status, p.method, p.gross.currency) for p in ours} == {("COMPLETED", "card_present", "GBP")}


def test_payments_outside_the_window_are_left_out(square_sandbox: Sandbox, square: SquareCardProcessor) -> None:
    yesterday = datetime.now(UTC) - timedelta(days=1)
    old = _pay(square_sandbox, 1000, created_at=yesterday.isoformat().replace("+00:00", "Z"))

    assert old not in {p.provider_ref for p in square.list_payments(*_window())}
    assert old in {
        p.provider_ref for p in square.list_payments(yesterday - timedelta(hours=1), yesterday + timedelta(hours=1))
    }


def test_refund_once_per_key_even_after_a_crash(square_sandbox: Sandbox, square: SquareCardProcessor) -> None:
    payment = _pay(square_sandbox, 8000)

    first = square.create_refund(payment, Money(2500, "GBP"), "outbox-s1")
    again = square.create_refund(payment, Money(2500, "GBP"), "outbox-s1")
    after_restart = SquareCardProcessor(SQUARE_TOKEN, square_sandbox.base_url).create_refund(
        payment, Money(2500, "GBP"), "outbox-s1"
    )

    refunds = [r for r in square_sandbox.sandbox.state.refunds.values() if r["payment_id"] == payment]
    assert len(refunds) == 1
    assert first.provider_ref == again.provider_ref == after_restart.provider_ref == refunds[0]["id"]
    assert first.amount == Money(2500, "GBP") and first.payment_ref == payment
    assert square.find_refund("outbox-s1") == first
    assert first in square.list_refunds(*_window())


def test_square_itself_honours_the_idempotency_key(square_sandbox: Sandbox) -> None:
    payment = _pay(square_sandbox, 5000)
    headers = {"Authorization": f"Bearer {SQUARE_TOKEN}"}
    body = {
        "idempotency_key": "raw-key-1",
        "payment_id": payment,
        "amount_money": {"amount": 500, "currency": "GBP"},
    }

    one = httpx.post(f"{square_sandbox.base_url}/v2/refunds", json=body, headers=headers).json()
    two = httpx.post(f"{square_sandbox.base_url}/v2/refunds", json=body, headers=headers).json()
    other = httpx.post(
        f"{square_sandbox.base_url}/v2/refunds",
        headers=headers,
        json=body | {"amount_money": {"amount": 600, "currency": "GBP"}},
    )

    assert one["refund"]["id"] == two["refund"]["id"]
    assert other.status_code == 400 and other.json()["errors"][0]["code"] == "IDEMPOTENCY_KEY_REUSED"


def test_refund_above_what_is_left_is_permanent(square_sandbox: Sandbox, square: SquareCardProcessor) -> None:
    payment = _pay(square_sandbox, 3000)

    with pytest.raises(PermanentError, match="exceeds the amount available to refund") as caught:
        square.create_refund(payment, Money(3001, "GBP"), "outbox-s2")
    assert isinstance(caught.value.__cause__, httpx.HTTPStatusError)


def test_payout_entries_gross_fee_net(square_sandbox: Sandbox, square: SquareCardProcessor) -> None:
    paid = _pay(square_sandbox, 4500)
    disputed = _pay(square_sandbox, 6000)
    refund = square.create_refund(paid, Money(1000, "GBP"), "outbox-s3")
    dispute = httpx.post(f"{square_sandbox.base_url}/_sandbox/disputes", json={"payment_id": disputed}).json()
    payout = httpx.post(f"{square_sandbox.base_url}/_sandbox/payouts", json={"currency": "GBP"}).json()["payout"]

    payouts = {p.provider_ref: p for p in square.list_payouts(*_window())}
    entries = square.list_payout_entries(payout["id"])

    assert payouts[payout["id"]].amount == Money(payout["amount_money"]["amount"], "GBP")
    assert payouts[payout["id"]].status == "PAID"
    got = {(e.entry_type, e.source_ref): (e.gross.minor, e.fee.minor, e.net.minor) for e in entries}
    assert got[("charge", paid)] == (4500, 79, 4421)
    assert got[("charge", disputed)] == (6000, 105, 5895)
    assert got[("refund", refund.provider_ref)] == (-1000, 0, -1000)
    assert got[("dispute", dispute["dispute"]["id"])] == (-6000, 0, -6000)
    assert sum(e.net.minor for e in entries) == payout["amount_money"]["amount"]


def test_disputes_with_due_date(square_sandbox: Sandbox, square: SquareCardProcessor) -> None:
    payment = _pay(square_sandbox, 7000)
    due = datetime(2030, 1, 15, 23, 59, tzinfo=UTC)
    opened = httpx.post(
        f"{square_sandbox.base_url}/_sandbox/disputes",
        json={"payment_id": payment, "reason": "NO_KNOWLEDGE", "due_at": "2030-01-15T23:59:00Z"},
    ).json()["dispute"]

    disputes = {d.provider_ref: d for d in square.list_disputes(*_window())}

    dispute = disputes[opened["id"]]
    assert (dispute.payment_ref, dispute.amount, dispute.reason, dispute.status) == (
        payment,
        Money(7000, "GBP"),
        "NO_KNOWLEDGE",
        "EVIDENCE_REQUIRED",
    )
    assert dispute.evidence_due_by == due


def test_service_unavailable_is_transient_then_recovers(square_sandbox: Sandbox, square: SquareCardProcessor) -> None:
    httpx.post(f"{square_sandbox.base_url}/_sandbox/fail", json={"count": 1})

    with pytest.raises(TransientError, match="503") as caught:
        square.list_payments(*_window())
    assert isinstance(caught.value.__cause__, httpx.HTTPStatusError)
    assert isinstance(square.list_payments(*_window()), list)


def test_wrong_token_is_permanent_and_not_echoed(square_sandbox: Sandbox) -> None:
    with pytest.raises(PermanentError, match="could not be authorized") as caught:
        SquareCardProcessor("wrong-token-123", square_sandbox.base_url).list_refunds(*_window())
    assert "wrong-token-123" not in str(caught.value)


def test_same_key_with_another_amount_is_refused(square_sandbox: Sandbox, square: SquareCardProcessor) -> None:
    payment = _pay(square_sandbox, 5000)
    square.create_refund(payment, Money(1000, "GBP"), "outbox-s4")

    with pytest.raises(PermanentError, match=r"already made for £10\.00, not £9\.00"):
        square.create_refund(payment, Money(900, "GBP"), "outbox-s4")
