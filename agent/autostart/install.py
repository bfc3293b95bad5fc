"""Writing, removing and checking the autostart files (the I/O edge of this package).

On Linux the agent starts at login either as a systemd user service (headless, restarted
on failure) or from the desktop session's autostart (with the tray); enabling one removes
the other, so two agents never race for the profile's lock. ``systemctl --user`` is asked
to reload when it can be reached; the files and the ``default.target.wants`` link are
written directly, so enabling works (and is tested) without a running user manager.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from agent.appinfo import COMMAND
from agent.atomic import write_atomically
from agent.autostart.entries import (
    SYSTEMD_UNIT,
    AutostartKind,
    Launch,
    kinds_for,
    render,
    target_path,
    wants_link,
)
from agent.autostart.templates import packaging_dir
from agent.errors import AgentError
from agent.locations import HOME_ENV, locations

log = logging.getLogger(__name__)

#: Runs ``systemctl --user ARGS``; True when it succeeded.
Systemctl = Callable[[Sequence[str]], bool]


class AutostartUnsupported(AgentError):
    """This platform has no autostart the agent knows how to set up."""


@dataclass(frozen=True)
class EntryState:
    """One autostart file: whether it is there and whether it starts this installation."""

    kind: AutostartKind
    path: Path
    installed: bool
    current: bool


def current_launch(environ: Mapping[str, str] | None = None) -> Launch:
    """How to start this installation: the frozen app, or this Python with ``-m agent``."""
    environ = os.environ if environ is None else environ
    if getattr(sys, "frozen", False):
        program: tuple[str, ...] = (sys.executable,)
    else:
        program = (sys.executable, "-m", "agent")
    keep = tuple((name, environ[name]) for name in (HOME_ENV,) if environ.get(name))
    icon = COMMAND
    try:
        png = packaging_dir() / "icons" / f"{COMMAND}.png"
        if png.is_file():
            icon = str(png)
    except AgentError:
        pass
    return Launch(program=program, environment=keep, log_dir=locations().log_dir, icon=icon)


def systemctl_user(arguments: Sequence[str]) -> bool:
    """``systemctl --user ARGS`` when systemd is there; False (quietly) when it is not."""
    if shutil.which("systemctl") is None:
        return False
    try:
        done = subprocess.run(
            ["systemctl", "--user", *arguments], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        log.debug("systemctl --user %s: %s", " ".join(arguments), error)
        return False
    if done.returncode != 0:
        log.debug("systemctl --user %s: %s", " ".join(arguments), done.stderr.strip())
    return done.returncode == 0


def default_kind(platform: str = sys.platform) -> AutostartKind:
    """The kind ``enable`` uses without ``--kind``.

    Linux: the systemd user service where systemd runs (it restarts the agent if it
    fails), else the desktop session's autostart.
    """
    kinds = kinds_for(platform)
    if not kinds:
        raise AutostartUnsupported(
            f"Starting at login is not supported on {platform}",
            code="AUTOSTART_UNSUPPORTED",
            hint="Start `kompliant-agent run` from your system's own startup settings.",
        )
    if AutostartKind.SYSTEMD in kinds and not Path("/run/systemd/system").is_dir():
        return AutostartKind.XDG
    return kinds[0]


def enable(
    kind: AutostartKind,
    launch: Launch,
    environ: Mapping[str, str],
    *,
    platform: str = sys.platform,
    systemctl: Systemctl = systemctl_user,
) -> Path:
    """Write ``kind``'s file (and remove the platform's other kind); the file written."""
    if kind not in kinds_for(platform):
        raise AutostartUnsupported(
            f"Autostart by {kind.value} is not available on {platform}",
            code="AUTOSTART_UNSUPPORTED",
            hint="Leave out --kind to use this system's usual way.",
        )
    for other in kinds_for(platform):
        if other is not kind:
            _remove(other, environ, systemctl)
    path = target_path(kind, environ)
    text = render(kind, launch)
    write_atomically(path, text.encode("utf-8"))
    log.debug("autostart: wrote %s", path)
    if kind is AutostartKind.SYSTEMD:
        link = wants_link(path)
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(path)
        systemctl(["daemon-reload"])
    return path


def disable(
    environ: Mapping[str, str],
    *,
    platform: str = sys.platform,
    systemctl: Systemctl = systemctl_user,
) -> list[Path]:
    """Remove every autostart file of the platform; the ones that were there."""
    removed: list[Path] = []
    for kind in kinds_for(platform):
        removed.extend(_remove(kind, environ, systemctl))
    return removed


def _remove(kind: AutostartKind, environ: Mapping[str, str], systemctl: Systemctl) -> list[Path]:
    path = target_path(kind, environ)
    removed: list[Path] = []
    if kind is AutostartKind.SYSTEMD:
        link = wants_link(path)
        if link.is_symlink() or link.exists():
            link.unlink()
            removed.append(link)
    if path.exists():
        if kind is AutostartKind.SYSTEMD:
            systemctl(["stop", SYSTEMD_UNIT])
        path.unlink()
        removed.append(path)
        if kind is AutostartKind.SYSTEMD:
            systemctl(["daemon-reload"])
        log.debug("autostart: removed %s", path)
    return removed


def status(
    launch: Launch, environ: Mapping[str, str], *, platform: str = sys.platform
) -> list[EntryState]:
    """Each of the platform's autostart files: there or not, and up to date or not."""
    states = []
    for kind in kinds_for(platform):
        path = target_path(kind, environ)
        try:
            text: str | None = path.read_bytes().decode("utf-8", errors="replace")
        except OSError:
            text = None
        installed = text is not None
        if kind is AutostartKind.SYSTEMD:
            installed = installed and wants_link(path).exists()
        states.append(
            EntryState(
                kind=kind,
                path=path,
                installed=installed,
                current=installed and text == render(kind, launch),
            )
        )
    return states
