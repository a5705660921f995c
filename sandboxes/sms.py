"""A fake Twilio Messages API on 127.0.0.1 for tests and demos.

Follows Twilio's documented shapes: ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json``
(form ``To``, ``From`` or ``MessagingServiceSid``, ``Body``; HTTP basic auth AccountSid:AuthToken)
answers 201 with a Message resource; ``GET .../Messages.json`` lists them (newest first) and
``GET .../Messages/{Sid}.json`` fetches one. Errors use Twilio's ``{"code", "message",
"more_info", "status"}`` body: 20003 (401) for bad credentials, 21602/21603/21604/21211/21617 (400)
for bad input, 20404 (404) for an unknown message.

    with TwilioSandbox() as sandbox:
        client = make_client(sandbox.url)
        ...
        sandbox.messages  # what was "sent"
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import threading
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs

from sandboxes.loopback import LoopbackServer

_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<account>AC\w+)/Messages(?:/(?P<sid>SM\w+))?\.json$")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


class TwilioSandbox(LoopbackServer):
    """Records messages instead of sending them. Start/stop it, or use it as a context manager."""

    thread_name = "twilio-sandbox"

    def __init__(self, account_sid: str = "AC" + "0" * 32, auth_token: str = "sandbox-auth-token") -> None:
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.messages: list[dict[str, Any]] = []
        self._failures: list[int] = []
        self._lock = threading.Lock()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        return _handler_for(self)

    def fail_next(self, status: int, times: int = 1) -> None:
        """Answer the next ``times`` requests with ``status`` (e.g. 503) to imitate an outage."""
        with self._lock:
            self._failures += [status] * times

    # ---------------------------------------------------------------- request handling

    def handle(self, method: str, path: str, auth: str | None, body: bytes) -> tuple[int, dict[str, Any]]:
        with self._lock:
            if self._failures:
                status = self._failures.pop(0)
                return status, _error(20500 if status >= 500 else 20429, "Sandbox outage", status)
        match = _PATH.match(path.split("?", 1)[0])
        if match is None:
            return 404, _error(20404, f"The requested resource {path} was not found", 404)
        if not self._authorised(auth) or match["account"] != self.account_sid:
            return 401, _error(20003, "Authenticate", 401)
        if method == "POST" and match["sid"] is None:
            return self._create(parse_qs(body.decode("utf-8"), keep_blank_values=True))
        if method == "GET" and match["sid"] is None:
            with self._lock:
                listed = list(reversed(self.messages))
            return 200, self._page(listed)
        if method == "GET":
            with self._lock:
                found = [m for m in self.messages if m["sid"] == match["sid"]]
            if found:
                return 200, found[0]
            return 404, _error(20404, f"The requested resource {path} was not found", 404)
        return 405, _error(20004, "Method not allowed", 405)

    def _authorised(self, header: str | None) -> bool:
        if not header or not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return secrets.compare_digest(user, self.account_sid) and secrets.compare_digest(password, self.auth_token)

    def _create(self, form: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        to, body = _one(form, "To"), _one(form, "Body")
        sender, service = _one(form, "From"), _one(form, "MessagingServiceSid")
        if not to:
            return 400, _error(21604, "A 'To' phone number is required.", 400)
        if not sender and not service:
            return 400, _error(21603, "A 'From' phone number is required.", 400)
        if not body:
            return 400, _error(21602, "Message body is required.", 400)
        if not _E164.match(to):
            return 400, _error(21211, f"The 'To' number {to} is not a valid phone number.", 400)
        if len(body) > 1600:
            return 400, _error(21617, "The concatenated message body exceeds the 1600 character limit.", 400)
        sid = "SM" + secrets.token_hex(16)
        now = format_datetime(datetime.now(UTC), usegmt=False)
        base = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}"
        message = {
            "sid": sid,
            "account_sid": self.account_sid,
            "to": to,
            "from": sender or None,
            "messaging_service_sid": service or None,
            "body": body,
            "status": "queued" if sender else "accepted",
            "num_segments": str(-(-len(body) // 153) if len(body) > 160 else 1),
            "num_media": "0",
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "price": None,
            "price_unit": "GBP",
            "error_code": None,
            "error_message": None,
            "date_created": now,
            "date_updated": now,
            "date_sent": None,
            "uri": base + ".json",
            "subresource_uris": {"media": base + "/Media.json"},
        }
        with self._lock:
            self.messages.append(message)
        return 201, message

    def _page(self, listed: list[dict[str, Any]]) -> dict[str, Any]:
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages.json?PageSize=50&Page=0"
        return {
            "messages": listed,
            "page": 0,
            "page_size": 50,
            "start": 0,
            "end": max(len(listed) - 1, 0),
            "uri": uri,
            "first_page_uri": uri,
            "next_page_uri": None,
            "previous_page_uri": None,
        }


def _one(form: dict[str, list[str]], key: str) -> str:
    values = form.get(key) or [""]
    return values[0]


def _error(code: int, message: str, status: int) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def _handler_for(sandbox: TwilioSandbox) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            status, payload = sandbox.handle(
                method, self.path, self.headers.get("Authorization"), self.rfile.read(length)
            )
            data = json.dumps(payload).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler
