"""A fake AXA-style insurer portal (contract: resources/insurer-portal/openapi.yaml).

aiohttp on 127.0.0.1 and a free port, on its own event loop in a background thread. Claims are
checked against ``resources/insurer-xml/claim.xsd``; ``Idempotency-Key`` is honoured (same key and
same content → the same claim reference with 200). Faults for tests:

* ``fail_next(n, status=503)`` answers the next n API calls with that status;
* ``drop_next(n, after_handling=False)`` cuts the connection of the next n calls, either before the
  request is handled or after (the claim is stored but the answer is lost).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import secrets
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from types import TracebackType

import xmlschema
from aiohttp import BodyPartReader, web

_CLAIM_XSD = Path(__file__).resolve().parents[1] / "resources" / "insurer-xml" / "claim.xsd"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class MemberCover:
    covered: bool
    coverage_start: date
    coverage_end: date
    authorisation_number: str | None = None
    visits_left: int | None = None


@dataclass
class PortalClaim:
    reference: str
    idempotency_key: str
    content_hash: str
    payload_name: str
    payload: bytes
    attachments: dict[str, bytes]
    status: str = "RECEIVED"
    updated_at: datetime = field(default_factory=lambda: datetime.now(UTC))


def _error(status: int, code: str, message: str, **extra: object) -> web.Response:
    return web.json_response({"error": code, "message": message, **extra}, status=status)


class InsurerPortalSandbox:
    """The fake portal; use as a context manager and point the client at ``base_url``."""

    def __init__(self, *, username: str = "clinic", password: str = "secret", prefix: str = "AXA") -> None:
        self.username = username
        self.password = password
        self.prefix = prefix
        self.members: dict[str, MemberCover] = {}
        self.claims: dict[str, PortalClaim] = {}
        self.remittances: list[tuple[datetime, str, bytes]] = []
        self.requests = 0
        self._tokens: set[str] = set()
        self._fail: list[int] = []
        self._drops: list[bool] = []
        self._schema = xmlschema.XMLSchema(str(_CLAIM_XSD))
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="portal-sandbox", daemon=True)
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    # ------------------------------------------------------------------ test controls

    def fail_next(self, n: int, status: int = 503) -> None:
        self._fail.extend([status] * n)

    def drop_next(self, n: int, *, after_handling: bool = False) -> None:
        self._drops.extend([after_handling] * n)

    def add_remittance(self, file_name: str, content: bytes, issued_at: datetime) -> None:
        self.remittances.append((issued_at, file_name, content))

    # ------------------------------------------------------------------ HTTP

    @web.middleware
    async def _faults(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.requests += 1
        if self._fail:
            return _error(self._fail.pop(0), "unavailable", "Service temporarily unavailable")
        if self._drops:
            after = self._drops.pop(0)
            if not after:
                await request.content.read(64)
                if request.transport is not None:
                    request.transport.abort()
                raise web.HTTPServiceUnavailable()  # never reaches the client: the socket is gone
            response = await handler(request)
            if request.transport is not None:
                request.transport.abort()
            return response
        return await handler(request)

    def _authorised(self, request: web.Request) -> bool:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        return scheme == "Bearer" and token in self._tokens

    async def _session(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("username") != self.username or body.get("password") != self.password:
            return _error(401, "invalid_credentials", "Unknown username or wrong password")
        token = secrets.token_urlsafe(24)
        self._tokens.add(token)
        return web.json_response({"accessToken": token, "tokenType": "Bearer", "expiresIn": 3600})

    async def _submit(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return _error(401, "unauthorised", "Missing or expired access token")
        key = request.headers.get("Idempotency-Key", "")
        if not key:
            return _error(400, "idempotency_key_required", "Send an Idempotency-Key header")
        payload_name, payload = "", b""
        attachments: dict[str, bytes] = {}
        reader = await request.multipart()
        async for part in reader:
            if not isinstance(part, BodyPartReader):
                continue
            data = bytes(await part.read())
            if part.name == "payload":
                payload_name, payload = part.filename or "claim.xml", data
            elif part.name == "attachment":
                attachments[part.filename or f"attachment-{len(attachments) + 1}"] = data
        digest = hashlib.sha256(payload + b"".join(attachments[n] for n in sorted(attachments))).hexdigest()
        for claim in self.claims.values():
            if claim.idempotency_key == key:
                if claim.content_hash != digest:
                    return _error(422, "idempotency_key_reused", "This Idempotency-Key was used for another claim")
                return web.json_response({"claimReference": claim.reference, "status": claim.status}, status=200)
        try:
            resource = xmlschema.XMLResource(io.BytesIO(payload), defuse="always")
            problems = [f"{e.path}: {e.reason}" for e in self._schema.iter_errors(resource)]
        except xmlschema.XMLSchemaException as exc:
            problems = [f"the claim file is not readable XML: {exc}"]
        problems += [f"{n} is not a PDF" for n, data in attachments.items() if not data.startswith(b"%PDF-")]
        if problems:
            return _error(422, "invalid_claim", "The claim was refused", problems=problems)
        reference = f"{self.prefix}-{len(self.claims) + 1:06d}"
        self.claims[reference] = PortalClaim(reference, key, digest, payload_name, payload, attachments)
        return web.json_response({"claimReference": reference, "status": "RECEIVED"}, status=201)

    async def _status(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return _error(401, "unauthorised", "Missing or expired access token")
        claim = self.claims.get(request.match_info["ref"])
        if claim is None:
            return _error(404, "not_found", "No such claim")
        return web.json_response(
            {
                "claimReference": claim.reference,
                "status": claim.status,
                "updatedAt": claim.updated_at.isoformat(),
            }
        )

    async def _eligibility(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return _error(401, "unauthorised", "Missing or expired access token")
        try:
            when = date.fromisoformat(request.query.get("date", ""))
        except ValueError:
            return _error(400, "bad_date", "date must be YYYY-MM-DD")
        member_id = request.query.get("member", "")
        cover = self.members.get(member_id)
        if cover is None:
            return _error(404, "member_not_found", "No member with this number")
        in_dates = cover.coverage_start <= when <= cover.coverage_end
        return web.json_response(
            {
                "memberId": member_id,
                "covered": cover.covered and in_dates,
                "coverageStart": cover.coverage_start.isoformat(),
                "coverageEnd": cover.coverage_end.isoformat(),
                "authorisationNumber": cover.authorisation_number,
                "visitsLeft": cover.visits_left,
                "messages": [] if in_dates else ["Date of service outside the policy dates"],
            }
        )

    async def _remittances(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return _error(401, "unauthorised", "Missing or expired access token")
        since_text = request.query.get("since")
        since = datetime.fromisoformat(since_text) if since_text else datetime.min.replace(tzinfo=UTC)
        documents = [
            {
                "id": name.rsplit(".", 1)[0],
                "issuedAt": issued.isoformat(),
                "fileName": name,
                "contentType": "application/xml",
                "content": content.decode("utf-8"),
            }
            for issued, name, content in sorted(self.remittances)
            if issued > since
        ]
        return web.json_response({"remittances": documents})

    # ------------------------------------------------------------------ lifecycle

    async def _serve(self) -> None:
        app = web.Application(middlewares=[self._faults])
        app.add_routes(
            [
                web.post("/api/v1/session", self._session),
                web.post("/api/v1/claims", self._submit),
                web.get("/api/v1/claims/{ref}/status", self._status),
                web.get("/api/v1/eligibility", self._eligibility),
                web.get("/api/v1/remittances", self._remittances),
            ]
        )
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"

    def start(self) -> InsurerPortalSandbox:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(timeout=10)
        return self

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def __enter__(self) -> InsurerPortalSandbox:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
