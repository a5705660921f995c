"""Square card takings, refunds, payouts and disputes over Square's v2 REST API (httpx, no SDK).

Square honours ``idempotency_key`` on ``POST /v2/refunds``; we send the outbox id as that key and
also write it into the refund ``reason`` so :meth:`SquareCardProcessor.find_refund` can find a
refund made before a crash without creating anything.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import httpx

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

PROVIDER = "square"
SQUARE_VERSION = "2025-01-23"
REASON_PREFIX = "Clinic refund ref "
_CARD_PRESENT = {"EMV", "CONTACTLESS", "SWIPED"}
_ENTRY_TYPES = {
    "CHARGE": "charge",
    "REFUND": "refund",
    "DISPUTE": "dispute",
    "FEE": "fee",
    "PROCESSING_FEE": "fee",
    "ADJUSTMENT": "adjustment",
}

Json = dict[str, Any]


_when = utc_from_iso


def _money(value: Json | None, currency: str = "GBP") -> Money:
    if not value:
        return Money(0, currency)
    return Money(int(value["amount"]), str(value.get("currency", currency)))


class SquareCardProcessor:
    """:class:`app.connectors.base.PaymentProcessor` for Square."""

    name = PROVIDER

    def __init__(
        self,
        access_token: str,
        api_base: str,
        http_client: httpx.Client | None = None,
        square_version: str = SQUARE_VERSION,
    ) -> None:
        self._http = http_client or make_client(api_base)
        self._headers = {
            "Authorization": f"Bearer {access_token}",
            "Square-Version": square_version,
            "Accept": "application/json",
        }

    # ------------------------------------------------------------------ transport

    def _call(self, method: str, path: str, *, params: Json | None = None, json: Json | None = None) -> Json:
        with translate_errors(PROVIDER):
            response = self._http.request(method, path, params=params, json=json, headers=self._headers)
            try:
                response.raise_for_status()
            except httpx.HTTPStatusError as exc:
                status = response.status_code
                if 400 <= status < 500 and status not in (408, 425, 429):
                    raise PermanentError(PROVIDER, _refusal(response)) from exc
                raise
            result: Json = response.json()
            return result

    def _pages(self, path: str, key: str, params: Json | None = None) -> Iterator[Json]:
        query = dict(params or {})
        while True:
            body = self._call("GET", path, params=query)
            yield from body.get(key, [])
            cursor = body.get("cursor")
            if not cursor:
                return
            query["cursor"] = cursor

    @staticmethod
    def _window(since: datetime, until: datetime) -> Json:
        return {"begin_time": utc_iso(since), "end_time": utc_iso(until)}

    # ------------------------------------------------------------------ reads

    def list_payments(self, since: datetime, until: datetime) -> list[ProviderPayment]:
        """COMPLETED payments created in [since, until), with Square's processing fees."""
        payments = self._pages("/v2/payments", "payments", self._window(since, until))
        return [self._payment(p) for p in payments if p["status"] == "COMPLETED"]

    @staticmethod
    def _payment(p: Json) -> ProviderPayment:
        gross = _money(p["amount_money"])
        fee = Money(sum(int(f["amount_money"]["amount"]) for f in p.get("processing_fee", [])), gross.currency)
        card_details = p.get("card_details") or {}
        entry = card_details.get("entry_method")
        return ProviderPayment(
            provider=PROVIDER,
            provider_ref=str(p["id"]),
            created_at=_when(p["created_at"]),
            gross=gross,
            fee=fee,
            net=gross - fee,
            status=str(p["status"]),
            method="card_present" if entry in _CARD_PRESENT else "card",
            terminal_id=(p.get("device_details") or {}).get("device_id"),
            customer_ref=p.get("customer_id"),
            card_fingerprint=(card_details.get("card") or {}).get("fingerprint"),
            metadata={"location_id": str(p.get("location_id", ""))},
        )

    def list_refunds(self, since: datetime, until: datetime) -> list[ProviderRefund]:
        return [self._refund(r) for r in self._pages("/v2/refunds", "refunds", self._window(since, until))]

    @staticmethod
    def _refund(r: Json) -> ProviderRefund:
        reason = str(r.get("reason") or "")
        key = reason[len(REASON_PREFIX) :] if reason.startswith(REASON_PREFIX) else None
        return ProviderRefund(
            provider=PROVIDER,
            provider_ref=str(r["id"]),
            payment_ref=str(r["payment_id"]),
            amount=_money(r["amount_money"]),
            status=str(r["status"]),
            created_at=_when(r["created_at"]),
            metadata={"outbox_id": key} if key else {},
        )

    def list_payouts(self, since: datetime, until: datetime) -> list[ProviderPayout]:
        return [
            ProviderPayout(
                provider=PROVIDER,
                provider_ref=str(p["id"]),
                amount=_money(p["amount_money"]),
                arrival_date=date.fromisoformat(p["arrival_date"]),
                status=str(p["status"]),
                created_at=_when(p["created_at"]),
            )
            for p in self._pages("/v2/payouts", "payouts", self._window(since, until))
        ]

    def list_payout_entries(self, payout_ref: str) -> list[PayoutEntry]:
        entries = self._pages(f"/v2/payouts/{payout_ref}/payout-entries", "payout_entries")
        return [self._entry(payout_ref, e) for e in entries]

    @staticmethod
    def _entry(payout_ref: str, e: Json) -> PayoutEntry:
        kind = str(e["type"])
        details = e.get(f"type_{kind.lower()}_details") or {}
        source = details.get("refund_id") or details.get("dispute_id") or details.get("payment_id")
        gross = _money(e["gross_amount_money"])
        return PayoutEntry(
            payout_ref=payout_ref,
            entry_type=_ENTRY_TYPES.get(kind, "adjustment"),
            source_ref=str(source) if source else None,
            gross=gross,
            fee=_money(e.get("fee_amount_money"), gross.currency),
            net=_money(e["net_amount_money"]),
        )

    def list_disputes(self, since: datetime, until: datetime) -> list[ProviderDispute]:
        """Disputes created in [since, until) (Square lists all; we filter on ``created_at``)."""
        out = []
        for d in self._pages("/v2/disputes", "disputes"):
            created = _when(d["created_at"])
            if since <= created < until:
                out.append(
                    ProviderDispute(
                        provider=PROVIDER,
                        provider_ref=str(d.get("dispute_id") or d["id"]),
                        payment_ref=str(d["disputed_payment"]["payment_id"]),
                        amount=_money(d["amount_money"]),
                        reason=str(d["reason"]),
                        status=str(d["state"]),
                        evidence_due_by=_when(d["due_at"]) if d.get("due_at") else None,
                        created_at=created,
                    )
                )
        return out

    # ------------------------------------------------------------------ refunds

    def find_refund(self, idempotency_key: str, payment_ref: str | None = None) -> ProviderRefund | None:
        """The refund made with this key: among the payment's refunds, or all refunds if no payment."""
        refunds: Iterator[Json]
        if payment_ref:
            payment = self._call("GET", f"/v2/payments/{payment_ref}")["payment"]
            refunds = (self._call("GET", f"/v2/refunds/{rid}")["refund"] for rid in payment.get("refund_ids", []))
        else:
            refunds = self._pages("/v2/refunds", "refunds")
        for refund in refunds:
            found = self._refund(refund)
            if found.metadata.get("outbox_id") == idempotency_key:
                return found
        return None

    def create_refund(self, payment_ref: str, amount: Money, idempotency_key: str) -> ProviderRefund:
        """Refund once per key: look it up first, then POST with Square's own idempotency key."""
        existing = reuse_refund(PROVIDER, self.find_refund(idempotency_key, payment_ref), amount, idempotency_key)
        if existing is not None:
            return existing
        body = {
            "idempotency_key": idempotency_key,
            "payment_id": payment_ref,
            "amount_money": {"amount": amount.minor, "currency": amount.currency},
            "reason": REASON_PREFIX + idempotency_key,
        }
        return self._refund(self._call("POST", "/v2/refunds", json=body)["refund"])


def _refusal(response: httpx.Response) -> str:
    """Square's error details as one readable sentence (never the request, never credentials)."""
    try:
        errors = response.json().get("errors", [])
        detail = "; ".join(str(e.get("detail") or e.get("code")) for e in errors)
    except ValueError:
        detail = ""
    return f"Square refused the request ({response.status_code}): {detail or 'no detail given'}"
