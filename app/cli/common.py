"""Shared CLI plumbing: --db, opening the context, one-line errors, acting users, JSON output."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Callable
from dataclasses import fields, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from app.audit import Actor
from app.context import AppContext
from app.errors import ClinicBillingError
from app.money import Money
from app.users import sign_in

Command = Callable[[argparse.Namespace], int]
PIN_ENV = "CLINIC_BILLING_PIN"


class UsageError(ClinicBillingError):
    """Bad command-line input."""


def add_db_option(parser: argparse.ArgumentParser, top_level: bool = False) -> None:
    # on subcommands SUPPRESS keeps a --db given before the subcommand from being overwritten by None
    parser.add_argument(
        "--db",
        metavar="URL",
        default=None if top_level else argparse.SUPPRESS,
        help="SQLite file path or postgresql:// URL (default: the file in your data folder)",
    )


def add_user_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--user",
        metavar="NAME",
        required=True,
        help=f"acting user; the PIN is read from {PIN_ENV} or asked for",
    )


def open_context(args: argparse.Namespace, migrate: bool = True) -> AppContext:
    return AppContext.open(getattr(args, "db", None), migrate=migrate)


def acting_user(ctx: AppContext, args: argparse.Namespace) -> Actor:
    pin = os.environ.get(PIN_ENV)
    if pin is None:
        if not sys.stdin.isatty():
            raise UsageError(f"No PIN: set {PIN_ENV} or run in a terminal to be asked.")
        pin = getpass.getpass(f"PIN for {args.user}: ")
    return sign_in(ctx.db, ctx.clock, args.user, pin)


def _plain(value: Any) -> Any:
    if isinstance(value, Money):
        return str(value.amount)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if is_dataclass(value) and not isinstance(value, type):  # shallow, so nested Money stays Money
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    return value


def print_json(value: Any) -> None:
    json.dump(_plain(value), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
