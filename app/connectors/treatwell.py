"""Treatwell settlement statements (``resources/marketplaces/treatwell-settlement.md``).

Lists statements paid since a date and downloads each statement CSV unchanged as a
:class:`RawSettlement`. Reading the CSV is the normaliser's job, through a saved column mapping
(:data:`app.payouts.formats.DEFAULT_TREATWELL_MAPPING` by default).
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

import httpx

from app.clock import Clock, SystemClock, ensure_utc
from app.connectors.base import RawSettlement
from app.connectors.http import translate_errors
from app.errors import PermanentError

PROVIDER = "Treatwell"


class TreatwellSource:
    """A :class:`app.connectors.base.MarketplaceSource` for one Treatwell partner account."""

    name = "treatwell"

    def __init__(self, client: httpx.Client, username: str, password: str, *, clock: Clock | None = None) -> None:
        self._client = client
        self._auth = httpx.BasicAuth(username, password)
        self._clock = clock or SystemClock()

    def fetch_settlements(self, since: datetime) -> list[RawSettlement]:
        """One RawSettlement (the CSV bytes) per statement paid on or after ``since``'s date (UTC)."""
        day = ensure_utc(since).date().isoformat()
        with translate_errors(PROVIDER):
            response = self._client.get("/statements", params={"since": day}, auth=self._auth)
            response.raise_for_status()
        try:
            statements = response.json()["statements"]
            ids = [str(item["id"]) for item in statements]
        except (ValueError, KeyError, TypeError) as exc:
            raise PermanentError(PROVIDER, "the statement list came back in an unexpected shape") from exc
        return [self._download(statement_id) for statement_id in ids]

    def _download(self, statement_id: str) -> RawSettlement:
        with translate_errors(PROVIDER):
            response = self._client.get(f"/statements/{quote(statement_id)}.csv", auth=self._auth)
            response.raise_for_status()
        return RawSettlement(self.name, f"treatwell-{statement_id}.csv", response.content, self._clock.now())
