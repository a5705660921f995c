"""Which connector serves which outbox kind and which scheduled poll, built from Settings and the keyring.

Each runbook contributes from its own module (so no runbook edits another's file):
``routes(ctx) -> dict[kind, Route]`` for outbox kinds it sends, and ``POLLS: dict[provider, fn]``
for the scheduled polls it answers. Modules that are not present simply contribute nothing.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

from app.context import AppContext
from app.outbox import Route
from app.settings import get_setting

RUNBOOK_MODULES = (
    "app.claims.dispatch",
    "app.remittance.sync",
    "app.shifts.sync",
    "app.refunds.execution",
    "app.payouts.sync",
)


def _modules() -> list[ModuleType]:
    found = []
    for name in RUNBOOK_MODULES:
        try:
            found.append(importlib.import_module(name))
        except ModuleNotFoundError as exc:
            if exc.name is None or not name.startswith(exc.name):
                raise
    return found


def endpoint(ctx: AppContext, provider: str) -> str | None:
    """The configured base URL of a provider, or None when it is not set up."""
    with ctx.db.read() as s:
        endpoints: Mapping[str, Any] = get_setting(s, "endpoints") or {}
    value = endpoints.get(provider)
    return str(value) if value else None


def _staff_webhook(ctx: AppContext) -> dict[str, Route]:
    webhook = endpoint(ctx, "staff_webhook")
    if not webhook:
        return {}
    from app.connectors.http import make_client, translate_errors

    url = webhook

    def send_webhook(payload: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        with make_client("") as client, translate_errors("staff webhook"):
            resp = client.post(url, json=dict(payload), headers={"Idempotency-Key": key})
            resp.raise_for_status()
            return {"status": resp.status_code, "body": resp.text[:200]}

    return {"notify.webhook": Route(send_webhook, owner_role="admin")}


def build_routes(ctx: AppContext) -> dict[str, Route]:
    """Routes for every outbox kind whose provider is configured."""
    routes = _staff_webhook(ctx)
    for module in _modules():
        make: Callable[[AppContext], dict[str, Route]] | None = getattr(module, "routes", None)
        if make is not None:
            routes.update(make(ctx))
    return routes


def poll_provider(ctx: AppContext, provider: str) -> str:
    if endpoint(ctx, provider) is None:
        return f"skipped: {provider} is not set up (add its address in Settings → Providers)"
    for module in _modules():
        polls: Mapping[str, Callable[[AppContext], str]] = getattr(module, "POLLS", {})
        if provider in polls:
            return polls[provider](ctx)
    return f"skipped: no poller for {provider} in this version"
