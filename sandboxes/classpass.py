"""A fake ClassPass partner payouts API on 127.0.0.1, following
``resources/marketplaces/classpass-partner-api.md``.

Test/demo controls (no API key needed):
``POST /_sandbox/payouts`` stores the request body (one payout JSON) byte for byte;
``POST /_sandbox/faults?status=503&count=N`` makes the next N API calls fail with that status.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from sandboxes.loopback import JsonHandler, LoopbackServer


@dataclass
class _State:
    api_key: str
    partner_id: str
    payouts: dict[str, tuple[datetime, bytes]] = field(default_factory=dict)
    faults: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(JsonHandler):
    def do_POST(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        state = self.server.state
        if url.path == "/_sandbox/payouts":
            payout = json.loads(body)
            created = datetime.fromisoformat(query.get("created_at", [payout["payout_date"] + "T00:00:00+00:00"])[0])
            with state.lock:
                state.payouts[payout["id"]] = (created.astimezone(UTC), body)
            self._send(201, {"id": payout["id"]})
        elif url.path == "/_sandbox/faults":
            with state.lock:
                state.faults.extend([int(query.get("status", ["503"])[0])] * int(query.get("count", ["1"])[0]))
            self._send(204, b"")
        else:
            self._send(404, {"error": "not_found", "message": "no such endpoint"})

    def do_GET(self) -> None:
        state = self.server.state
        with state.lock:
            fault = state.faults.pop(0) if state.faults else None
        if fault is not None:
            self._send(fault, {"error": "unavailable", "message": "try again later"})
            return
        if self.headers.get("X-Api-Key") != state.api_key:
            self._send(401, {"error": "unauthorized", "message": "missing or wrong API key"})
            return
        url = urlsplit(self.path)
        parts = url.path.strip("/").split("/")
        if len(parts) < 4 or parts[:2] != ["v1", "partners"] or parts[3] != "payouts":
            self._send(404, {"error": "not_found", "message": "no such endpoint"})
        elif parts[2] != state.partner_id:
            self._send(404, {"error": "not_found", "message": "unknown partner"})
        elif len(parts) == 5:
            with state.lock:
                found = state.payouts.get(parts[4])
            if found is None:
                self._send(404, {"error": "not_found", "message": "unknown payout"})
            else:
                self._send(200, found[1])
        else:
            self._list(parse_qs(url.query))

    def _list(self, query: dict[str, list[str]]) -> None:
        try:
            since = datetime.fromisoformat(query["since"][0].replace("Z", "+00:00"))
            limit = min(max(int(query.get("limit", ["100"])[0]), 1), 100)
            start = int(query.get("cursor", ["0"])[0])
        except (KeyError, ValueError):
            self._send(400, {"error": "bad_request", "message": "since (ISO instant) is required"})
            return
        with self.server.state.lock:
            items = sorted((created, pid, raw) for pid, (created, raw) in self.server.state.payouts.items())
        chosen = [(pid, json.loads(raw)) for created, pid, raw in items if created >= since]
        page = chosen[start : start + limit]
        more = start + limit < len(chosen)
        self._send(
            200,
            {
                "data": [{k: p[k] for k in ("id", "payout_date", "currency", "total_net")} for _, p in page],
                "has_more": more,
                "next_cursor": str(start + limit) if more else None,
            },
        )


class ClassPassSandbox(LoopbackServer):
    """Run with ``with ClassPassSandbox("key", "partner-1") as sandbox: sandbox.base_url``."""

    thread_name = "classpass-sandbox"

    def __init__(self, api_key: str, partner_id: str, port: int = 0) -> None:
        super().__init__(port)
        self.state = _State(api_key, partner_id)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        return _Handler

    def _attach(self, server: ThreadingHTTPServer) -> None:
        server.state = self.state  # type: ignore[attr-defined]
