"""Stripe card takings, refunds, payouts and disputes through the official ``stripe`` SDK.

Refunds are created exactly once: the outbox id travels as the ``Idempotency-Key`` header AND as
``metadata["outbox_id"]``; before creating, :meth:`StripeCardProcessor.create_refund` looks for a
refund already carrying that metadata (a provider that ignores idempotency keys, or a crash between
sending and recording, cannot produce a second refund).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import stripe

from app.connectors.base import (
    PayoutEntry,
    ProviderDispute,
    ProviderPayment,
    ProviderPayout,
    ProviderRefund,
    reuse_refund,
)
from app.errors import PermanentError, TransientError
from app.money import Money

PROVIDER = "stripe"
OUTBOX_KEY = "outbox_id"
_PAGE = 100
_ENTRY_TYPES = {
    "charge": "charge",
    "payment": "charge",
    "refund": "refund",
    "payment_refund": "refund",
    "stripe_fee": "fee",
    "application_fee": "fee",
    "dispute": "dispute",
}


@contextmanager
def _translate() -> Iterator[None]:
    """Stripe SDK errors -> TransientError (retry may help) or PermanentError (a person must act)."""
    try:
        yield
    except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
        raise TransientError(PROVIDER, "cannot reach Stripe right now; will retry") from exc
    except stripe.AuthenticationError as exc:
        raise PermanentError(PROVIDER, "Stripe refused our API key; check the Stripe settings") from exc
    except stripe.StripeError as exc:
        status = exc.http_status or 0
        if status >= 500 or status == 429 or isinstance(exc, stripe.APIError):
            raise TransientError(PROVIDER, f"Stripe answered {status or 'an error'}; will retry") from exc
        message = exc.user_message or "request refused"
        raise PermanentError(PROVIDER, f"Stripe refused the request ({status}): {message}") from exc


def _ts(value: datetime) -> int:
    if value.tzinfo is None:
        raise ValueError("aware datetimes only")
    return int(value.timestamp())


def _when(unix: int) -> datetime:
    return datetime.fromtimestamp(int(unix), UTC)


def _money(minor: int, currency: str) -> Money:
    return Money(int(minor), currency.upper())


def _get(obj: Any, key: str) -> Any:
    """Field of an (expanded) object, or None when the field is absent or not expanded."""
    return obj.get(key) if isinstance(obj, dict) else None


def _plain(obj: Any) -> dict[str, Any]:
    """A StripeObject as plain dicts and lists (StripeObject is not a dict in SDK v16)."""
    return dict(obj.to_dict(recursive=True))


def _id(obj: Any) -> str | None:
    if obj is None:
        return None
    return obj if isinstance(obj, str) else str(obj["id"])


def _meta(obj: Any) -> dict[str, str]:
    metadata = _get(obj, "metadata") or {}
    return {str(k): str(v) for k, v in dict(metadata).items()}


class StripeCardProcessor:
    """:class:`app.connectors.base.PaymentProcessor` for Stripe."""

    name = PROVIDER

    def __init__(self, api_key: str, api_base: str, http_client: stripe.HTTPClient | None = None) -> None:
        self._client = stripe.StripeClient(
            api_key, base_addresses={"api": api_base}, http_client=http_client, max_network_retries=0
        )

    def _all(self, lister: Callable[..., Any], params: dict[str, Any]) -> list[Any]:
        with _translate():
            return [_plain(o) for o in lister({**params, "limit": _PAGE}).auto_paging_iter()]

    # ------------------------------------------------------------------ reads

    def list_payments(self, since: datetime, until: datetime) -> list[ProviderPayment]:
        """Succeeded PaymentIntents created in [since, until), with fees from their balance transactions."""
        intents = self._all(
            self._client.v1.payment_intents.list,
            {
                "created": {"gte": _ts(since), "lt": _ts(until)},
                "expand": ["data.latest_charge.balance_transaction", "data.payment_method"],
            },
        )
        return [self._payment(pi) for pi in intents if pi["status"] == "succeeded"]

    def _payment(self, pi: Any) -> ProviderPayment:
        currency = str(pi["currency"])
        charge = pi["latest_charge"]
        txn = _get(charge, "balance_transaction")
        if isinstance(txn, str) or txn is None:
            with _translate():
                txn = _plain(self._client.v1.balance_transactions.retrieve(txn)) if txn else None
        gross = int(_get(txn, "amount") or pi["amount"])
        fee = int(_get(txn, "fee") or 0)
        method = pi["payment_method"]
        card = _get(method, "card") or _get(method, "card_present")
        return ProviderPayment(
            provider=PROVIDER,
            provider_ref=str(pi["id"]),
            created_at=_when(pi["created"]),
            gross=_money(gross, currency),
            fee=_money(fee, currency),
            net=_money(gross - fee, currency),
            status=str(pi["status"]),
            method=str(_get(method, "type") or "card"),
            customer_ref=_id(pi["customer"]),
            card_fingerprint=_get(card, "fingerprint"),
            metadata=_meta(pi),
        )

    def list_refunds(self, since: datetime, until: datetime) -> list[ProviderRefund]:
        refunds = self._all(self._client.v1.refunds.list, {"created": {"gte": _ts(since), "lt": _ts(until)}})
        return [self._refund(r) for r in refunds]

    def _refund(self, refund: Any) -> ProviderRefund:
        payment_ref = _get(refund, "payment_intent") or _id(refund["charge"])
        return ProviderRefund(
            provider=PROVIDER,
            provider_ref=str(refund["id"]),
            payment_ref=str(payment_ref),
            amount=_money(refund["amount"], str(refund["currency"])),
            status=str(refund["status"]),
            created_at=_when(refund["created"]),
            metadata=_meta(refund),
        )

    def list_payouts(self, since: datetime, until: datetime) -> list[ProviderPayout]:
        """Payouts created in [since, until)."""
        payouts = self._all(self._client.v1.payouts.list, {"created": {"gte": _ts(since), "lt": _ts(until)}})
        return [
            ProviderPayout(
                provider=PROVIDER,
                provider_ref=str(p["id"]),
                amount=_money(p["amount"], str(p["currency"])),
                arrival_date=_when(p["arrival_date"]).date(),
                status=str(p["status"]),
                created_at=_when(p["created"]),
            )
            for p in payouts
        ]

    def list_payout_entries(self, payout_ref: str) -> list[PayoutEntry]:
        """Balance transactions a payout settled (Stripe's ``payout=`` filter), without the payout itself."""
        txns = self._all(self._client.v1.balance_transactions.list, {"payout": payout_ref, "expand": ["data.source"]})
        return [self._entry(payout_ref, t) for t in txns if t["type"] != "payout"]

    @staticmethod
    def _entry(payout_ref: str, txn: Any) -> PayoutEntry:
        currency = str(txn["currency"])
        source = txn["source"]
        kind = str(txn["type"])
        category = str(_get(txn, "reporting_category") or "")
        entry_type = _ENTRY_TYPES.get(kind) or _ENTRY_TYPES.get(category) or "adjustment"
        source_ref = (_get(source, "payment_intent") or _id(source)) if entry_type == "charge" else _id(source)
        return PayoutEntry(
            payout_ref=payout_ref,
            entry_type=entry_type,
            source_ref=str(source_ref) if source_ref else None,
            gross=_money(txn["amount"], currency),
            fee=_money(txn["fee"], currency),
            net=_money(txn["net"], currency),
        )

    def list_disputes(self, since: datetime, until: datetime) -> list[ProviderDispute]:
        disputes = self._all(self._client.v1.disputes.list, {"created": {"gte": _ts(since), "lt": _ts(until)}})
        return [self._dispute(d) for d in disputes]

    @staticmethod
    def _dispute(d: Any) -> ProviderDispute:
        due = _get(_get(d, "evidence_details"), "due_by")
        return ProviderDispute(
            provider=PROVIDER,
            provider_ref=str(d["id"]),
            payment_ref=str(_id(d["payment_intent"]) or _id(d["charge"])),
            amount=_money(d["amount"], str(d["currency"])),
            reason=str(d["reason"]),
            status=str(d["status"]),
            evidence_due_by=_when(due) if due else None,
            created_at=_when(d["created"]),
        )

    # ------------------------------------------------------------------ refunds

    def find_refund(self, idempotency_key: str, payment_ref: str | None = None) -> ProviderRefund | None:
        """The refund carrying ``metadata.outbox_id == idempotency_key``.

        With ``payment_ref`` only that payment's refunds are read; without it, every refund is scanned.
        """
        params: dict[str, Any] = {"payment_intent": payment_ref} if payment_ref else {}
        for refund in self._all(self._client.v1.refunds.list, params):
            if _meta(refund).get(OUTBOX_KEY) == idempotency_key:
                return self._refund(refund)
        return None

    def create_refund(self, payment_ref: str, amount: Money, idempotency_key: str) -> ProviderRefund:
        """Refund ``amount`` of PaymentIntent ``payment_ref`` once per ``idempotency_key``."""
        existing = reuse_refund(PROVIDER, self.find_refund(idempotency_key, payment_ref), amount, idempotency_key)
        if existing is not None:
            return existing
        params = {
            "payment_intent": payment_ref,
            "amount": amount.minor,
            "metadata": {OUTBOX_KEY: idempotency_key},
        }
        with _translate():
            refund = self._client.v1.refunds.create(params, {"idempotency_key": idempotency_key})  # type: ignore[arg-type]
        return self._refund(_plain(refund))
