"""The one place that builds HTTP clients and turns transport failures into core errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import httpx

from app.errors import PermanentError, TransientError

DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=20.0, write=20.0, pool=5.0)


def make_client(
    base_url: str,
    *,
    headers: dict[str, str] | None = None,
    transport: httpx.BaseTransport | None = None,
    timeout: httpx.Timeout = DEFAULT_TIMEOUT,
) -> httpx.Client:
    """A sync client with explicit timeouts; tests pass ``transport`` or a loopback base URL."""
    return httpx.Client(base_url=base_url, headers=headers or {}, timeout=timeout, transport=transport)


@contextmanager
def translate_errors(provider: str) -> Iterator[None]:
    """Translate httpx failures: network/timeout/5xx/429 -> TransientError, other 4xx -> PermanentError."""
    try:
        yield
    except httpx.HTTPStatusError as exc:
        status = exc.response.status_code
        detail = exc.response.text[:200]
        if status >= 500 or status in (408, 425, 429):
            raise TransientError(provider, f"server answered {status}; will retry") from exc
        raise PermanentError(provider, f"request refused ({status}): {detail}") from exc
    except httpx.TransportError as exc:
        raise TransientError(provider, f"cannot reach the server ({type(exc).__name__}); will retry") from exc


def utc_from_iso(text: str) -> datetime:
    """An ISO-8601 timestamp from a provider API ("...Z" or with an offset) as aware UTC."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def utc_iso(value: datetime, *, whole_seconds: bool = False) -> str:
    """An aware datetime as the ISO-8601 UTC text provider APIs take ("2026-11-23T09:30:00.5Z");
    ``whole_seconds`` for APIs that refuse fractions. A naive datetime is refused."""
    if value.tzinfo is None:
        raise ValueError("aware datetimes only")
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ") if whole_seconds else utc.isoformat().replace("+00:00", "Z")
