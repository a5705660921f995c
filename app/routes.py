"""Which connector serves which outbox kind and which poll, built from Settings and the keyring."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.context import AppContext
from app.outbox import Route
from app.settings import get_setting


def endpoint(ctx: AppContext, provider: str) -> str | None:
    """The configured base URL of a provider, or None when it is not set up."""
    with ctx.db.read() as s:
        endpoints: Mapping[str, Any] = get_setting(s, "endpoints") or {}
    value = endpoints.get(provider)
    return str(value) if value else None


def build_routes(ctx: AppContext) -> dict[str, Route]:
    """Routes for every outbox kind whose provider is configured."""
    routes: dict[str, Route] = {}
    webhook = endpoint(ctx, "staff_webhook")
    if webhook:
        from app.connectors.http import make_client, translate_errors

        url = webhook

        def send_webhook(payload: Mapping[str, Any], key: str) -> Mapping[str, Any]:
            with make_client("") as client, translate_errors("staff webhook"):
                resp = client.post(url, json=dict(payload), headers={"Idempotency-Key": key})
                resp.raise_for_status()
                return {"status": resp.status_code, "body": resp.text[:200]}

        routes["notify.webhook"] = Route(send_webhook, owner_role="admin")
    return routes


def poll_provider(ctx: AppContext, provider: str) -> str:
    if endpoint(ctx, provider) is None:
        return f"skipped: {provider} is not set up (add its address in Settings → Providers)"
    return f"skipped: polling {provider} is not wired up in this version"


__all__ = ["build_routes", "endpoint", "poll_provider"]
