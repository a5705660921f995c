"""Which insurer channel serves a payer, built from Settings, the payer's profile and the keyring.

A payer's ``channel`` picks the generic channel (SFTP + XML, HTTP portal, X12 clearinghouse over
SFTP); its ``settings_json`` is the profile: ``username``, ``host_fingerprint`` (SFTP), optional
``endpoint`` (overrides the Settings ``endpoints`` entry of the channel), ``timeout_seconds``
and, for X12, an ``x12`` block (sender/receiver ids, contact, billing address). The password
is only ever read from the keyring as ``insurer.{payer code}.password``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.connectors.base import InsurerChannel
from app.connectors.http import make_client
from app.connectors.insurer_portal import PortalInsurerChannel, PortalLogin
from app.connectors.insurer_sftp import SftpInsurerChannel
from app.context import AppContext
from app.db.models import Payer
from app.domain.status import InsurerChannelKind
from app.errors import ConfigurationError, NotFound
from app.settings import get_setting

PROVIDER_BY_CHANNEL: dict[InsurerChannelKind, str] = {
    InsurerChannelKind.SFTP_XML: "insurer_sftp",
    InsurerChannelKind.HTTP_PORTAL: "insurer_portal",
    InsurerChannelKind.X12: "clearinghouse",
}


@dataclass(frozen=True)
class PayerProfile:
    """A payer as the claims runbook needs it: plain values, safe to pass between threads."""

    id: int
    code: str
    name: str
    channel: InsurerChannelKind
    payer_id_code: str
    settings: Mapping[str, Any]

    @classmethod
    def of(cls, payer: Payer) -> PayerProfile:
        try:
            settings = json.loads(payer.settings_json or "{}")
        except json.JSONDecodeError as exc:
            raise ConfigurationError(f"The settings of payer {payer.code} are not valid JSON ({exc}).") from exc
        return cls(payer.id, payer.code, payer.name, payer.channel, payer.payer_id_code, settings)

    @property
    def provider(self) -> str:
        """The outbox provider / poll name of this payer's channel ("" when it has none)."""
        return PROVIDER_BY_CHANNEL.get(self.channel, "")

    @property
    def x12(self) -> Mapping[str, Any]:
        block = self.settings.get("x12", {})
        return block if isinstance(block, dict) else {}


def payer_profile(session: Session, payer_id: int) -> PayerProfile:
    payer = session.get(Payer, payer_id)
    if payer is None:
        raise NotFound(f"Payer {payer_id} does not exist.")
    return PayerProfile.of(payer)


def profile_by_code(session: Session, code: str) -> PayerProfile:
    payer = session.scalar(select(Payer).where(Payer.code == code))
    if payer is None:
        raise NotFound(f"There is no payer with code {code!r}.")
    return PayerProfile.of(payer)


def profiles_on(session: Session, channel: InsurerChannelKind) -> list[PayerProfile]:
    return [
        PayerProfile.of(p) for p in session.scalars(select(Payer).where(Payer.channel == channel).order_by(Payer.code))
    ]


def _endpoint(ctx: AppContext, profile: PayerProfile) -> str:
    own = profile.settings.get("endpoint")
    if own:
        return str(own)
    with ctx.db.read() as s:
        endpoints: Mapping[str, Any] = get_setting(s, "endpoints") or {}
    value = endpoints.get(profile.provider)
    if not value:
        raise ConfigurationError(
            f"{profile.name}: no address is set for the {profile.provider} channel (Settings → Providers)."
        )
    return str(value)


def _setting(profile: PayerProfile, key: str) -> str:
    value = profile.settings.get(key)
    if not value:
        raise ConfigurationError(f"{profile.name}: the payer profile has no {key!r} (Settings → Payers).")
    return str(value)


def _password(ctx: AppContext, profile: PayerProfile) -> str:
    return ctx.secret(f"insurer.{profile.code}.password")


@contextmanager
def open_channel(ctx: AppContext, profile: PayerProfile) -> Iterator[InsurerChannel]:
    """The payer's channel, ready to use; closed (HTTP client) when the block ends."""
    timeout = float(profile.settings.get("timeout_seconds", 20))
    url = _endpoint(ctx, profile)
    if profile.channel in (InsurerChannelKind.SFTP_XML, InsurerChannelKind.X12):
        parts = urlsplit(url)
        if parts.scheme != "sftp" or not parts.hostname:
            raise ConfigurationError(f"{profile.name}: {url!r} is not an sftp://host:port address.")
        label = "clearinghouse SFTP" if profile.channel is InsurerChannelKind.X12 else "SFTP"
        yield SftpInsurerChannel(
            parts.hostname,
            parts.port or 22,
            _setting(profile, "username"),
            _password(ctx, profile),
            _setting(profile, "host_fingerprint"),
            name=f"{profile.name} {label}",
            timeout=timeout,
            clock=ctx.clock,
        )
        return
    if profile.channel is InsurerChannelKind.HTTP_PORTAL:
        limits = httpx.Timeout(connect=min(timeout, 5.0), read=timeout, write=timeout, pool=min(timeout, 5.0))
        with make_client(url, timeout=limits) as client:
            name = f"{profile.name} portal"
            login = PortalLogin(
                client, _setting(profile, "username"), _password(ctx, profile), name=name, clock=ctx.clock
            )
            yield PortalInsurerChannel(client, login, name=name, clock=ctx.clock)
        return
    raise ConfigurationError(f"{profile.name} has no electronic claims channel; claims to it are settled by hand.")
