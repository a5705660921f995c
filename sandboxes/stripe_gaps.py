"""A loopback front for localstripe that fills only what localstripe lacks, in Stripe's documented shapes.

The connector gets ONE api base URL (this server), exactly as with real Stripe. Everything this
server does not implement is proxied unchanged to localstripe. It adds:

* **Processing fees** on balance transactions (localstripe always says ``fee: 0``): every
  ``balance_transaction`` object of type ``charge`` in any response gets ``fee``, ``fee_details``
  and ``net`` from a fee schedule (default UK cards: 1.5 % + 20p, rounded half up).
* **List filters** localstripe refuses: ``created[gte|gt|lte|lt]`` on payment_intents, charges,
  refunds, payouts, disputes and balance_transactions; ``type`` and ``payout`` on
  balance_transactions; ``arrival_date[...]`` on payouts. Lists are newest first and paginate with
  ``limit``/``starting_after`` and ``has_more``.
* **Automatic payouts** in any currency (localstripe only does manual EUR payouts, unlinked to
  transactions): ``POST /_gaps/payouts`` sweeps every not-yet-paid-out transaction of a currency
  into a payout ``po_...`` with its own ``type: payout`` transaction, so
  ``GET /v1/balance_transactions?payout=po_...`` lists what it settled.
* **Disputes**: ``GET /v1/disputes``, ``GET /v1/disputes/{id}`` (``evidence_details.due_by``,
  status ``needs_response``/``under_review``/``won``/``lost``). ``POST /_gaps/disputes`` opens one on
  a charge and books Stripe's dispute debit (``adjustment``/``dispute``, amount and dispute fee).

Control endpoints live under ``/_gaps/`` (never called by the app); ``POST /_gaps/fail {"count": N}``
makes the next N API calls answer 503.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import aiohttp
import httpx
from aiohttp import web

from sandboxes.localstripe_server import StopCallable, serve_app

Json = dict[str, Any]
_LISTS = ("payment_intents", "charges", "refunds", "payouts", "balance_transactions")
_CONTROL_AUTH = {"Authorization": "Bearer sk_test_gaps_control"}
_HOP_HEADERS = {"host", "content-length", "transfer-encoding", "connection", "accept-encoding"}
_OWN_FILTERS = {"created", "limit", "starting_after", "ending_before", "arrival_date", "payout", "type"}


@dataclass
class FeeSchedule:
    """Card processing fee: ``percent`` of the amount (rounded half up) plus ``fixed`` minor units."""

    percent: Decimal = Decimal("0.015")
    fixed: int = 20
    dispute_fee: int = 2000

    def fee_for(self, amount: int) -> int:
        return int((Decimal(amount) * self.percent).quantize(Decimal(1), rounding=ROUND_HALF_UP)) + self.fixed


@dataclass
class GapsState:
    fees: FeeSchedule
    disputes: dict[str, Json] = field(default_factory=dict)
    payouts: dict[str, Json] = field(default_factory=dict)
    own_txns: dict[str, Json] = field(default_factory=dict)
    paid_out: dict[str, str] = field(default_factory=dict)  # txn id -> payout id
    fail_next: int = 0


def _new_id(prefix: str) -> str:
    return prefix + secrets.token_hex(7)


def _error(status: int, message: str, kind: str = "invalid_request_error") -> web.Response:
    return web.json_response({"error": {"type": kind, "message": message}}, status=status)


def _add_fees(node: Any, fees: FeeSchedule) -> Any:
    """Walk a JSON tree; give every charge balance transaction its processing fee."""
    if isinstance(node, list):
        return [_add_fees(item, fees) for item in node]
    if isinstance(node, dict):
        out = {key: _add_fees(value, fees) for key, value in node.items()}
        if out.get("object") == "balance_transaction" and out.get("type") == "charge" and not out.get("fee"):
            fee = fees.fee_for(int(out["amount"]))
            out["fee"] = fee
            out["net"] = int(out["amount"]) - fee
            out["fee_details"] = [
                {
                    "amount": fee,
                    "application": None,
                    "currency": out["currency"],
                    "description": "Stripe processing fees",
                    "type": "stripe_fee",
                }
            ]
        return out
    return node


def _range_ok(value: int, query: Json, name: str) -> bool:
    checks: dict[str, Callable[[int, int], bool]] = {
        "gte": lambda a, b: a >= b,
        "gt": lambda a, b: a > b,
        "lte": lambda a, b: a <= b,
        "lt": lambda a, b: a < b,
    }
    if name in query:
        return value == int(query[name])
    for op, check in checks.items():
        bound = query.get(f"{name}[{op}]")
        if bound is not None and not check(value, int(bound)):
            return False
    return True


def _page(items: list[Json], query: Json, url: str, max_page: int = 100) -> Json:
    items = sorted(items, key=lambda o: -int(o.get("created", 0)))
    start = 0
    after = query.get("starting_after")
    if after:
        ids = [o.get("id") for o in items]
        start = ids.index(after) + 1 if after in ids else len(items)
    limit = min(int(query.get("limit", 10)), max_page)
    chunk = items[start : start + limit]
    return {"object": "list", "url": url, "has_more": start + limit < len(items), "data": chunk}


class StripeGaps:
    """The aiohttp app; ``upstream`` is localstripe's base URL.

    ``max_page`` caps ``limit`` (Stripe caps it at 100); tests set it low so clients must paginate.
    """

    def __init__(self, upstream: str, fees: FeeSchedule | None = None, max_page: int = 100) -> None:
        self.upstream = upstream.rstrip("/")
        self.max_page = max_page
        self.state = GapsState(fees or FeeSchedule())
        self._session: aiohttp.ClientSession | None = None
        self.app = web.Application(middlewares=[self._gate])
        self.app.on_startup.append(self._open)
        self.app.on_cleanup.append(self._close)
        r = self.app.router
        r.add_post("/_gaps/disputes", self.open_dispute)
        r.add_post("/_gaps/disputes/{id}", self.update_dispute)
        r.add_post("/_gaps/payouts", self.automatic_payout)
        r.add_post("/_gaps/fail", self.fail)
        r.add_get("/v1/disputes", self.list_disputes)
        r.add_get("/v1/disputes/{id}", self.get_dispute)
        r.add_get("/v1/payouts/{id}", self.get_payout)
        r.add_get("/v1/balance_transactions/{id}", self.get_txn)
        for name in _LISTS:
            r.add_get(f"/v1/{name}", self.list_filtered)
        r.add_route("*", "/{tail:.*}", self.proxy)

    @web.middleware
    async def _gate(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path.startswith("/v1/") and self.state.fail_next > 0:
            self.state.fail_next -= 1
            return _error(503, "Stripe is temporarily unavailable.", "api_error")
        response: web.StreamResponse = await handler(request)
        return response

    async def fail(self, request: web.Request) -> web.Response:
        """Body: {"count": N}: the next N API calls answer 503."""
        self.state.fail_next = int((await request.json())["count"])
        return web.json_response({"fail_next": self.state.fail_next})

    async def _open(self, _app: web.Application) -> None:
        self._session = aiohttp.ClientSession()

    async def _close(self, _app: web.Application) -> None:
        if self._session is not None:
            await self._session.close()

    # ------------------------------------------------------------------ upstream

    async def _upstream(
        self, method: str, path: str, headers: Any, params: Any = None, body: bytes | None = None
    ) -> tuple[int, bytes, str]:
        assert self._session is not None
        keep = {k: v for k, v in headers.items() if k.lower() not in _HOP_HEADERS}
        async with self._session.request(method, self.upstream + path, params=params, data=body, headers=keep) as resp:
            return resp.status, await resp.read(), resp.content_type

    async def _get_json(self, headers: Any, path: str, params: Any = None) -> Json:
        status, body, _ = await self._upstream("GET", path, headers, params)
        if status != 200:
            raise _UpstreamError(status, body)
        return _add_fees(json.loads(body), self.state.fees)  # type: ignore[no-any-return]

    async def _all_upstream(self, headers: Any, query: Any, path: str) -> list[Json]:
        passthrough = [(k, v) for k, v in query.items() if k.split("[")[0] not in _OWN_FILTERS]
        items: list[Json] = []
        after: str | None = None
        while True:
            params = [*passthrough, ("limit", "100")] + ([("starting_after", after)] if after else [])
            page = await self._get_json(headers, path, params)
            items.extend(page["data"])
            if not page.get("has_more") or not page["data"]:
                return items
            after = page["data"][-1]["id"]

    # ------------------------------------------------------------------ routes

    async def proxy(self, request: web.Request) -> web.Response:
        body = await request.read()
        status, payload, ctype = await self._upstream(
            request.method, request.path, request.headers, list(request.query.items()), body or None
        )
        if ctype == "application/json" and payload:
            payload = json.dumps(_add_fees(json.loads(payload), self.state.fees)).encode()
        return web.Response(status=status, body=payload, content_type=ctype or "application/json")

    async def list_filtered(self, request: web.Request) -> web.Response:
        name = request.path.rsplit("/", 1)[-1]
        q = dict(request.query)
        try:
            items = await self._all_upstream(request.headers, request.query, request.path)
        except _UpstreamError as exc:
            return exc.response()
        if name == "payouts":
            items += list(self.state.payouts.values())
            items = [p for p in items if _range_ok(int(p["arrival_date"]), q, "arrival_date")]
        if name == "balance_transactions":
            items += [self._expand_source(t, q) for t in self.state.own_txns.values()]
            if "type" in q:
                items = [t for t in items if t["type"] == q["type"]]
            if "payout" in q:
                items = [
                    t
                    for t in items
                    if self.state.paid_out.get(t["id"]) == q["payout"]
                    or (t["type"] == "payout" and _source_id(t) == q["payout"])
                ]
        items = [o for o in items if _range_ok(int(o["created"]), q, "created")]
        return web.json_response(_page(items, q, request.path, self.max_page))

    def _expand_source(self, txn: Json, query: Json) -> Json:
        wants = any(v == "data.source" for k, v in query.items() if k.startswith("expand"))
        source = txn["source"]
        if wants and isinstance(source, str):
            found = self.state.disputes.get(source) or self.state.payouts.get(source)
            return {**txn, "source": found or source}
        return txn

    async def get_txn(self, request: web.Request) -> web.Response:
        txn = self.state.own_txns.get(request.match_info["id"])
        if txn is not None:
            return web.json_response(txn)
        return await self.proxy(request)

    async def get_payout(self, request: web.Request) -> web.Response:
        payout = self.state.payouts.get(request.match_info["id"])
        if payout is not None:
            return web.json_response(payout)
        return await self.proxy(request)

    async def list_disputes(self, request: web.Request) -> web.Response:
        q = dict(request.query)
        items = [d for d in self.state.disputes.values() if _range_ok(int(d["created"]), q, "created")]
        for key in ("charge", "payment_intent"):
            if key in q:
                items = [d for d in items if d[key] == q[key]]
        return web.json_response(_page(items, q, "/v1/disputes", self.max_page))

    async def get_dispute(self, request: web.Request) -> web.Response:
        dispute = self.state.disputes.get(request.match_info["id"])
        if dispute is None:
            return _error(404, f"No such dispute: '{request.match_info['id']}'")
        return web.json_response(dispute)

    # ------------------------------------------------------------------ control

    async def open_dispute(self, request: web.Request) -> web.Response:
        """Body: {"charge": "ch_...", "reason": "fraudulent", "status": "needs_response",
        "amount": optional, "due_by": optional unix time (default now + 7 days)}."""
        data = await request.json()
        try:
            charge = await self._get_json(_CONTROL_AUTH, f"/v1/charges/{data['charge']}")
        except _UpstreamError as exc:
            return exc.response()
        now = int(time.time())
        amount = int(data.get("amount", charge["amount"]))
        dispute_id = _new_id("dp_")
        txn = self._txn(
            "adjustment",
            "dispute",
            -amount,
            self.state.fees.dispute_fee,
            charge["currency"],
            dispute_id,
            "Chargeback withdrawal",
        )
        self.state.disputes[dispute_id] = {
            "id": dispute_id,
            "object": "dispute",
            "amount": amount,
            "currency": charge["currency"],
            "charge": charge["id"],
            "payment_intent": charge.get("payment_intent"),
            "created": now,
            "reason": data.get("reason", "general"),
            "status": data.get("status", "needs_response"),
            "evidence_details": {
                "due_by": int(data.get("due_by", now + 7 * 86400)),
                "has_evidence": False,
                "past_due": False,
                "submission_count": 0,
            },
            "balance_transactions": [txn],
            "is_charge_refundable": False,
            "livemode": False,
            "metadata": {},
        }
        return web.json_response(self.state.disputes[dispute_id])

    async def update_dispute(self, request: web.Request) -> web.Response:
        """Body: {"status": "won"|"lost"|"under_review"}."""
        dispute = self.state.disputes.get(request.match_info["id"])
        if dispute is None:
            return _error(404, "No such dispute")
        dispute["status"] = (await request.json())["status"]
        return web.json_response(dispute)

    async def automatic_payout(self, request: web.Request) -> web.Response:
        """Body: {"currency": "gbp", "arrival_date": optional unix time}: pay out everything available."""
        data = await request.json()
        currency = data["currency"]
        try:
            upstream = await self._all_upstream(_CONTROL_AUTH, {}, "/v1/balance_transactions")
        except _UpstreamError as exc:
            return exc.response()
        candidates = [
            t
            for t in upstream + list(self.state.own_txns.values())
            if t["currency"] == currency and t["type"] != "payout" and t["id"] not in self.state.paid_out
        ]
        if not candidates:
            return _error(400, "There is no available balance to pay out.")
        now = int(time.time())
        amount = sum(int(t["net"]) for t in candidates)
        payout_id = _new_id("po_")
        txn = self._txn("payout", "payout", -amount, 0, currency, payout_id, "STRIPE PAYOUT")
        self.state.payouts[payout_id] = {
            "id": payout_id,
            "object": "payout",
            "amount": amount,
            "currency": currency,
            "arrival_date": int(data.get("arrival_date", now + 2 * 86400)),
            "created": now,
            "automatic": True,
            "balance_transaction": txn["id"],
            "description": "STRIPE PAYOUT",
            "destination": "ba_" + secrets.token_hex(8),
            "failure_code": None,
            "failure_message": None,
            "livemode": False,
            "metadata": {},
            "method": "standard",
            "source_type": "card",
            "statement_descriptor": None,
            "status": data.get("status", "paid"),
            "type": "bank_account",
        }
        for t in candidates:
            self.state.paid_out[t["id"]] = payout_id
        return web.json_response(self.state.payouts[payout_id])

    def _txn(
        self, kind: str, category: str, amount: int, fee: int, currency: str, source: str, description: str
    ) -> Json:
        now = int(time.time())
        txn: Json = {
            "id": _new_id("txn_"),
            "object": "balance_transaction",
            "amount": amount,
            "currency": currency,
            "available_on": now,
            "created": now,
            "description": description,
            "exchange_rate": None,
            "fee": fee,
            "net": amount - fee,
            "reporting_category": category,
            "source": source,
            "status": "available",
            "type": kind,
            "fee_details": [
                {
                    "amount": fee,
                    "application": None,
                    "currency": currency,
                    "description": "Dispute fee",
                    "type": "stripe_fee",
                }
            ]
            if fee
            else [],
        }
        self.state.own_txns[str(txn["id"])] = txn
        return txn


class _UpstreamError(Exception):
    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(status)
        self.status = status
        self.body = body

    def response(self) -> web.Response:
        return web.Response(status=self.status, body=self.body, content_type="application/json")


def _source_id(txn: Json) -> str:
    source = txn["source"]
    return str(source["id"] if isinstance(source, dict) else source)


def start_stripe_gaps(
    upstream: str, fees: FeeSchedule | None = None, max_page: int = 100
) -> tuple[str, StopCallable, StripeGaps]:
    """Serve the gaps front on 127.0.0.1 (free port); returns (base_url, stop, server for inspection)."""
    gaps = StripeGaps(upstream, fees, max_page)
    base_url, stop = serve_app(gaps.app)
    return base_url, stop, gaps


def open_dispute(api_base: str, charge: str, reason: str = "general", due_by: int | None = None) -> Json:
    """Open a dispute on a charge through the control endpoint (for tests and the demo)."""
    body: Json = {"charge": charge, "reason": reason} | ({"due_by": due_by} if due_by else {})
    return _control(api_base, "/_gaps/disputes", body)


def pay_out(api_base: str, currency: str = "gbp") -> Json:
    """Run an automatic payout of everything available in ``currency`` (for tests and the demo)."""
    return _control(api_base, "/_gaps/payouts", {"currency": currency})


def _control(api_base: str, path: str, body: Json) -> Json:
    response = httpx.post(api_base.rstrip("/") + path, json=body, timeout=10)
    response.raise_for_status()
    return response.json()  # type: ignore[no-any-return]
