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


def build_routes(ctx: AppContext) -> dict[str, Route]:
    """Routes for every outbox kind whose provider is configured: the shared notification routes
    (app.notify_routes), then each runbook's own."""
    from app.notify_routes import routes as notification_routes

    with ctx.db.read() as s:
        endpoints: Mapping[str, Any] = get_setting(s, "endpoints") or {}
    routes = notification_routes(ctx, {k: str(v) for k, v in endpoints.items() if v})
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
