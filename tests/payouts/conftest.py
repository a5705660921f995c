"""Loopback sandboxes for the marketplaces, started per test on a free port and stopped after."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from app.clock import FixedClock
from app.connectors.http import make_client
from sandboxes.classpass import ClassPassSandbox
from sandboxes.treatwell import TreatwellSandbox
from tests.payouts.samples import CLASSPASS_KEY, PARTNER, TW_PASSWORD, TW_USER


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 3, 12, 9, 0, tzinfo=UTC))


@pytest.fixture
def classpass() -> Iterator[ClassPassSandbox]:
    with ClassPassSandbox(CLASSPASS_KEY, PARTNER) as sandbox:
        yield sandbox


@pytest.fixture
def treatwell() -> Iterator[TreatwellSandbox]:
    with TreatwellSandbox(TW_USER, TW_PASSWORD) as sandbox:
        yield sandbox


@pytest.fixture
def classpass_client(classpass: ClassPassSandbox) -> Iterator[httpx.Client]:
    with make_client(classpass.base_url) as client:
        yield client


@pytest.fixture
def treatwell_client(treatwell: TreatwellSandbox) -> Iterator[httpx.Client]:
    with make_client(treatwell.base_url) as client:
        yield client
