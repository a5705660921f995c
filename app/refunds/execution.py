"""Executing approved refunds through the outbox, exactly once, and recording what happened.

``refund.execute`` goes to the provider that took the money (Stripe, Square or PayPal), with the
outbox key ``refund-<id>`` as the idempotency key: each connector looks the key up before creating,
so a crash between sending and recording cannot refund twice. Success is recorded in one
transaction: refund status and provider reference, the payment's refunded amount and status, the
journal entry, the acknowledgement PDF kept with the case, and the patient/staff messages queued.
Cash refunds never reach the outbox: :func:`complete_refund` runs at approval (see ``service``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy.orm import Session

from app.audit import SYSTEM, Actor, record, snapshot
from app.claims.artefacts import ArtefactStore
from app.clock import Clock, SystemClock
from app.connectors.base import PaymentProcessor
from app.connectors.http import make_client
from app.connectors.paypal_cards import PayPalCardProcessor
from app.connectors.square_cards import SquareCardProcessor
from app.connectors.stripe_cards import StripeCardProcessor
from app.context import AppContext
from app.db.models import OutboxMessage, Patient, Payment, Refund
from app.domain.status import PaymentStatus, RefundReason, RefundStatus, TaskPriority, advance, can_move
from app.errors import ConfigurationError
from app.ledger.chart import AccountMap
from app.ledger.journal_builders import RefundRecord, TakingsUse, TenderMethod, journal_for_refund
from app.ledger.store import post_entries
from app.money import Money
from app.outbox import Route
from app.refunds import communications
from app.routes import endpoint
from app.settings import get_setting
from app.tasks import open_task

KIND = "refund.execute"
CARD_PROVIDERS = ("stripe", "square", "paypal")
_DONE = {"succeeded", "completed"}
_PRODUCT_REASONS = (RefundReason.PRODUCT_RETURN, RefundReason.PRODUCT_RECALL)


def outbox_key(refund_id: int) -> str:
    return f"refund-{refund_id}"


def payload_for(refund: Refund, payment: Payment) -> dict[str, Any]:
    return {
        "refund_id": refund.id,
        "provider": payment.provider,
        "payment_ref": payment.provider_ref,
        "amount_minor": refund.amount_minor,
        "currency": refund.currency,
    }


# --------------------------------------------------------------------------- recording


def _walk(refund: Refund, *targets: RefundStatus) -> None:
    for target in targets:
        if refund.status is not target:
            refund.status = advance("Refund", refund.status, target)


def refund_record(session: Session, refund: Refund, payment: Payment) -> RefundRecord:
    """The refund as the ledger sees it, dated the day it succeeded."""
    patient = session.get(Patient, payment.patient_id) if payment.patient_id else None
    return RefundRecord(
        refund_id=communications.reference(refund),
        refunded_on=refund.updated_at.date(),
        amount=Money(refund.amount_minor, refund.currency),
        method=TenderMethod.CASH if refund.method == "cash" else TenderMethod.CARD,
        provider=payment.provider,
        patient_ref=patient.ref if patient else "",
        patient_name=f"{patient.first_name} {patient.last_name}" if patient else "Patient",
        reason=refund.note or refund.reason.value.replace("_", " "),
        refunded_use=TakingsUse.PRODUCTS if refund.reason in _PRODUCT_REASONS else TakingsUse.TREATMENTS,
    )


def account_map(session: Session) -> AccountMap:
    value = get_setting(session, "ledger.account_map")
    return AccountMap.from_json(json.dumps(value)) if value else AccountMap()


def complete_refund(
    session: Session, clock: Clock, actor: Actor, store: ArtefactStore, refund: Refund, provider_ref: str
) -> None:
    """The money left: refund SUCCEEDED, payment updated, journal posted, PDF kept, messages queued."""
    if refund.status is RefundStatus.SUCCEEDED:
        return
    payment = session.get(Payment, refund.payment_id)
    assert payment is not None
    before = {"refund": snapshot(refund), "payment": snapshot(payment)}
    if refund.status is RefundStatus.FAILED:
        _walk(refund, RefundStatus.APPROVED)
    _walk(refund, RefundStatus.SENT, RefundStatus.SUCCEEDED)
    refund.provider_ref = provider_ref[:80]
    refund.updated_at = clock.now()
    payment.refunded_minor += refund.amount_minor
    target = PaymentStatus.REFUNDED if payment.refunded_minor >= payment.gross_minor else PaymentStatus.PARTLY_REFUNDED
    if can_move(payment.status, target):
        payment.status = advance("Payment", payment.status, target)
    record(
        session,
        clock,
        actor,
        "refund.succeeded",
        "refund",
        refund.id,
        before,
        {"refund": snapshot(refund), "payment": snapshot(payment)},
    )
    entry = journal_for_refund(refund_record(session, refund, payment), account_map(session))
    post_entries(session, clock, actor, [entry])
    communications.keep_acknowledgement(session, clock, store, refund, actor)
    communications.announce_success(session, clock, refund)


def fail_refund(session: Session, clock: Clock, refund: Refund, error: str) -> None:
    """The provider refused: refund FAILED, a task for finance, a staff alert."""
    if refund.status in (RefundStatus.FAILED, RefundStatus.SUCCEEDED):
        return
    before = snapshot(refund)
    _walk(refund, RefundStatus.SENT, RefundStatus.FAILED)
    refund.updated_at = clock.now()
    record(session, clock, SYSTEM, "refund.failed", "refund", refund.id, before, snapshot(refund), error)
    ref = communications.reference(refund)
    open_task(
        session,
        clock,
        SYSTEM,
        kind="refund_failed",
        title=f"Refund {ref} of {Money(refund.amount_minor, refund.currency)} failed",
        detail=error,
        owner_role="finance",
        priority=TaskPriority.HIGH,
        recommended_fix="Read the provider's reason, fix it (or refund another way), then retry the send "
        "or cancel the refund.",
        entity_type="refund",
        entity_id=refund.id,
        dedupe_key=f"refund:{refund.id}:failed",
    )
    communications.staff_alert(session, clock, f"{ref}-failed", f"Refund {ref} failed: {error}")


# --------------------------------------------------------------------------- providers


@contextmanager
def processor(ctx: AppContext, provider: str) -> Iterator[PaymentProcessor]:
    """The connector of ``provider`` built from Settings → Providers and the keyring."""
    base = endpoint(ctx, provider)
    if provider not in CARD_PROVIDERS:
        raise ConfigurationError(f"Refunds through {provider!r} are not supported: refund in cash instead.")
    if not base:
        raise ConfigurationError(f"{provider} is not set up: add its address in Settings → Providers.")
    if provider == "stripe":
        yield StripeCardProcessor(ctx.secret("stripe.api_key"), base)
        return
    with make_client(base) as http:
        if provider == "square":
            yield SquareCardProcessor(ctx.secret("square.access_token"), base, http_client=http)
        else:  # provider-side searches run on real time, whatever the app clock says
            client_id, secret = ctx.secret("paypal.client_id"), ctx.secret("paypal.client_secret")
            yield PayPalCardProcessor(client_id, secret, base, http_client=http, clock=SystemClock())


def _refund_of(session: Session, msg: OutboxMessage) -> Refund:
    refund = session.get(Refund, int(json.loads(msg.payload_json)["refund_id"]))
    assert refund is not None
    return refund


def _refund_route(ctx: AppContext) -> Route:
    store = ArtefactStore(ctx.paths.archive)

    def send(payload: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        amount = Money(int(payload["amount_minor"]), str(payload["currency"]))
        with processor(ctx, str(payload["provider"])) as proc:
            made = proc.create_refund(str(payload["payment_ref"]), amount, key)
        return {"provider_ref": made.provider_ref, "status": made.status.lower(), "amount_minor": made.amount.minor}

    def on_sent(session: Session, clock: Clock, msg: OutboxMessage, result: Mapping[str, Any]) -> None:
        refund = _refund_of(session, msg)
        if str(result.get("status")) in _DONE:
            complete_refund(session, clock, SYSTEM, store, refund, str(result["provider_ref"]))
        elif refund.status is RefundStatus.APPROVED:
            before = snapshot(refund)
            _walk(refund, RefundStatus.SENT)
            refund.provider_ref = str(result["provider_ref"])[:80]
            refund.updated_at = clock.now()
            record(session, clock, SYSTEM, "refund.sent", "refund", refund.id, before, snapshot(refund))

    def on_failed(session: Session, clock: Clock, msg: OutboxMessage, error: str) -> None:
        fail_refund(session, clock, _refund_of(session, msg), error)

    return Route(send, on_sent, on_failed, owner_role="finance")


def routes(ctx: AppContext) -> dict[str, Route]:
    """``refund.execute`` (e-mail and SMS to the patient go by app.notify_routes)."""
    return {KIND: _refund_route(ctx)}
