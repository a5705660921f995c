"""A loopback fake of Square's v2 API for card takings, following Square's documented shapes.

Implemented: ``GET /v2/payments`` (begin_time, end_time, cursor), ``GET /v2/payments/{id}``,
``POST /v2/refunds`` (idempotency_key required and honoured: the same key with the same request
returns the same refund, with a different request ``IDEMPOTENCY_KEY_REUSED``), ``GET /v2/refunds``,
``GET /v2/refunds/{id}``, ``GET /v2/payouts`` (begin_time, end_time), ``GET /v2/payouts/{id}/payout-entries``
and ``GET /v2/disputes``. Requests need ``Authorization: Bearer <token>``; errors use Square's
``{"errors": [{"category", "code", "detail"}]}`` shape.

Seed and control endpoints for tests and the demo live under ``/_sandbox/``: add a payment, a
dispute, pay out everything not yet paid out, and fail the next N API calls with 503.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from aiohttp import web

from sandboxes.localstripe_server import StopCallable, serve_app

Json = dict[str, Any]
PAGE = 2  # small on purpose so clients must follow ``cursor``
FEE_RATE = Decimal("0.0175")  # Square UK in-person card rate


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _money(amount: int, currency: str) -> Json:
    return {"amount": amount, "currency": currency}


def _errors(status: int, category: str, code: str, detail: str, fld: str | None = None) -> web.Response:
    error = {"category": category, "code": code, "detail": detail} | ({"field": fld} if fld else {})
    return web.json_response({"errors": [error]}, status=status)


@dataclass
class SquareState:
    token: str
    location_id: str = "L_CLINIC_MAIN"
    payments: dict[str, Json] = field(default_factory=dict)
    refunds: dict[str, Json] = field(default_factory=dict)
    refund_keys: dict[str, tuple[Json, str]] = field(default_factory=dict)  # key -> (request, refund id)
    disputes: dict[str, Json] = field(default_factory=dict)
    payouts: dict[str, Json] = field(default_factory=dict)
    entries: dict[str, list[Json]] = field(default_factory=dict)
    settled: set[str] = field(default_factory=set)  # ids of payments/refunds/disputes already paid out
    fail_next: int = 0


def _page(request: web.Request, items: list[Json], key: str, time_field: str = "created_at") -> web.Response:
    q = request.query
    if "begin_time" in q:
        items = [i for i in items if _parse(i[time_field]) >= _parse(q["begin_time"])]
    if "end_time" in q:
        items = [i for i in items if _parse(i[time_field]) < _parse(q["end_time"])]
    items = sorted(items, key=lambda i: (i[time_field], i["id"]))
    start = int(q.get("cursor", "0") or 0)
    body: Json = {key: items[start : start + PAGE]}
    if start + PAGE < len(items):
        body["cursor"] = str(start + PAGE)
    return web.json_response(body)


class SquareSandbox:
    """The aiohttp app and its state; ``state`` is inspectable from tests."""

    def __init__(self, token: str) -> None:
        self.state = SquareState(token)
        self.app = web.Application(middlewares=[self._gate])
        r = self.app.router
        r.add_get("/v2/payments", self.list_payments)
        r.add_get("/v2/payments/{id}", self.get_payment)
        r.add_post("/v2/refunds", self.refund_payment)
        r.add_get("/v2/refunds", self.list_refunds)
        r.add_get("/v2/refunds/{id}", self.get_refund)
        r.add_get("/v2/payouts", self.list_payouts)
        r.add_get("/v2/payouts/{id}/payout-entries", self.list_payout_entries)
        r.add_get("/v2/disputes", self.list_disputes)
        r.add_post("/_sandbox/payments", self.add_payment)
        r.add_post("/_sandbox/disputes", self.add_dispute)
        r.add_post("/_sandbox/payouts", self.add_payout)
        r.add_post("/_sandbox/fail", self.fail)

    @web.middleware
    async def _gate(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path.startswith("/v2/"):
            if self.state.fail_next > 0:
                self.state.fail_next -= 1
                return _errors(503, "API_ERROR", "SERVICE_UNAVAILABLE", "Service temporarily unavailable.")
            if request.headers.get("Authorization") != f"Bearer {self.state.token}":
                return _errors(401, "AUTHENTICATION_ERROR", "UNAUTHORIZED", "This request could not be authorized.")
        response: web.StreamResponse = await handler(request)
        return response

    # ------------------------------------------------------------------ API

    async def list_payments(self, request: web.Request) -> web.Response:
        return _page(request, list(self.state.payments.values()), "payments")

    async def get_payment(self, request: web.Request) -> web.Response:
        payment = self.state.payments.get(request.match_info["id"])
        if payment is None:
            return _errors(404, "INVALID_REQUEST_ERROR", "NOT_FOUND", "Payment not found.")
        return web.json_response({"payment": payment})

    async def refund_payment(self, request: web.Request) -> web.Response:
        body = await request.json()
        key = body.get("idempotency_key")
        if not key:
            return _errors(
                400,
                "INVALID_REQUEST_ERROR",
                "MISSING_REQUIRED_PARAMETER",
                "Field must be set",
                "idempotency_key",
            )
        if key in self.state.refund_keys:
            earlier, refund_id = self.state.refund_keys[key]
            if earlier != body:
                return _errors(
                    400,
                    "INVALID_REQUEST_ERROR",
                    "IDEMPOTENCY_KEY_REUSED",
                    "The idempotency key can only be retried with the same request data.",
                )
            return web.json_response({"refund": self.state.refunds[refund_id]})
        payment = self.state.payments.get(body.get("payment_id", ""))
        if payment is None:
            return _errors(404, "INVALID_REQUEST_ERROR", "NOT_FOUND", "Payment not found.", "payment_id")
        amount = int(body["amount_money"]["amount"])
        remaining = payment["amount_money"]["amount"] - payment["refunded_money"]["amount"]
        if amount <= 0 or amount > remaining:
            return _errors(
                400,
                "INVALID_REQUEST_ERROR",
                "REFUND_AMOUNT_INVALID",
                f"The requested refund amount exceeds the amount available to refund ({remaining}).",
                "amount_money.amount",
            )
        now = _iso(datetime.now(UTC))
        refund = {
            "id": f"{payment['id']}_{secrets.token_hex(8)}",
            "status": "COMPLETED",
            "amount_money": _money(amount, body["amount_money"]["currency"]),
            "payment_id": payment["id"],
            "location_id": payment["location_id"],
            "order_id": payment["order_id"],
            "reason": body.get("reason", ""),
            "created_at": now,
            "updated_at": now,
        }
        self.state.refunds[refund["id"]] = refund
        self.state.refund_keys[key] = (body, refund["id"])
        payment["refunded_money"]["amount"] += amount
        payment.setdefault("refund_ids", []).append(refund["id"])
        return web.json_response({"refund": refund})

    async def list_refunds(self, request: web.Request) -> web.Response:
        return _page(request, list(self.state.refunds.values()), "refunds")

    async def get_refund(self, request: web.Request) -> web.Response:
        refund = self.state.refunds.get(request.match_info["id"])
        if refund is None:
            return _errors(404, "INVALID_REQUEST_ERROR", "NOT_FOUND", "Refund not found.")
        return web.json_response({"refund": refund})

    async def list_payouts(self, request: web.Request) -> web.Response:
        return _page(request, list(self.state.payouts.values()), "payouts")

    async def list_payout_entries(self, request: web.Request) -> web.Response:
        entries = self.state.entries.get(request.match_info["id"])
        if entries is None:
            return _errors(404, "INVALID_REQUEST_ERROR", "NOT_FOUND", "Payout not found.")
        return _page(request, entries, "payout_entries", "effective_at")

    async def list_disputes(self, request: web.Request) -> web.Response:
        items = list(self.state.disputes.values())
        if "states" in request.query:
            items = [d for d in items if d["state"] in request.query["states"].split(",")]
        return _page(request, items, "disputes")

    # ------------------------------------------------------------------ control

    async def add_payment(self, request: web.Request) -> web.Response:
        """Body: {"amount": 4500, "currency"?, "fingerprint"?, "device_id"?, "customer_id"?, "created_at"?}"""
        body = await request.json()
        amount, currency = int(body["amount"]), body.get("currency", "GBP")
        created = body.get("created_at") or _iso(datetime.now(UTC))
        fee = int((Decimal(amount) * FEE_RATE).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        payment_id = secrets.token_hex(12)
        self.state.payments[payment_id] = {
            "id": payment_id,
            "created_at": created,
            "updated_at": created,
            "amount_money": _money(amount, currency),
            "total_money": _money(amount, currency),
            "approved_money": _money(amount, currency),
            "refunded_money": _money(0, currency),
            "processing_fee": [{"effective_at": created, "type": "INITIAL", "amount_money": _money(fee, currency)}],
            "status": "COMPLETED",
            "source_type": "CARD",
            "card_details": {
                "status": "CAPTURED",
                "entry_method": body.get("entry_method", "CONTACTLESS"),
                "card": {
                    "card_brand": "VISA",
                    "last_4": "1111",
                    "fingerprint": body.get("fingerprint", "sq-1-" + secrets.token_hex(10)),
                },
            },
            "device_details": {
                "device_id": body.get("device_id", "device:reader-front-desk"),
                "device_name": "Front desk reader",
            },
            "location_id": self.state.location_id,
            "order_id": secrets.token_hex(12),
            "customer_id": body.get("customer_id"),
            "note": body.get("note", ""),
        }
        return web.json_response({"payment": self.state.payments[payment_id]})

    async def add_dispute(self, request: web.Request) -> web.Response:
        """Body: {"payment_id", "reason"?, "state"?, "amount"?, "due_at"?}."""
        body = await request.json()
        payment = self.state.payments[body["payment_id"]]
        now = datetime.now(UTC)
        dispute_id = secrets.token_hex(11)
        currency = payment["amount_money"]["currency"]
        self.state.disputes[dispute_id] = {
            "dispute_id": dispute_id,
            "id": dispute_id,
            "amount_money": _money(int(body.get("amount", payment["amount_money"]["amount"])), currency),
            "reason": body.get("reason", "NOT_AS_DESCRIBED"),
            "state": body.get("state", "EVIDENCE_REQUIRED"),
            "due_at": body.get("due_at") or _iso(now + timedelta(days=7)),
            "disputed_payment": {"payment_id": payment["id"]},
            "card_brand": "VISA",
            "created_at": _iso(now),
            "updated_at": _iso(now),
            "location_id": payment["location_id"],
        }
        return web.json_response({"dispute": self.state.disputes[dispute_id]})

    async def add_payout(self, request: web.Request) -> web.Response:
        """Body: {"currency": "GBP", "status"?: "PAID"|"SENT", "arrival_date"?}: pay out all unsettled."""
        body = await request.json()
        currency = body.get("currency", "GBP")
        now = datetime.now(UTC)
        payout_id = "po_" + secrets.token_hex(10)
        entries = [e for e in self._unsettled(currency, payout_id, _iso(now))]
        if not entries:
            return _errors(400, "INVALID_REQUEST_ERROR", "BAD_REQUEST", "Nothing to pay out.")
        total = sum(e["net_amount_money"]["amount"] for e in entries)
        self.state.entries[payout_id] = entries
        self.state.payouts[payout_id] = {
            "id": payout_id,
            "status": body.get("status", "PAID"),
            "location_id": self.state.location_id,
            "created_at": _iso(now),
            "updated_at": _iso(now),
            "amount_money": _money(total, currency),
            "destination": {"type": "BANK_ACCOUNT", "id": "bact:clinic-current-account"},
            "version": 1,
            "type": "BATCH",
            "arrival_date": body.get("arrival_date", (now + timedelta(days=1)).date().isoformat()),
        }
        return web.json_response({"payout": self.state.payouts[payout_id]})

    def _unsettled(self, currency: str, payout_id: str, when: str) -> list[Json]:
        def entry(kind: str, source: str, gross: int, fee: int, details: Json) -> Json:
            self.state.settled.add(source)
            return {
                "id": "poe_" + secrets.token_hex(8),
                "payout_id": payout_id,
                "effective_at": when,
                "type": kind,
                "gross_amount_money": _money(gross, currency),
                "fee_amount_money": _money(fee, currency),
                "net_amount_money": _money(gross - fee, currency),
                **details,
            }

        out = []
        for p in self.state.payments.values():
            if p["id"] not in self.state.settled and p["amount_money"]["currency"] == currency:
                fee = sum(f["amount_money"]["amount"] for f in p["processing_fee"])
                out.append(
                    entry(
                        "CHARGE",
                        p["id"],
                        p["amount_money"]["amount"],
                        fee,
                        {"type_charge_details": {"payment_id": p["id"]}},
                    )
                )
        for r in self.state.refunds.values():
            if r["id"] not in self.state.settled and r["amount_money"]["currency"] == currency:
                out.append(
                    entry(
                        "REFUND",
                        r["id"],
                        -r["amount_money"]["amount"],
                        0,
                        {"type_refund_details": {"payment_id": r["payment_id"], "refund_id": r["id"]}},
                    )
                )
        for d in self.state.disputes.values():
            if d["id"] not in self.state.settled and d["amount_money"]["currency"] == currency:
                out.append(
                    entry(
                        "DISPUTE",
                        d["id"],
                        -d["amount_money"]["amount"],
                        0,
                        {"type_dispute_details": {"dispute_id": d["id"], "dispute_state": d["state"]}},
                    )
                )
        return out

    async def fail(self, request: web.Request) -> web.Response:
        """Body: {"count": N}: the next N API calls answer 503."""
        self.state.fail_next = int((await request.json())["count"])
        return web.json_response({"fail_next": self.state.fail_next})


def start_square(token: str) -> tuple[str, StopCallable, SquareSandbox]:
    """Serve the Square sandbox on 127.0.0.1 (free port); returns (base_url, stop, sandbox)."""
    sandbox = SquareSandbox(token)
    base_url, stop = serve_app(sandbox.app)
    return base_url, stop, sandbox
