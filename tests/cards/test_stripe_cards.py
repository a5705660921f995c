"""Stripe connector against localstripe + stripe_gaps on loopback: takings, fees, payouts, disputes."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import stripe

from app.connectors.stripe_cards import StripeCardProcessor
from app.errors import PermanentError, TransientError
from app.money import Money
from sandboxes.localstripe_server import seed_card_day
from sandboxes.stripe_gaps import open_dispute, pay_out
from tests.cards.conftest import StripeSandbox

KEY = "sk_test_clinic"
VISA_FINGERPRINT = hashlib.sha1(b"4242424242424242").hexdigest()[:16]


def _window() -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    return now - timedelta(hours=1), now + timedelta(hours=1)


@pytest.fixture
def processor(stripe_sandbox: StripeSandbox) -> StripeCardProcessor:
    return StripeCardProcessor(KEY, stripe_sandbox.api_base)


def test_day_of_payments_read_back_with_fees_to_the_penny(
    stripe_sandbox: StripeSandbox, processor: StripeCardProcessor
) -> None:
    day = seed_card_day(stripe_sandbox.api_base, amounts=(4500, 6000, 12000, 3550))
    since, until = _window()

    payments = {p.provider_ref: p for p in processor.list_payments(since, until)}

    ours = [payments[pi] for pi in day.payment_intents]
    # UK card fee: 1.5 % rounded half up + 20p, as booked on each charge's balance transaction.
    assert [(p.gross.minor, p.fee.minor, p.net.minor) for p in ours] == [
        (4500, 88, 4412),
        (6000, 110, 5890),
        (12000, 200, 11800),
        (3550, 73, 3477),
    ]
    assert all(p.gross.currency == "GBP" and p.status == "succeeded" for p in ours)
    assert all(p.customer_ref == day.customer for p in ours)
    assert all(p.card_fingerprint == VISA_FINGERPRINT for p in ours)
    assert all(p.created_at.tzinfo is not None for p in ours)
    assert ours[1].metadata["visit"] == "V-0002"


def test_payments_outside_the_window_are_not_listed(
    stripe_sandbox: StripeSandbox, processor: StripeCardProcessor
) -> None:
    day = seed_card_day(stripe_sandbox.api_base, amounts=(2500,), refund_first=0)
    yesterday = datetime.now(UTC) - timedelta(days=1)

    refs = {p.provider_ref for p in processor.list_payments(yesterday - timedelta(hours=2), yesterday)}

    assert day.payment_intents[0] not in refs


def test_refunds_of_the_day(stripe_sandbox: StripeSandbox, processor: StripeCardProcessor) -> None:
    day = seed_card_day(stripe_sandbox.api_base, amounts=(8000, 2000), refund_first=2500)

    refunds = {r.provider_ref: r for r in processor.list_refunds(*_window())}

    refund = refunds[day.refunds[0]]
    assert refund.payment_ref == day.payment_intents[0]
    assert refund.amount == Money(2500, "GBP")
    assert refund.status == "succeeded"


def test_payout_and_its_entries_gross_fee_net(stripe_sandbox: StripeSandbox, processor: StripeCardProcessor) -> None:
    day = seed_card_day(stripe_sandbox.api_base, amounts=(4500, 6000), refund_first=1500)
    dispute = open_dispute(stripe_sandbox.api_base, day.charges[1], "fraudulent")
    payout = pay_out(stripe_sandbox.api_base, "gbp")

    payouts = {p.provider_ref: p for p in processor.list_payouts(*_window())}
    entries = processor.list_payout_entries(payout["id"])

    assert payouts[payout["id"]].amount == Money(payout["amount"], "GBP")
    assert payouts[payout["id"]].status == "paid"
    by_source = {(e.entry_type, e.source_ref): (e.gross.minor, e.fee.minor, e.net.minor) for e in entries}
    assert by_source[("charge", day.payment_intents[0])] == (4500, 88, 4412)
    assert by_source[("charge", day.payment_intents[1])] == (6000, 110, 5890)
    assert by_source[("refund", day.refunds[0])] == (-1500, 0, -1500)
    assert by_source[("dispute", dispute["id"])] == (-6000, 2000, -8000)
    assert sum(e.net.minor for e in entries) == payout["amount"]
    assert all(e.payout_ref == payout["id"] for e in entries)


def test_disputes_with_evidence_due_date(stripe_sandbox: StripeSandbox, processor: StripeCardProcessor) -> None:
    day = seed_card_day(stripe_sandbox.api_base, amounts=(9900,), refund_first=0)
    due = int(time.time()) + 5 * 86400
    opened = open_dispute(stripe_sandbox.api_base, day.charges[0], "product_not_received", due)

    disputes = {d.provider_ref: d for d in processor.list_disputes(*_window())}

    dispute = disputes[opened["id"]]
    assert dispute.payment_ref == day.payment_intents[0]
    assert dispute.amount == Money(9900, "GBP")
    assert dispute.status == "needs_response"
    assert dispute.reason == "product_not_received"
    assert dispute.evidence_due_by == datetime.fromtimestamp(due, UTC)


def _refunds_at_localstripe(sandbox: StripeSandbox, payment_intent: str) -> list[stripe.Refund]:
    raw = stripe.StripeClient(KEY, base_addresses={"api": sandbox.localstripe})
    return list(raw.v1.refunds.list({"payment_intent": payment_intent, "limit": 100}).auto_paging_iter())


def test_localstripe_ignores_idempotency_keys_so_the_metadata_lookup_matters(
    stripe_sandbox: StripeSandbox,
) -> None:
    day = seed_card_day(stripe_sandbox.api_base, amounts=(5000,), refund_first=0)
    raw = stripe.StripeClient(KEY, base_addresses={"api": stripe_sandbox.localstripe}, max_network_retries=0)
    for _ in range(2):
        raw.v1.refunds.create(
            {"payment_intent": day.payment_intents[0], "amount": 100}, {"idempotency_key": "same-key"}
        )

    assert len(_refunds_at_localstripe(stripe_sandbox, day.payment_intents[0])) == 2


def test_refund_twice_with_one_key_makes_one_refund(
    stripe_sandbox: StripeSandbox, processor: StripeCardProcessor
) -> None:
    day = seed_card_day(stripe_sandbox.api_base, amounts=(7000,), refund_first=0)
    pi = day.payment_intents[0]

    first = processor.create_refund(pi, Money(2000, "GBP"), "outbox-41")
    second = processor.create_refund(pi, Money(2000, "GBP"), "outbox-41")

    assert first.provider_ref == second.provider_ref
    assert first.metadata["outbox_id"] == "outbox-41"
    assert [r.id for r in _refunds_at_localstripe(stripe_sandbox, pi)] == [first.provider_ref]
    assert processor.find_refund("outbox-41") == first


def test_crash_between_sending_and_recording_still_one_refund(stripe_sandbox: StripeSandbox) -> None:
    day = seed_card_day(stripe_sandbox.api_base, amounts=(7000,), refund_first=0)
    pi = day.payment_intents[0]
    StripeCardProcessor(KEY, stripe_sandbox.api_base).create_refund(pi, Money(3000, "GBP"), "outbox-42")
    # The desk crashed before recording the result; after restart the outbox retries the same key.
    restarted = StripeCardProcessor(KEY, stripe_sandbox.api_base)

    again = restarted.create_refund(pi, Money(3000, "GBP"), "outbox-42")

    refunds = _refunds_at_localstripe(stripe_sandbox, pi)
    assert [r.id for r in refunds] == [again.provider_ref]
    assert refunds[0].amount == 3000


def test_unknown_payment_is_a_permanent_error(processor: StripeCardProcessor) -> None:
    with pytest.raises(PermanentError, match="Stripe refused the request") as caught:
        processor.create_refund("pi_doesnotexist", Money(100, "GBP"), "outbox-43")
    assert isinstance(caught.value.__cause__, stripe.StripeError)


def test_bad_api_key_is_a_permanent_error(stripe_sandbox: StripeSandbox) -> None:
    with pytest.raises(PermanentError, match="API key") as caught:
        StripeCardProcessor("not-a-key", stripe_sandbox.api_base).list_refunds(*_window())
    assert "not-a-key" not in str(caught.value)


def test_unreachable_stripe_is_transient() -> None:
    with pytest.raises(TransientError, match="cannot reach Stripe"):
        StripeCardProcessor(KEY, "http://127.0.0.1:9").list_payments(*_window())


def test_same_key_with_another_amount_is_refused(stripe_sandbox: StripeSandbox, processor: StripeCardProcessor) -> None:
    day = seed_card_day(stripe_sandbox.api_base, amounts=(7000,), refund_first=0)
    processor.create_refund(day.payment_intents[0], Money(2000, "GBP"), "outbox-44")

    with pytest.raises(PermanentError, match=r"already made for £20\.00, not £25\.00"):
        processor.create_refund(day.payment_intents[0], Money(2500, "GBP"), "outbox-44")
    assert len(_refunds_at_localstripe(stripe_sandbox, day.payment_intents[0])) == 1


def test_stripe_503_is_transient_then_recovers(stripe_sandbox: StripeSandbox, processor: StripeCardProcessor) -> None:
    httpx.post(f"{stripe_sandbox.api_base}/_gaps/fail", json={"count": 1})

    with pytest.raises(TransientError, match="503") as caught:
        processor.list_refunds(*_window())
    assert isinstance(caught.value.__cause__, stripe.StripeError)
    assert isinstance(processor.list_refunds(*_window()), list)
