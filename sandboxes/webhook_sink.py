"""A fake chat webhook (Slack/Teams incoming webhook) on 127.0.0.1 that records what is posted.

Any ``POST`` with a JSON body is recorded and answered ``200 ok`` (Slack's answer); a body that
is not JSON gets ``400 invalid_payload``. ``GET /_received`` lists what arrived (for demos).
``respond_with(status)`` makes it answer with another status, e.g. 404 for a deleted webhook.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from sandboxes.loopback import LoopbackServer


@dataclass(frozen=True, slots=True)
class ReceivedPost:
    path: str
    headers: dict[str, str]
    payload: Any


class WebhookSink(LoopbackServer):
    """Records posted JSON. Start/stop it, or use it as a context manager."""

    thread_name = "webhook-sink"

    def __init__(self) -> None:
        super().__init__()
        self.received: list[ReceivedPost] = []
        self._status = 200
        self._lock = threading.Lock()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        return _handler_for(self)

    def respond_with(self, status: int) -> None:
        """Answer every later post with ``status`` (200 to recover)."""
        self._status = status

    def handle_post(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, str]:
        try:
            payload = json.loads(body)
        except ValueError:
            return 400, "invalid_payload"
        if self._status != 200:
            return self._status, "no_service" if self._status == 404 else "error"
        with self._lock:
            self.received.append(ReceivedPost(path, headers, payload))
        return 200, "ok"

    def listing(self) -> str:
        with self._lock:
            return json.dumps([{"path": r.path, "payload": r.payload} for r in self.received])


def _handler_for(sink: WebhookSink) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, text: str, kind: str = "text/plain") -> None:
            data = text.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            status, text = sink.handle_post(self.path, dict(self.headers.items()), self.rfile.read(length))
            self._answer(status, text)

        def do_GET(self) -> None:
            if self.path == "/_received":
                self._answer(200, sink.listing(), "application/json")
            else:
                self._answer(404, "not found")

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler
