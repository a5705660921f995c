"""Card sandboxes on loopback, started once per test session: localstripe + stripe_gaps, Square, PayPal."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sandboxes.localstripe_server import start_localstripe
from sandboxes.paypal import start_paypal
from sandboxes.square import start_square
from sandboxes.stripe_gaps import StripeGaps, start_stripe_gaps


@dataclass(frozen=True)
class StripeSandbox:
    api_base: str  # the one URL the connector talks to (stripe_gaps in front of localstripe)
    localstripe: str
    gaps: StripeGaps
    state_dir: Path


@pytest.fixture(scope="session")
def stripe_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StripeSandbox]:
    state_dir = tmp_path_factory.mktemp("localstripe")
    local_url, stop_local = start_localstripe(state_dir)
    gaps_url, stop_gaps, gaps = start_stripe_gaps(local_url, max_page=3)  # connector must paginate
    yield StripeSandbox(gaps_url, local_url, gaps, state_dir)
    stop_gaps()
    stop_local()


SQUARE_TOKEN = "EAAAl-sandbox-clinic-token"
PAYPAL_CLIENT, PAYPAL_SECRET = "clinic-client-id", "clinic-client-secret"


@dataclass(frozen=True)
class Sandbox:
    base_url: str
    sandbox: Any


@pytest.fixture(scope="session")
def square_sandbox() -> Iterator[Sandbox]:
    base_url, stop, sandbox = start_square(SQUARE_TOKEN)
    yield Sandbox(base_url, sandbox)
    stop()


@pytest.fixture(scope="session")
def paypal_sandbox() -> Iterator[Sandbox]:
    base_url, stop, sandbox = start_paypal(PAYPAL_CLIENT, PAYPAL_SECRET)
    yield Sandbox(base_url, sandbox)
    stop()
