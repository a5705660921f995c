"""Entry point of ``clinic-billing``. Errors become one clear line on stderr and a non-zero exit."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from types import ModuleType

from app import __version__
from app.cli import admin
from app.cli.common import UsageError, add_db_option
from app.errors import ClinicBillingError
from app.logging_setup import configure_logging
from app.paths import app_paths

log = logging.getLogger("app.cli")

MODULES: tuple[ModuleType, ...] = (admin,)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message} (see --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="clinic-billing",
        description="Clinic Billing Desk: claims, payouts, shift close-out, "
        "refunds and disputes. With no command, opens the desktop app.",
    )
    parser.add_argument("--version", action="version", version=f"clinic-billing {__version__}")
    add_db_option(parser, top_level=True)
    parser.add_argument(
        "--demo", action="store_true", help="with no command: fill an empty database with demo data first"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module in MODULES:
        module.register(sub)
    return parser


def _load_optional_modules() -> None:
    """Domain command modules register themselves if present (claims, remit, shift, refunds, payouts)."""
    import importlib

    global MODULES
    extra = []
    for name in ("claims", "remit", "shift", "refunds", "payouts"):
        try:
            extra.append(importlib.import_module(f"app.cli.{name}"))
        except ModuleNotFoundError as exc:
            if exc.name != f"app.cli.{name}":
                raise
    MODULES = (admin, *extra)


def main(argv: Sequence[str] | None = None) -> int:
    paths = app_paths().ensure()
    configure_logging(paths.logs)
    try:
        _load_optional_modules()
        args = build_parser().parse_args(argv)
        if args.command is None:
            from app.cli.gui import launch_gui

            return launch_gui(args)
        code: int = args.func(args)
        return code
    except ClinicBillingError as exc:
        print(f"clinic-billing: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("clinic-billing: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the last line of defence: a clear line on screen, the traceback in the log
        log.exception("unexpected error")
        print(
            f"clinic-billing: unexpected error ({type(exc).__name__}: {exc}); details in {paths.logs}",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
