"""ClassPass partner payouts (``resources/marketplaces/classpass-partner-api.md``).

Lists payouts since a date, then downloads each payout document and returns its bytes unchanged
as a :class:`RawSettlement`; parsing happens later in :mod:`app.payouts.normalise`.
"""

from __future__ import annotations

import json
from datetime import datetime

import httpx

from app.clock import Clock, SystemClock, ensure_utc
from app.connectors.base import RawSettlement
from app.connectors.http import translate_errors, utc_iso
from app.errors import PermanentError

PROVIDER = "ClassPass"


class ClassPassSource:
    """A :class:`app.connectors.base.MarketplaceSource` for one ClassPass partner account."""

    name = "classpass"

    def __init__(
        self,
        client: httpx.Client,
        partner_id: str,
        api_key: str,
        *,
        clock: Clock | None = None,
        page_size: int = 100,
    ) -> None:
        self._client = client
        self._partner_id = partner_id
        self._headers = {"X-Api-Key": api_key, "Accept": "application/json"}
        self._clock = clock or SystemClock()
        self._page_size = page_size

    def fetch_settlements(self, since: datetime) -> list[RawSettlement]:
        """One RawSettlement per payout created at or after ``since``, oldest first."""
        return [self._download(payout_id) for payout_id in self._payout_ids(ensure_utc(since))]

    def _payout_ids(self, since: datetime) -> list[str]:
        ids: list[str] = []
        params: dict[str, str | int] = {
            "since": utc_iso(since),
            "limit": self._page_size,
        }
        while True:
            page = self._get_json(f"/v1/partners/{self._partner_id}/payouts", params)
            data = page.get("data")
            if not isinstance(data, list):
                raise PermanentError(PROVIDER, "the payout list came back in an unexpected shape")
            ids.extend(str(item["id"]) for item in data)
            cursor = page.get("next_cursor")
            if not page.get("has_more") or not cursor:
                return ids
            params["cursor"] = str(cursor)

    def _get_json(self, path: str, params: dict[str, str | int]) -> dict[str, object]:
        with translate_errors(PROVIDER):
            response = self._client.get(path, params=params, headers=self._headers)
            response.raise_for_status()
        try:
            body = response.json()
        except ValueError as exc:
            raise PermanentError(PROVIDER, "the payout list was not valid JSON") from exc
        if not isinstance(body, dict):
            raise PermanentError(PROVIDER, "the payout list came back in an unexpected shape")
        return body

    def _download(self, payout_id: str) -> RawSettlement:
        with translate_errors(PROVIDER):
            response = self._client.get(f"/v1/partners/{self._partner_id}/payouts/{payout_id}", headers=self._headers)
            response.raise_for_status()
        try:
            json.loads(response.content)
        except ValueError as exc:
            raise PermanentError(PROVIDER, f"payout {payout_id} was not valid JSON") from exc
        return RawSettlement(self.name, f"classpass-{payout_id}.json", response.content, self._clock.now())
