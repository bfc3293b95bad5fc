"""Which tray to show: pystray with the backend the desktop's tray host takes.

``import pystray`` happens in :func:`load_tray` only: pystray picks its backend at import
time and raises without a display, so headless runs never import it. On Linux the hosts
are looked at first (:mod:`agent.tray.hosts`) and ``PYSTRAY_BACKEND`` is set to the
backend they take; a backend that fails to load gives way to the next one that does.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from agent.locations import locations
from agent.tray.backends import icon_class
from agent.tray.hosts import (
    GLIB_BACKENDS,
    XORG,
    TrayHosts,
    available_backends,
    choose_backend,
    probe_hosts,
)

log = logging.getLogger(__name__)

LOG_FILE = "agent.log"
NO_MENU_WHY = (
    "the tray menu is unavailable: only pystray's xorg backend could be loaded, which has "
    "no menu and receives no clicks (pystray issue #151). Install GTK 3 and PyGObject "
    "(Debian/Ubuntu: sudo apt-get install python3-gi gir1.2-gtk-3.0) for the full menu; "
    "meanwhile use `kompliant-agent status`, `pause`, `resume` and `retry`"
)


@dataclass(frozen=True)
class Tray:
    """pystray, loaded, and the backend chosen for the hosts found."""

    pystray: ModuleType
    backend: str
    hosts: TrayHosts = field(default_factory=TrayHosts)
    available: tuple[str, ...] = ()
    forced: bool = False

    @property
    def has_menu(self) -> bool:
        if self.backend in GLIB_BACKENDS or self.backend == XORG:
            return self.backend != XORG  # known without loading pystray's module
        return bool(icon_class(self.backend).HAS_MENU)

    @property
    def uses_glib(self) -> bool:
        return self.backend in GLIB_BACKENDS


def display_available(environ: dict[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


def load_tray() -> Tray | None:
    """pystray with the backend that fits this desktop's tray host; None (logged) when
    there is no display or no backend loads."""
    if not display_available():
        log.info("no display (DISPLAY / WAYLAND_DISPLAY unset): running without a tray icon")
        return None
    os.environ.setdefault("NO_AT_BRIDGE", "1")  # no accessibility bus daemon for a tray icon
    hosts: TrayHosts = TrayHosts()
    available: tuple[str, ...] = ()
    forced = os.environ.get("PYSTRAY_BACKEND") or None
    candidates: list[str | None] = [forced]
    if sys.platform.startswith("linux"):
        hosts, available = probe_hosts(), available_backends()
        chosen = choose_backend(hosts, available, forced)
        log.info(
            "tray hosts: %s; backends that load: %s",
            hosts.describe(),
            ", ".join(available) or "none",
        )
        if not forced:  # the chosen one, then the others that load, best first
            candidates = [chosen, *(b for b in available if b != chosen)] if chosen else [None]
    pystray = None
    for candidate in candidates:
        if candidate:
            os.environ["PYSTRAY_BACKEND"] = candidate
        try:
            pystray = importlib.import_module("pystray")
            break
        except Exception as error:  # pystray raises several kinds when a backend fails
            log.warning(
                "the tray's %s backend does not load (%s: %s)",
                candidate or "default",
                type(error).__name__,
                error,
            )
            for name in [m for m in sys.modules if m == "pystray" or m.startswith("pystray.")]:
                del sys.modules[name]
    if pystray is None:
        log.warning("running without a tray icon: no pystray backend loads")
        return None
    backend = pystray.Icon.__module__.rpartition("._")[2]
    tray = Tray(pystray, backend, hosts, available, forced is not None)
    if not tray.has_menu:
        log.warning(NO_MENU_WHY)
    else:
        log.info("tray icon with the %s backend%s", backend, " (PYSTRAY_BACKEND)" if forced else "")
    return tray


def add_log_file() -> Path:
    """Also log to the agent's log file (what “Open the log” shows)."""
    path = locations().log_dir / LOG_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)
    return path
