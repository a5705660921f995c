"""localstripe (a fake Stripe) on 127.0.0.1, in a background thread, with its state in a folder we choose.

localstripe's command line binds every interface and pickles its state to
``/tmp/localstripe.pickle``; we never use it. :func:`start_localstripe` serves localstripe's own
aiohttp ``app`` on a free loopback port and points its store at ``state_dir``.
localstripe keeps its objects in one module-level store, so one process runs one localstripe.

:func:`serve_app` (the loopback thread runner) is shared by the other card sandboxes.
:func:`seed_card_day` creates a realistic day through the public API: it works against any base URL
(localstripe alone or :mod:`sandboxes.stripe_gaps` in front of it).
"""

from __future__ import annotations

import asyncio
import pickle
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import stripe
from aiohttp import web

StopCallable = Callable[[], None]


def serve_app(app: web.Application, host: str = "127.0.0.1") -> tuple[str, StopCallable]:
    """Serve an aiohttp app on ``host`` and a free port in a daemon thread; return (base URL, stop)."""
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app, access_log=None)
    ready = threading.Event()
    box: dict[str, object] = {}

    async def _start() -> None:
        await runner.setup()
        site = web.TCPSite(runner, host, 0)
        await site.start()
        box["port"] = runner.addresses[0][1]

    def _run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(_start())
        except BaseException as exc:  # surfaced to the caller below
            box["error"] = exc
            ready.set()
            return
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=_run, name="sandbox-http", daemon=True)
    thread.start()
    ready.wait(10)
    if "error" in box:
        raise RuntimeError(f"sandbox could not start: {box['error']}")

    async def _shutdown() -> None:
        await runner.cleanup()
        pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    def stop() -> None:
        if loop.is_closed():
            return
        asyncio.run_coroutine_threadsafe(_shutdown(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()

    return f"http://{host}:{box['port']}", stop


def _folder_store_class(state_file: Path) -> type:
    """A subclass of localstripe's Store that pickles to ``state_file`` instead of /tmp."""
    from localstripe.resources import Store

    class FolderStore(Store):  # type: ignore[misc]
        def try_load_from_disk(self) -> None:
            if state_file.exists():
                with state_file.open("rb") as fh:
                    old = pickle.load(fh)
                self.clear()
                self.update(old)

        def dump_to_disk(self) -> None:
            with state_file.open("wb") as fh:
                pickle.dump(dict(self), fh, protocol=pickle.HIGHEST_PROTOCOL)

    return FolderStore


_started = threading.Lock()


def start_localstripe(state_dir: Path | str) -> tuple[str, StopCallable]:
    """Start localstripe on 127.0.0.1 (free port); its pickle lives in ``state_dir``.

    Returns ``(base_url, stop)``. One localstripe per process (its store is a module global).
    """
    if not _started.acquire(blocking=False):
        raise RuntimeError("localstripe is already running in this process")
    with warnings.catch_warnings():  # localstripe registers sync handlers, which aiohttp deprecates
        warnings.simplefilter("ignore", DeprecationWarning)
        from localstripe import resources, server

    state_file = Path(state_dir) / "localstripe.pickle"
    resources.store.__class__ = _folder_store_class(state_file)
    resources.store.clear()
    resources.store.try_load_from_disk()
    base_url, stop_server = serve_app(server.app)
    return base_url, stop_server


# --------------------------------------------------------------------------- a realistic day


@dataclass(frozen=True)
class SeededDay:
    """Ids of what :func:`seed_card_day` created."""

    payment_intents: list[str]
    charges: list[str]
    refunds: list[str]
    customer: str
    amounts: list[int] = field(default_factory=list)


def seed_card_day(
    api_base: str,
    amounts: tuple[int, ...] = (4500, 6000, 12000, 3550),
    refund_first: int = 1500,
    currency: str = "gbp",
    api_key: str = "sk_test_sandbox",
) -> SeededDay:
    """Card takings of one clinic day: confirmed ``pm_card_visa`` PaymentIntents and one partial refund.

    ``amounts`` are minor units; the first payment is partly refunded by ``refund_first``.
    """
    client = stripe.StripeClient(
        api_key,
        base_addresses={"api": api_base},
        max_network_retries=0,
    )
    customer = client.v1.customers.create({"email": "patient@example.org", "name": "A Patient"})
    intents: list[str] = []
    charges: list[str] = []
    for amount in amounts:
        pi = client.v1.payment_intents.create(
            {
                "amount": amount,
                "currency": currency,
                "customer": customer.id,
                "payment_method": "pm_card_visa",
                "confirm": True,
                "metadata": {"visit": f"V-{len(intents) + 1:04d}"},
            }
        )
        intents.append(pi.id)
        latest = pi.latest_charge
        charges.append(latest if isinstance(latest, str) else latest.id)  # type: ignore[union-attr]
    refunds: list[str] = []
    if refund_first:
        refund = client.v1.refunds.create({"payment_intent": intents[0], "amount": refund_first})
        refunds.append(refund.id)
    return SeededDay(intents, charges, refunds, customer.id, list(amounts))
