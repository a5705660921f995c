"""The one way our http.server-based sandboxes listen: a free port on 127.0.0.1, a daemon thread."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class LoopbackServer:
    """Base for sandboxes: subclasses give ``_handler()``; use ``start()/stop()`` or ``with``."""

    thread_name = "sandbox"

    def __init__(self, port: int = 0) -> None:
        self.port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        raise NotImplementedError

    def _attach(self, server: ThreadingHTTPServer) -> None:
        """Give the request handlers what they need (``self.server.<x>``); nothing by default."""

    @property
    def base_url(self) -> str:
        return self.url

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError(f"the {self.thread_name} is not running")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> str:
        """Listen on a free loopback port; return the base URL."""
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._server.daemon_threads = True
        self._attach(self._server)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name=self.thread_name, daemon=True
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server, self._thread = None, None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class JsonHandler(BaseHTTPRequestHandler):
    """A quiet request handler with one way to answer: status, JSON (or bytes) body, headers."""

    server: Any

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        return

    def _extra_headers(self, status: int) -> dict[str, str]:
        """Headers a provider adds to some answers (e.g. WWW-Authenticate on 401)."""
        return {}

    def _send(self, status: int, body: bytes | dict[str, object], content_type: str = "application/json") -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in self._extra_headers(status).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
