"""Insurers with an HTTPS claims portal (AXA-style; contract in resources/insurer-portal/openapi.yaml).

Every call carries ``Authorization: Bearer <token>`` from an injected token provider
(:class:`PortalLogin` gets one with the clinic's portal username and password). A claim goes as
one multipart POST with an ``Idempotency-Key``: sending it again with the same key returns the
same claim reference instead of creating a second claim.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from app.clock import Clock, SystemClock, ensure_utc
from app.connectors.base import ClaimSubmission, EligibilityResult, InboundFile, SubmissionReceipt
from app.connectors.http import translate_errors
from app.errors import PermanentError


def _json(response: httpx.Response, provider: str) -> Mapping[str, Any]:
    try:
        body = response.json()
    except ValueError as exc:
        raise PermanentError(provider, "the portal sent an answer that is not JSON") from exc
    if not isinstance(body, dict):
        raise PermanentError(provider, "the portal sent an unexpected answer")
    return body


class PortalLogin:
    """A token provider: logs in with username and password and reuses the token until near expiry."""

    def __init__(
        self,
        client: httpx.Client,
        username: str,
        password: str,
        *,
        name: str = "Insurer portal",
        clock: Clock | None = None,
    ) -> None:
        self._client = client
        self._username = username
        self._password = password
        self._name = name
        self._clock = clock or SystemClock()
        self._token: str | None = None
        self._expires_at = datetime.min.replace(tzinfo=UTC)

    def __call__(self) -> str:
        now = self._clock.now()
        if self._token is not None and now < self._expires_at:
            return self._token
        with translate_errors(self._name):
            response = self._client.post(
                "/api/v1/session", json={"username": self._username, "password": self._password}
            )
            response.raise_for_status()
        body = _json(response, self._name)
        token, lifetime = body.get("accessToken"), body.get("expiresIn", 0)
        if not isinstance(token, str) or not isinstance(lifetime, int):
            raise PermanentError(self._name, "the portal's login answer has no access token")
        self._token = token
        self._expires_at = now + timedelta(seconds=max(lifetime - 60, 0))
        return token


class PortalInsurerChannel:
    """An :class:`app.connectors.base.InsurerChannel` over the insurer's HTTP portal."""

    def __init__(
        self,
        client: httpx.Client,
        token_provider: Callable[[], str],
        *,
        name: str = "Insurer portal",
        clock: Clock | None = None,
    ) -> None:
        self.name = name
        self._client = client
        self._token = token_provider
        self._clock = clock or SystemClock()

    def _headers(self, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token()}", "Accept": "application/json", **extra}

    def submit(self, submission: ClaimSubmission, idempotency_key: str) -> SubmissionReceipt:
        """POST the claim file and its attachments; 201 is new, 200 means already received."""
        files: list[tuple[str, tuple[str, bytes, str]]] = [
            ("payload", (submission.payload_name, submission.payload, "application/xml"))
        ]
        for file_name, content in sorted(submission.attachments.items()):
            content_type = mimetypes.guess_type(file_name)[0] or "application/octet-stream"
            files.append(("attachment", (file_name, content, content_type)))
        headers = self._headers(**{"Idempotency-Key": idempotency_key})
        with translate_errors(self.name):
            response = self._client.post("/api/v1/claims", files=files, headers=headers)
            response.raise_for_status()
        reference = _json(response, self.name).get("claimReference")
        if not isinstance(reference, str) or not reference:
            raise PermanentError(self.name, "the portal accepted the claim but sent no claim reference")
        detail = "received" if response.status_code == 201 else "already received earlier; not created twice"
        return SubmissionReceipt(submission.claim_ref, reference, self._clock.now(), detail)

    def claim_status(self, insurer_ref: str) -> str:
        """The portal's own word for where the claim is (e.g. "RECEIVED", "PAID")."""
        with translate_errors(self.name):
            response = self._client.get(f"/api/v1/claims/{quote(insurer_ref, safe='')}/status", headers=self._headers())
            response.raise_for_status()
        return str(_json(response, self.name).get("status", "UNKNOWN"))

    def check_eligibility(self, member_id: str, service_date: date, procedure_codes: list[str]) -> EligibilityResult:
        """Ask the portal about cover on the date; an unknown member is an answer, not an error."""
        params = {"member": member_id, "date": service_date.isoformat()}
        with translate_errors(self.name):
            response = self._client.get("/api/v1/eligibility", params=params, headers=self._headers())
            if response.status_code == 404:
                return EligibilityResult(
                    False, None, None, None, None, (f"The insurer does not know member number {member_id}.",)
                )
            response.raise_for_status()
        body = _json(response, self.name)
        try:
            start, end = body.get("coverageStart"), body.get("coverageEnd")
            visits = body.get("visitsLeft")
            return EligibilityResult(
                covered=body["covered"] is True,
                coverage_start=date.fromisoformat(start) if start else None,
                coverage_end=date.fromisoformat(end) if end else None,
                authorisation_number=body.get("authorisationNumber"),
                visits_left=int(visits) if visits is not None else None,
                messages=tuple(str(m) for m in body.get("messages", [])),
                raw=body,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise PermanentError(self.name, "the portal's eligibility answer is incomplete") from exc

    def fetch_inbound(self, since: datetime | None = None) -> list[InboundFile]:
        """Remittance documents issued after ``since`` (all when None); the caller skips ones seen before."""
        params = {"since": ensure_utc(since).isoformat()} if since is not None else {}
        with translate_errors(self.name):
            response = self._client.get("/api/v1/remittances", params=params, headers=self._headers())
            response.raise_for_status()
        documents = _json(response, self.name).get("remittances")
        if not isinstance(documents, list):
            raise PermanentError(self.name, "the portal's remittance list is missing")
        try:
            return [InboundFile(str(d["fileName"]), str(d["content"]).encode("utf-8")) for d in documents]
        except (KeyError, TypeError) as exc:
            raise PermanentError(self.name, "a remittance from the portal has no file name or content") from exc
