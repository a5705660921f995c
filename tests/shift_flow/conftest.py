"""A clinic wired to loopback Stripe (localstripe + gaps, own process) and the Square sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.audit import SYSTEM, Actor
from app.clock import FixedClock
from app.context import AppContext
from app.db.models import Clinic, Practitioner
from app.domain.status import Role
from app.paths import AppPaths
from app.secrets import SecretStore
from app.settings import set_setting
from app.users import create_user, sign_in
from sandboxes.square import SquareSandbox, start_square
from tests.shift_flow.stripe_process import StripeProcess, start_stripe_process
from tests.support.memory_keyring import MemoryKeyring

SQUARE_TOKEN = "EAAAl-shift-flow-token"
STRIPE_KEY = "sk_test_shift_flow"
SQUARE_DEVICE = "device:reader-front-desk"


@pytest.fixture
def stripe_proc(tmp_path: Path) -> Iterator[StripeProcess]:
    """A fresh, empty Stripe per test (its own process), so every amount in a test is the test's own."""
    proc = start_stripe_process(tmp_path)
    yield proc
    proc.stop()


@dataclass
class SquareBox:
    base_url: str
    sandbox: SquareSandbox


@pytest.fixture
def square() -> Iterator[SquareBox]:
    base_url, stop, sandbox = start_square(SQUARE_TOKEN)
    yield SquareBox(base_url, sandbox)
    stop()


@dataclass
class Desk:
    ctx: AppContext
    clock: FixedClock
    manager: Actor
    frontdesk: Actor
    clinic_id: int


def _wire(ctx: AppContext, stripe_base: str, square_base: str) -> Desk:
    assert ctx.secrets is not None
    ctx.secrets.set("stripe.api_key", STRIPE_KEY)
    ctx.secrets.set("square.access_token", SQUARE_TOKEN)
    with ctx.db.unit_of_work() as s:
        clinic = Clinic(name="Harbour Physio", address="1 Quay Street, Bristol BS1 4XE", provider_number="HP-0042")
        s.add(clinic)
        s.flush()
        s.add(Practitioner(clinic_id=clinic.id, name="Dr Ada Lane", profession="Physiotherapist"))
        set_setting(s, ctx.clock, SYSTEM, "endpoints", {"stripe": stripe_base, "square": square_base})
        schedule = [
            {"desk": "Front desk", "start": "08:00", "end": "14:00", "terminals": [SQUARE_DEVICE]},
            {"desk": "Front desk", "start": "14:00", "end": "20:00", "terminals": [SQUARE_DEVICE]},
        ]
        set_setting(s, ctx.clock, SYSTEM, "shifts.schedule", {str(clinic.id): schedule})
        create_user(s, ctx.clock, SYSTEM, "manager", "Mo Manager", Role.MANAGER, "2222")
        create_user(s, ctx.clock, SYSTEM, "frontdesk", "Fran Desk", Role.FRONT_DESK, "1111")
        clinic_id = clinic.id
    manager = sign_in(ctx.db, ctx.clock, "manager", "2222")
    frontdesk = sign_in(ctx.db, ctx.clock, "frontdesk", "1111")
    assert isinstance(ctx.clock, FixedClock)
    return Desk(ctx, ctx.clock, manager, frontdesk, clinic_id)


def open_desk(db_url: str, paths: AppPaths, stripe_base: str, square_base: str) -> Desk:
    """A context on ``db_url`` whose clock is real time (the sandboxes stamp objects with real time)."""
    clock = FixedClock(datetime.now(UTC) + timedelta(minutes=1))
    ctx = AppContext.open(db_url, clock=clock, paths=paths)
    ctx.secrets = SecretStore(backend=MemoryKeyring())
    return _wire(ctx, stripe_base, square_base)


@pytest.fixture
def desk(sqlite_url: str, paths: AppPaths, stripe_proc: StripeProcess, square: SquareBox) -> Iterator[Desk]:
    d = open_desk(sqlite_url, paths, stripe_proc.api_base, square.base_url)
    yield d
    d.ctx.close()


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    return tmp_path
