"""`kompliant-agent logs [--follow]`: show the agent's log file.

The log is ``agent.log`` in the platform's log folder (``agent.logfile``). ``--follow``
keeps printing what is added, also across a rotation (the file is renamed to
``agent.log.1`` and a new one begins), until Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from agent.cli import exitcodes
from agent.logfile import log_file

POLL_SECONDS = 0.25


def register(sub: argparse._SubParsersAction[Any]) -> None:
    logs = sub.add_parser(
        "logs",
        help="show the agent's log (--follow: keep showing new lines)",
        description=(
            "Print the last lines of the agent's log file. Secrets never appear in it, so "
            "it can be sent to support as it is."
        ),
    )
    logs.add_argument(
        "-n", "--lines", type=int, default=50, metavar="N", help="how many lines (default 50)"
    )
    logs.add_argument(
        "-f", "--follow", action="store_true", help="keep printing new lines until Ctrl-C"
    )
    logs.add_argument("--path", action="store_true", help="print only where the log file is")
    logs.set_defaults(func=run_logs)


def last_lines(path: Path, count: int) -> tuple[list[str], int]:
    """The last ``count`` lines of ``path`` and the offset of its end."""
    with path.open("rb") as handle:
        tail = deque(handle, maxlen=max(count, 0))
        end = handle.tell()
    return [line.decode("utf-8", errors="replace") for line in tail], end


class Follower:
    """Reads what is appended to a log file, reopening it when it is rotated."""

    def __init__(self, path: Path, offset: int) -> None:
        self.path = path
        self.offset = offset
        self.identity = _identity(path)

    def read_new(self) -> str:
        identity = _identity(self.path)
        if identity is None:
            return ""  # between the rename and the new file
        if identity != self.identity:
            self.identity, self.offset = identity, 0  # rotated: a new file
        with self.path.open("rb") as handle:
            if handle.seek(0, os.SEEK_END) < self.offset:
                self.offset = 0  # truncated
            handle.seek(self.offset)
            data = handle.read()
            self.offset = handle.tell()
        return data.decode("utf-8", errors="replace")


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_dev, stat.st_ino


def follow(
    follower: Follower,
    out: TextIO,
    *,
    keep_going: Callable[[], bool] = lambda: True,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Print new text until ``keep_going()`` is false (Ctrl-C in practice)."""
    while keep_going():
        text = follower.read_new()
        if text:
            out.write(text)
            out.flush()
        else:
            sleep(POLL_SECONDS)


def run_logs(args: argparse.Namespace) -> int:
    path = log_file()
    if args.path:
        print(path)
        return exitcodes.OK
    if not path.exists() and not args.follow:
        print(
            f"There is no log yet at {path}: it is written once the agent has run a "
            "command (for example `kompliant-agent run`).",
            file=sys.stderr,
        )
        return exitcodes.OK
    lines, end = last_lines(path, args.lines) if path.exists() else ([], 0)
    sys.stdout.writelines(lines)
    sys.stdout.flush()
    if args.follow:
        follow(Follower(path, end), sys.stdout)
    return exitcodes.OK
