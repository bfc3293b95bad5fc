"""Opening folders, files and a terminal the way the desktop does (no pystray here)."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger(__name__)

TERMINALS = ("x-terminal-emulator", "gnome-terminal", "konsole", "xfce4-terminal", "xterm")


def open_path(path: Path) -> bool:
    """Show ``path`` in the desktop's file manager or viewer; False (logged) when it can't."""
    if sys.platform == "win32":  # pragma: no cover - Windows only
        os.startfile(path)
        return True
    command = ["open", str(path)] if sys.platform == "darwin" else ["xdg-open", str(path)]
    if shutil.which(command[0]) is None:
        log.warning("cannot open %s: %s is not installed", path, command[0])
        return False
    subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return True


def open_in_terminal(command: Sequence[str]) -> bool:
    """Run ``command`` in a new terminal window; False when no terminal is found."""
    for terminal in TERMINALS:
        if shutil.which(terminal) is not None:
            subprocess.Popen([terminal, "-e", *command])
            return True
    return False
