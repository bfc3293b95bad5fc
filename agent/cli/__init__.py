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

#: Each module and the commands it registers (tests/cli/test_commands.py keeps this true), so
#: that running one command imports only its module: ``status`` answers in a fraction of
#: a second instead of loading the whole agent.
COMMANDS: dict[str, tuple[str, ...]] = {
    "agent.cli.login": ("login", "logout", "whoami"),
    "agent.cli.upload": ("upload",),
    "agent.cli.sandbox": ("sandbox",),
    "agent.cli.workflows": ("add-workflow", "remove-workflow", "refresh"),
    "agent.cli.run": ("run", "status", "retry", "pause", "resume"),
    "agent.cli.review": ("missing", "request"),
    "agent.cli.cover_sheets": ("cover-sheets",),
    "agent.cli.demo": ("demo",),
    "agent.cli.setup": ("setup",),
    "agent.cli.doctor": ("doctor",),
    "agent.cli.autostart": ("autostart",),
    "agent.cli.logs": ("logs",),
}
COMMAND_MODULES = tuple(COMMANDS)
#: Commands that do not write to the log file (``logs`` reads it).
NO_LOG_FILE = frozenset({"logs"})


def _module_of(argv: Sequence[str] | None) -> str | None:
    """The module of the command ``argv`` names (its first word that is not an option);
    None when it names none or asks for help: then every module is registered."""
    args = list(sys.argv[1:] if argv is None else argv)
    if any(arg in ("-h", "--help", "--version") for arg in args):
        return None
    words = [arg for arg in args if not arg.startswith("-")]
    if not words:
        return None
    return next((m for m, commands in COMMANDS.items() if words[0] in commands), None)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kompliant-agent",
        description="Uploads compliance documents dropped into folders to Kompliant.",
        epilog=exitcodes.EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"kompliant-agent {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    only = _module_of(argv) if argv is not None else None
    for name in (only,) if only is not None else COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser(sys.argv[1:] if argv is None else argv)
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
