"""PayPal refunds of captured payments over PayPal's REST API (httpx, OAuth2 client credentials).

The clinic takes cards at the desk with Stripe or Square; PayPal is used for online deposits and
this connector mainly refunds them. Exactly-once refunds rest on two PayPal features:

* ``PayPal-Request-Id`` = our outbox key: PayPal answers a repeated request with the first answer
  (PayPal keeps these ids for 6 hours by default);
* ``custom_id`` = our outbox key, visible in Transaction Search as ``custom_field``:
  :meth:`PayPalCardProcessor.find_refund` looks there first (searches cover the last 31 days).

Payments and refunds are read from Transaction Search. Payouts, payout entries and disputes are not
read from PayPal (the clinic sweeps PayPal by hand): those methods return empty lists.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from app.clock import Clock, SystemClock
from app.connectors.base import (
    PayoutEntry,
    ProviderDispute,
    ProviderPayment,
    ProviderPayout,
    ProviderRefund,
    reuse_refund,
)
from app.connectors.http import make_client, translate_errors, utc_from_iso, utc_iso
from app.errors import PermanentError
from app.money import Money

PROVIDER = "paypal"
SEARCH_DAYS = 31  # Transaction Search accepts at most 31 days per request
_CAPTURE, _REFUND = "T0006", "T1107"
_ISSUES = {
    "REFUND_AMOUNT_EXCEEDED": "the refund is more than what is left to refund on this payment",
    "CAPTURE_FULLY_REFUNDED": "this payment has already been fully refunded",
    "INVALID_RESOURCE_ID": "PayPal does not know this payment",
    "CURRENCY_MISMATCH": "the refund currency differs from the payment currency",
}

Json = dict[str, Any]


def _money(value: Json) -> Money:
    return Money.of(str(value["value"]), str(value["currency_code"]))


_when = utc_from_iso


class PayPalCardProcessor:
    """:class:`app.connectors.base.PaymentProcessor` for PayPal (refunds-first; see module doc)."""

    name = PROVIDER

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        api_base: str,
        http_client: httpx.Client | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._http = http_client or make_client(api_base)
        self._credentials = (client_id, client_secret)
        self._clock = clock or SystemClock()
        self._token: str | None = None
        self._token_expires = datetime.min.replace(tzinfo=UTC)

    # ------------------------------------------------------------------ transport

    def _access_token(self) -> str:
        if self._token is None or self._clock.now() >= self._token_expires:
            body = self._send(
                "POST",
                "/v1/oauth2/token",
                auth=httpx.BasicAuth(*self._credentials),
                data={"grant_type": "client_credentials"},
            )
            self._token = str(body["access_token"])
            self._token_expires = self._clock.now() + timedelta(seconds=int(body["expires_in"]) - 60)
        return self._token

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Json | None = None,
        json: Json | None = None,
        headers: dict[str, str] | None = None,
    ) -> Json:
        """An API call with a bearer token; a token PayPal no longer accepts is renewed once."""
        for attempt in (1, 2):
            auth = {"Authorization": f"Bearer {self._access_token()}"}
            try:
                return self._send(method, path, params=params, json=json, headers=auth | (headers or {}))
            except PermanentError as exc:
                cause = exc.__cause__
                expired = isinstance(cause, httpx.HTTPStatusError) and cause.response.status_code == 401
                if attempt == 2 or not expired:
                    raise
                self._token = None
        raise AssertionError("unreachable")

    def _send(self, method: str, path: str, **kwargs: Any) -> Json:
        with translate_errors(PROVIDER):
            response = self._http.request(method, path, **kwargs)
            try:
                response.raise_for_status()
            except httpx.HTTPStatusError as exc:
                status = response.status_code
                if 400 <= status < 500 and status not in (408, 425, 429):
                    raise PermanentError(PROVIDER, _refusal(response)) from exc
                raise
            result: Json = response.json()
            return result

    def _search(self, since: datetime, until: datetime, event_code: str) -> Iterator[Json]:
        """Transaction Search rows of one event code, in 31-day slices, following pages."""
        start = since
        while start < until:
            end = min(until, start + timedelta(days=SEARCH_DAYS))
            page, pages = 1, 1
            while page <= pages:
                body = self._call(
                    "GET",
                    "/v1/reporting/transactions",
                    params={
                        "start_date": utc_iso(start, whole_seconds=True),
                        "end_date": utc_iso(end, whole_seconds=True),
                        "transaction_type": event_code,
                        "fields": "transaction_info",
                        "page_size": 100,
                        "page": page,
                    },
                )
                for row in body.get("transaction_details", []):
                    yield row["transaction_info"]
                pages = int(body.get("total_pages", 1))
                page += 1
            start = end

    # ------------------------------------------------------------------ reads

    def list_payments(self, since: datetime, until: datetime) -> list[ProviderPayment]:
        """Captured payments (T0006) with PayPal's fee, from Transaction Search."""
        out = []
        for info in self._search(since, until, _CAPTURE):
            gross = _money(info["transaction_amount"])
            fee = abs(_money(info["fee_amount"])) if info.get("fee_amount") else Money.zero(gross.currency)
            out.append(
                ProviderPayment(
                    provider=PROVIDER,
                    provider_ref=str(info["transaction_id"]),
                    created_at=_when(info["transaction_initiation_date"]),
                    gross=gross,
                    fee=fee,
                    net=gross - fee,
                    status=str(info["transaction_status"]),
                    method="paypal",
                    metadata={"custom_id": str(info.get("custom_field") or "")},
                )
            )
        return out

    def list_refunds(self, since: datetime, until: datetime) -> list[ProviderRefund]:
        """Refunds (T1107) from Transaction Search; ``metadata["outbox_id"]`` is our ``custom_id``."""
        return [self._refund_row(info) for info in self._search(since, until, _REFUND)]

    @staticmethod
    def _refund_row(info: Json) -> ProviderRefund:
        key = str(info.get("custom_field") or "")
        return ProviderRefund(
            provider=PROVIDER,
            provider_ref=str(info["transaction_id"]),
            payment_ref=str(info.get("paypal_reference_id") or ""),
            amount=abs(_money(info["transaction_amount"])),
            status=str(info["transaction_status"]),
            created_at=_when(info["transaction_initiation_date"]),
            metadata={"outbox_id": key} if key else {},
        )

    def list_payouts(self, since: datetime, until: datetime) -> list[ProviderPayout]:
        """Not read from PayPal: the clinic moves its PayPal balance by hand."""
        return []

    def list_payout_entries(self, payout_ref: str) -> list[PayoutEntry]:
        """Not read from PayPal (no PayPal payouts are tracked)."""
        return []

    def list_disputes(self, since: datetime, until: datetime) -> list[ProviderDispute]:
        """Not read from PayPal: PayPal disputes are handled in PayPal's Resolution Center."""
        return []

    # ------------------------------------------------------------------ refunds

    def find_refund(self, idempotency_key: str, payment_ref: str | None = None) -> ProviderRefund | None:
        """The refund whose ``custom_id`` is this key, searched over the last 31 days."""
        until = self._clock.now() + timedelta(minutes=5)
        for info in self._search(until - timedelta(days=SEARCH_DAYS), until, _REFUND):
            found = self._refund_row(info)
            if found.metadata.get("outbox_id") == idempotency_key and payment_ref in (
                None,
                found.payment_ref,
            ):
                return found
        return None

    def create_refund(self, payment_ref: str, amount: Money, idempotency_key: str) -> ProviderRefund:
        """Refund ``amount`` of capture ``payment_ref`` once per key (partial refunds allowed)."""
        existing = reuse_refund(PROVIDER, self.find_refund(idempotency_key, payment_ref), amount, idempotency_key)
        if existing is not None:
            return existing
        body = {
            "amount": {"value": str(amount.amount), "currency_code": amount.currency},
            "custom_id": idempotency_key,
        }
        headers = {"PayPal-Request-Id": idempotency_key, "Prefer": "return=representation"}
        refund = self._call("POST", f"/v2/payments/captures/{payment_ref}/refund", json=body, headers=headers)
        return ProviderRefund(
            provider=PROVIDER,
            provider_ref=str(refund["id"]),
            payment_ref=payment_ref,
            amount=_money(refund["amount"]),
            status=str(refund["status"]),
            created_at=_when(refund["create_time"]),
            metadata={"outbox_id": str(refund.get("custom_id") or idempotency_key)},
        )


def _refusal(response: httpx.Response) -> str:
    """PayPal's error as a sentence a clinic manager can act on (no request data, no credentials)."""
    if response.status_code == 401:
        return "PayPal refused our credentials; check the PayPal settings"
    try:
        body = response.json()
    except ValueError:
        body = {}
    issues = [str(d.get("issue")) for d in body.get("details", []) if d.get("issue")]
    said = "; ".join(_ISSUES.get(i, i) for i in issues) or str(body.get("message") or "no detail given")
    code = f" [{', '.join(issues)}]" if issues else ""
    return f"PayPal refused the request ({response.status_code}): {said}{code}"
