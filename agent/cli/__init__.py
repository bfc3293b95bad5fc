"""The ``kompliant-agent`` command: one sub-command per module in this package.

Each module exposes ``register(subparsers)``, which adds its parser and sets
``func(args) -> int`` as the default. Errors the agent raises on purpose are printed
as one readable paragraph and mapped to the exit codes of :mod:`agent.cli.exitcodes`.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from agent import __version__
from agent.cli import exitcodes
from agent.errors import AgentError
from agent.logfile import setup_logging

log = logging.getLogger(__name__)

COMMAND_MODULES = (
    "agent.cli.login",
    "agent.cli.upload",
    "agent.cli.sandbox",
    "agent.cli.workflows",
    "agent.cli.run",
    "agent.cli.review",
    "agent.cli.cover_sheets",
    "agent.cli.demo",
    "agent.cli.setup",
    "agent.cli.doctor",
    "agent.cli.autostart",
    "agent.cli.logs",
)
#: Commands that do not write to the log file (``logs`` reads it).
NO_LOG_FILE = frozenset({"logs"})


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kompliant-agent",
        description="Uploads compliance documents dropped into folders to Kompliant.",
        epilog=exitcodes.EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"kompliant-agent {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return exitcodes.USAGE
    setup_logging(verbose=args.verbose, to_file=args.command not in NO_LOG_FILE)
    log.debug("kompliant-agent %s: %s", __version__, args.command)
    try:
        code: int = args.func(args)
        return code
    except AgentError as error:
        print(f"kompliant-agent: {error.describe()}", file=sys.stderr)
        return exitcodes.for_error(error)
    except KeyboardInterrupt:
        return 130
