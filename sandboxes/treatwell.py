"""A fake Treatwell statement download service on 127.0.0.1, following
``resources/marketplaces/treatwell-settlement.md`` (basic auth).

Test/demo controls (no credentials needed):
``POST /_sandbox/statements?id=..&payout_date=YYYY-MM-DD&currency=GBP&total_net=12.34`` stores the
request body (the statement CSV) byte for byte; ``POST /_sandbox/faults?status=503&count=N``
makes the next N downloads fail with that status.
"""

from __future__ import annotations

import base64
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from sandboxes.loopback import JsonHandler, LoopbackServer


@dataclass
class _State:
    username: str
    password: str
    statements: dict[str, tuple[dict[str, str], bytes]] = field(default_factory=dict)
    faults: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(JsonHandler):
    def _extra_headers(self, status: int) -> dict[str, str]:
        return {"WWW-Authenticate": 'Basic realm="treatwell-partners"'} if status == 401 else {}

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        state = self.server.state
        if url.path == "/_sandbox/statements":
            meta = {k: query[k] for k in ("id", "payout_date", "currency", "total_net")}
            with state.lock:
                state.statements[meta["id"]] = (meta, body)
            self._send(201, {"id": meta["id"]})
        elif url.path == "/_sandbox/faults":
            with state.lock:
                state.faults.extend([int(query.get("status", "503"))] * int(query.get("count", "1")))
            self._send(204, b"")
        else:
            self._send(404, {"error": "not_found"})

    def _authorised(self) -> bool:
        state = self.server.state
        expected = base64.b64encode(f"{state.username}:{state.password}".encode()).decode()
        return self.headers.get("Authorization") == f"Basic {expected}"

    def do_GET(self) -> None:
        state = self.server.state
        with state.lock:
            fault = state.faults.pop(0) if state.faults else None
        if fault is not None:
            self._send(fault, {"error": "unavailable"})
            return
        if not self._authorised():
            self._send(401, {"error": "unauthorized"})
            return
        url = urlsplit(self.path)
        if url.path == "/statements":
            since = parse_qs(url.query).get("since", ["0000-00-00"])[0]
            with state.lock:
                metas = sorted((m for m, _ in state.statements.values()), key=lambda m: (m["payout_date"], m["id"]))
            self._send(200, {"statements": [m for m in metas if m["payout_date"] >= since]})
            return
        name = unquote(url.path.removeprefix("/statements/"))
        with state.lock:
            found = state.statements.get(name.removesuffix(".csv")) if name.endswith(".csv") else None
        if found is None:
            self._send(404, {"error": "not_found"})
        else:
            self._send(200, found[1], "text/csv; charset=utf-8")


class TreatwellSandbox(LoopbackServer):
    """Run with ``with TreatwellSandbox("user", "pw") as sandbox: sandbox.base_url``."""

    thread_name = "treatwell-sandbox"

    def __init__(self, username: str, password: str, port: int = 0) -> None:
        super().__init__(port)
        self.state = _State(username, password)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        return _Handler

    def _attach(self, server: ThreadingHTTPServer) -> None:
        server.state = self.state  # type: ignore[attr-defined]
