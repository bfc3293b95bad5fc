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

COMMAND_MODULES = (
    "agent.cli.login",
    "agent.cli.upload",
    "agent.cli.sandbox",
    "agent.cli.workflows",
    "agent.cli.run",
    "agent.cli.review",
    "agent.cli.demo",
)


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
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        code: int = args.func(args)
        return code
    except AgentError as error:
        print(f"kompliant-agent: {error.describe()}", file=sys.stderr)
        return exitcodes.for_error(error)
    except KeyboardInterrupt:
        return 130
