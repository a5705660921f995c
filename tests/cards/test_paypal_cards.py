"""PayPal connector against the PayPal sandbox on loopback: partial refunds, exactly once, errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from app.clock import FixedClock
from app.connectors.paypal_cards import PayPalCardProcessor
from app.errors import PermanentError, TransientError
from app.money import Money
from tests.cards.conftest import PAYPAL_CLIENT, PAYPAL_SECRET, Sandbox


def _window() -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    return now - timedelta(hours=1), now + timedelta(hours=1)


def _capture(pp: Sandbox, value: str) -> str:
    return str(httpx.post(f"{pp.base_url}/_sandbox/captures", json={"value": value}).json()["id"])


def _refunds_of(pp: Sandbox, capture: str) -> list[dict[str, object]]:
    return [r for r in pp.sandbox.state.refunds.values() if r["_capture"] == capture]


@pytest.fixture
def paypal(paypal_sandbox: Sandbox) -> PayPalCardProcessor:
    return PayPalCardProcessor(PAYPAL_CLIENT, PAYPAL_SECRET, paypal_sandbox.base_url)


def test_partial_refund(paypal_sandbox: Sandbox, paypal: PayPalCardProcessor) -> None:
    capture = _capture(paypal_sandbox, "45.00")

    refund = paypal.create_refund(capture, Money(1000, "GBP"), "outbox-p1")

    assert (refund.amount, refund.payment_ref, refund.status) == (Money(1000, "GBP"), capture, "COMPLETED")
    assert paypal_sandbox.sandbox.state.captures[capture]["status"] == "PARTIALLY_REFUNDED"


def test_over_refund_is_permanent_with_a_clear_message(paypal_sandbox: Sandbox, paypal: PayPalCardProcessor) -> None:
    capture = _capture(paypal_sandbox, "45.00")
    paypal.create_refund(capture, Money(1000, "GBP"), "outbox-p2")

    with pytest.raises(PermanentError) as caught:
        paypal.create_refund(capture, Money(3501, "GBP"), "outbox-p3")

    assert "more than what is left to refund" in str(caught.value)
    assert "REFUND_AMOUNT_EXCEEDED" in str(caught.value)
    assert isinstance(caught.value.__cause__, httpx.HTTPStatusError)
    assert len(_refunds_of(paypal_sandbox, capture)) == 1


def test_retry_with_the_same_key_refunds_once(paypal_sandbox: Sandbox, paypal: PayPalCardProcessor) -> None:
    capture = _capture(paypal_sandbox, "60.00")

    first = paypal.create_refund(capture, Money(2000, "GBP"), "outbox-p4")
    restarted = PayPalCardProcessor(PAYPAL_CLIENT, PAYPAL_SECRET, paypal_sandbox.base_url)
    again = restarted.create_refund(capture, Money(2000, "GBP"), "outbox-p4")

    assert first.provider_ref == again.provider_ref
    assert len(_refunds_of(paypal_sandbox, capture)) == 1
    assert paypal.find_refund("outbox-p4") == again


def test_request_id_alone_protects_when_the_search_misses(paypal_sandbox: Sandbox) -> None:
    capture = _capture(paypal_sandbox, "30.00")
    PayPalCardProcessor(PAYPAL_CLIENT, PAYPAL_SECRET, paypal_sandbox.base_url).create_refund(
        capture, Money(500, "GBP"), "outbox-p5"
    )
    # A clock 40 days ahead makes the metadata search look past the refund: only PayPal-Request-Id is left.
    later = FixedClock(datetime.now(UTC) + timedelta(days=40))
    blind = PayPalCardProcessor(PAYPAL_CLIENT, PAYPAL_SECRET, paypal_sandbox.base_url, clock=later)

    assert blind.find_refund("outbox-p5") is None
    blind.create_refund(capture, Money(500, "GBP"), "outbox-p5")
    assert len(_refunds_of(paypal_sandbox, capture)) == 1


def test_payments_and_refunds_from_transaction_search(paypal_sandbox: Sandbox, paypal: PayPalCardProcessor) -> None:
    capture = _capture(paypal_sandbox, "45.00")
    refund = paypal.create_refund(capture, Money(450, "GBP"), "outbox-p6")

    payments = {p.provider_ref: p for p in paypal.list_payments(*_window())}
    refunds = {r.provider_ref: r for r in paypal.list_refunds(*_window())}

    # PayPal UK 2.9 % + 30p on £45.00 = £1.605, rounded half up to £1.61.
    assert (payments[capture].gross, payments[capture].fee, payments[capture].net) == (
        Money(4500, "GBP"),
        Money(161, "GBP"),
        Money(4339, "GBP"),
    )
    assert refunds[refund.provider_ref].payment_ref == capture
    assert refunds[refund.provider_ref].amount == Money(450, "GBP")
    assert refunds[refund.provider_ref].metadata == {"outbox_id": "outbox-p6"}


def test_not_tracked_at_paypal_returns_empty(paypal: PayPalCardProcessor) -> None:
    assert paypal.list_payouts(*_window()) == []
    assert paypal.list_payout_entries("anything") == []
    assert paypal.list_disputes(*_window()) == []


def test_service_unavailable_is_transient(paypal_sandbox: Sandbox, paypal: PayPalCardProcessor) -> None:
    capture = _capture(paypal_sandbox, "20.00")
    paypal.list_refunds(*_window())  # token fetched
    httpx.post(f"{paypal_sandbox.base_url}/_sandbox/fail", json={"count": 1})

    with pytest.raises(TransientError, match="503"):
        paypal.create_refund(capture, Money(100, "GBP"), "outbox-p7")
    assert paypal.create_refund(capture, Money(100, "GBP"), "outbox-p7").amount == Money(100, "GBP")
    assert len(_refunds_of(paypal_sandbox, capture)) == 1


def test_wrong_secret_is_permanent_and_not_echoed(paypal_sandbox: Sandbox) -> None:
    processor = PayPalCardProcessor(PAYPAL_CLIENT, "wrong-secret-9", paypal_sandbox.base_url)
    with pytest.raises(PermanentError, match="credentials") as caught:
        processor.list_refunds(*_window())
    assert "wrong-secret-9" not in str(caught.value)


def test_a_token_paypal_dropped_is_renewed(paypal_sandbox: Sandbox, paypal: PayPalCardProcessor) -> None:
    paypal.list_refunds(*_window())
    paypal_sandbox.sandbox.state.tokens.clear()  # PayPal expired every token early

    assert isinstance(paypal.list_refunds(*_window()), list)


def test_same_key_with_another_amount_is_refused(paypal_sandbox: Sandbox, paypal: PayPalCardProcessor) -> None:
    capture = _capture(paypal_sandbox, "50.00")
    paypal.create_refund(capture, Money(1000, "GBP"), "outbox-p8")

    with pytest.raises(PermanentError, match=r"already made for £10\.00, not £12\.00"):
        paypal.create_refund(capture, Money(1200, "GBP"), "outbox-p8")
    assert len(_refunds_of(paypal_sandbox, capture)) == 1
