"""A loopback fake of PayPal's REST API for refunds of captured payments, following PayPal's shapes.

Implemented: ``POST /v1/oauth2/token`` (client credentials, HTTP Basic), ``GET /v2/payments/captures/{id}``,
``POST /v2/payments/captures/{id}/refund`` (partial refunds with ``amount{value,currency_code}``,
``custom_id``; ``PayPal-Request-Id`` honoured: the same id returns the first answer; more than the
unrefunded rest gives 422 ``UNPROCESSABLE_ENTITY`` / ``REFUND_AMOUNT_EXCEEDED``; ``Prefer:
return=representation`` for the full refund), ``GET /v2/payments/refunds/{id}`` and
``GET /v1/reporting/transactions`` (Transaction Search: captures T0006 and refunds T1107, with
``custom_field`` carrying the caller's ``custom_id``). Errors use PayPal's
``{"name", "message", "debug_id", "details": [{"issue", "description"}]}`` shape.

Control endpoints under ``/_sandbox/``: add a capture, fail the next N API calls with 503.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from aiohttp import web

from sandboxes.localstripe_server import StopCallable, serve_app

Json = dict[str, Any]
FEE_RATE, FEE_FIXED = Decimal("0.029"), Decimal("0.30")  # PayPal UK standard rate, for the breakdown
CENT = Decimal("0.01")


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _amount(value: Decimal, currency: str) -> Json:
    return {"currency_code": currency, "value": str(value.quantize(CENT))}


def _problem(status: int, name: str, message: str, issue: str, description: str) -> web.Response:
    body = {
        "name": name,
        "message": message,
        "debug_id": secrets.token_hex(6),
        "details": [{"issue": issue, "description": description}],
    }
    return web.json_response(body, status=status)


@dataclass
class PayPalState:
    client_id: str
    secret: str
    tokens: set[str] = field(default_factory=set)
    captures: dict[str, Json] = field(default_factory=dict)
    refunds: dict[str, Json] = field(default_factory=dict)
    by_request_id: dict[str, tuple[int, Json]] = field(default_factory=dict)
    fail_next: int = 0


class PayPalSandbox:
    """The aiohttp app and its state; ``state`` is inspectable from tests."""

    def __init__(self, client_id: str, secret: str) -> None:
        self.state = PayPalState(client_id, secret)
        self.app = web.Application(middlewares=[self._gate])
        r = self.app.router
        r.add_post("/v1/oauth2/token", self.token)
        r.add_get("/v2/payments/captures/{id}", self.get_capture)
        r.add_post("/v2/payments/captures/{id}/refund", self.refund)
        r.add_get("/v2/payments/refunds/{id}", self.get_refund)
        r.add_get("/v1/reporting/transactions", self.search)
        r.add_post("/_sandbox/captures", self.add_capture)
        r.add_post("/_sandbox/fail", self.fail)

    @web.middleware
    async def _gate(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path.startswith(("/v1/", "/v2/")):
            if self.state.fail_next > 0:
                self.state.fail_next -= 1
                return _problem(
                    503,
                    "SERVICE_UNAVAILABLE",
                    "Service Unavailable.",
                    "SERVICE_UNAVAILABLE",
                    "The service is temporarily unavailable.",
                )
            if request.path != "/v1/oauth2/token":
                auth = request.headers.get("Authorization", "")
                if not auth.startswith("Bearer ") or auth[7:] not in self.state.tokens:
                    return web.json_response(
                        {
                            "error": "invalid_token",
                            "error_description": "Token signature verification failed",
                        },
                        status=401,
                    )
        response: web.StreamResponse = await handler(request)
        return response

    async def token(self, request: web.Request) -> web.Response:
        expected = base64.b64encode(f"{self.state.client_id}:{self.state.secret}".encode()).decode()
        form = await request.post()
        if (
            request.headers.get("Authorization") != f"Basic {expected}"
            or form.get("grant_type") != "client_credentials"
        ):
            return web.json_response(
                {"error": "invalid_client", "error_description": "Client Authentication failed"}, status=401
            )
        token = "A21AA" + secrets.token_urlsafe(24)
        self.state.tokens.add(token)
        return web.json_response(
            {
                "scope": "https://uri.paypal.com/services/payments/refund",
                "access_token": token,
                "token_type": "Bearer",
                "app_id": "APP-SANDBOX",
                "expires_in": 32400,
                "nonce": secrets.token_hex(8),
            }
        )

    async def get_capture(self, request: web.Request) -> web.Response:
        capture = self.state.captures.get(request.match_info["id"])
        if capture is None:
            return _not_found()
        return web.json_response(capture)

    async def refund(self, request: web.Request) -> web.Response:
        request_id = request.headers.get("PayPal-Request-Id")
        if request_id and request_id in self.state.by_request_id:
            status, body = self.state.by_request_id[request_id]
            return web.json_response(body, status=status)
        capture = self.state.captures.get(request.match_info["id"])
        if capture is None:
            return _not_found()
        data = await request.json() if request.can_read_body else {}
        currency = capture["amount"]["currency_code"]
        rest = Decimal(capture["amount"]["value"]) - capture["_refunded"]
        wanted = Decimal(data["amount"]["value"]) if "amount" in data else rest
        if "amount" in data and data["amount"]["currency_code"] != currency:
            return _problem(
                422,
                "UNPROCESSABLE_ENTITY",
                _SEMANTIC,
                "CURRENCY_MISMATCH",
                "Refund must be in the same currency as the capture.",
            )
        if wanted <= 0 or wanted > rest:
            return _problem(
                422,
                "UNPROCESSABLE_ENTITY",
                _SEMANTIC,
                "REFUND_AMOUNT_EXCEEDED",
                "The refund amount must be less than or equal to the capture amount that has not yet been refunded.",
            )
        now = _iso(datetime.now(UTC))
        refund_id = secrets.token_hex(8).upper()
        capture["_refunded"] += wanted
        refund = {
            "id": refund_id,
            "amount": _amount(wanted, currency),
            "status": "COMPLETED",
            "custom_id": data.get("custom_id"),
            "invoice_id": data.get("invoice_id"),
            "note_to_payer": data.get("note_to_payer"),
            "create_time": now,
            "update_time": now,
            "seller_payable_breakdown": {
                "gross_amount": _amount(wanted, currency),
                "paypal_fee": _amount(Decimal(0), currency),
                "net_amount": _amount(wanted, currency),
                "total_refunded_amount": _amount(capture["_refunded"], currency),
            },
            "links": [
                {"href": f"/v2/payments/refunds/{refund_id}", "rel": "self", "method": "GET"},
                {"href": f"/v2/payments/captures/{capture['id']}", "rel": "up", "method": "GET"},
            ],
            "_capture": capture["id"],
        }
        self.state.refunds[refund_id] = refund
        capture["status"] = (
            "REFUNDED" if capture["_refunded"] == Decimal(capture["amount"]["value"]) else "PARTIALLY_REFUNDED"
        )
        full = "return=representation" in request.headers.get("Prefer", "")
        body = _public(refund) if full else {"id": refund_id, "status": "COMPLETED", "links": refund["links"]}
        if request_id:
            self.state.by_request_id[request_id] = (201, body)
        return web.json_response(body, status=201)

    async def get_refund(self, request: web.Request) -> web.Response:
        refund = self.state.refunds.get(request.match_info["id"])
        if refund is None:
            return _not_found()
        return web.json_response(_public(refund))

    async def search(self, request: web.Request) -> web.Response:
        q = request.query
        start, end = q.get("start_date"), q.get("end_date")
        if not start or not end:
            return _problem(
                400,
                "INVALID_REQUEST",
                "Request is not well-formed.",
                "MISSING_REQUIRED_PARAMETER",
                "start_date and end_date are required.",
            )
        lo, hi = (
            datetime.fromisoformat(start.replace("Z", "+00:00")),
            datetime.fromisoformat(end.replace("Z", "+00:00")),
        )
        rows = [self._row(c, "T0006") for c in self.state.captures.values()]
        rows += [self._row(r, "T1107") for r in self.state.refunds.values()]
        rows = [r for r in rows if lo <= _when(r["transaction_info"]["transaction_initiation_date"]) < hi]
        if "transaction_type" in q:
            rows = [r for r in rows if r["transaction_info"]["transaction_event_code"] == q["transaction_type"]]
        size, page = int(q.get("page_size", "100")), int(q.get("page", "1"))
        pages = max(1, -(-len(rows) // size))
        return web.json_response(
            {
                "transaction_details": rows[(page - 1) * size : page * size],
                "account_number": "SANDBOXCLINIC",
                "start_date": start,
                "end_date": end,
                "page": page,
                "total_items": len(rows),
                "total_pages": pages,
            }
        )

    @staticmethod
    def _row(obj: Json, code: str) -> Json:
        refund = code == "T1107"
        value = Decimal(obj["amount"]["value"])
        fee = Decimal(obj["seller_receivable_breakdown"]["paypal_fee"]["value"]) if not refund else Decimal(0)
        currency = obj["amount"]["currency_code"]
        info = {
            "transaction_id": obj["id"],
            "transaction_event_code": code,
            "transaction_initiation_date": obj["create_time"],
            "transaction_updated_date": obj["update_time"],
            "transaction_amount": _amount(-value if refund else value, currency),
            "fee_amount": _amount(-fee, currency),
            "transaction_status": "S",
            "custom_field": obj.get("custom_id") or "",
        }
        if refund:
            info["paypal_reference_id"] = obj["_capture"]
            info["paypal_reference_id_type"] = "TXN"
        return {"transaction_info": info}

    async def add_capture(self, request: web.Request) -> web.Response:
        """Body: {"value": "45.00", "currency_code": "GBP", "custom_id"?}."""
        data = await request.json()
        value, currency = Decimal(data["value"]), data.get("currency_code", "GBP")
        fee = (value * FEE_RATE + FEE_FIXED).quantize(CENT, rounding=ROUND_HALF_UP)
        now = _iso(datetime.now(UTC))
        capture_id = secrets.token_hex(8).upper()
        self.state.captures[capture_id] = {
            "id": capture_id,
            "status": "COMPLETED",
            "amount": _amount(value, currency),
            "final_capture": True,
            "custom_id": data.get("custom_id"),
            "create_time": now,
            "update_time": now,
            "seller_receivable_breakdown": {
                "gross_amount": _amount(value, currency),
                "paypal_fee": _amount(fee, currency),
                "net_amount": _amount(value - fee, currency),
            },
            "links": [{"href": f"/v2/payments/captures/{capture_id}", "rel": "self", "method": "GET"}],
            "_refunded": Decimal(0),
        }
        return web.json_response(_public(self.state.captures[capture_id]))

    async def fail(self, request: web.Request) -> web.Response:
        """Body: {"count": N}: the next N API calls answer 503."""
        self.state.fail_next = int((await request.json())["count"])
        return web.json_response({"fail_next": self.state.fail_next})


_SEMANTIC = "The requested action could not be performed, semantically incorrect, or failed business validation."


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _public(obj: Json) -> Json:
    return {k: v for k, v in obj.items() if not k.startswith("_")}


def _not_found() -> web.Response:
    return _problem(
        404,
        "RESOURCE_NOT_FOUND",
        "The specified resource does not exist.",
        "INVALID_RESOURCE_ID",
        "Specified resource ID does not exist. Please check the resource ID and try again.",
    )


def start_paypal(client_id: str, secret: str) -> tuple[str, StopCallable, PayPalSandbox]:
    """Serve the PayPal sandbox on 127.0.0.1 (free port); returns (base_url, stop, sandbox)."""
    sandbox = PayPalSandbox(client_id, secret)
    base_url, stop = serve_app(sandbox.app)
    return base_url, stop, sandbox
