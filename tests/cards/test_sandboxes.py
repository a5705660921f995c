"""The card sandboxes themselves: loopback only, localstripe state in our temp folder."""

from __future__ import annotations

import pickle
import socket
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from sandboxes.localstripe_server import seed_card_day
from tests.cards.conftest import Sandbox, StripeSandbox


def _other_local_address() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: nothing is sent for UDP connect
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if address.startswith("127.") else address


def test_localstripe_keeps_its_state_in_the_temp_folder(stripe_sandbox: StripeSandbox) -> None:
    day = seed_card_day(stripe_sandbox.api_base, amounts=(1234,), refund_first=0)

    state = pickle.loads((stripe_sandbox.state_dir / "localstripe.pickle").read_bytes())

    assert f"payment_intent:{day.payment_intents[0]}" in state
    shared = Path("/tmp/localstripe.pickle")
    if shared.exists():
        assert f"payment_intent:{day.payment_intents[0]}" not in pickle.loads(shared.read_bytes())


def test_sandboxes_listen_on_loopback_only(
    stripe_sandbox: StripeSandbox, square_sandbox: Sandbox, paypal_sandbox: Sandbox
) -> None:
    urls = [
        stripe_sandbox.api_base,
        stripe_sandbox.localstripe,
        square_sandbox.base_url,
        paypal_sandbox.base_url,
    ]
    assert {urlsplit(u).hostname for u in urls} == {"127.0.0.1"}
    other = _other_local_address()
    if other is None:
        pytest.skip("this machine has no non-loopback IPv4 address to probe")
    for url in urls:
        with pytest.raises(OSError):
            socket.create_connection((other, urlsplit(url).port), timeout=1).close()
