"""Whether a tray host shows the icon: looked at again and again, never assumed.

The watcher thread calls :meth:`IconHealth.look` every few seconds. It looks at the
desktop's tray hosts (:class:`agent.tray.hosts.HostProbe`) and at the icon: an
AppIndicator item must be registered with the StatusNotifierWatcher and ``Active`` (or
``NeedsAttention``) as the host reads it; a GTK status icon must be embedded by an XEmbed
tray; pystray's xorg icon must be docked (and is asked to dock again when a tray comes).
An exception in the backend's loop counts too. What it finds goes to the log and to
``tray.json`` (:mod:`agent.tray.report`) when it changes; a problem that lasts past a
short grace is handed to ``on_problem`` once (notifications take over), and a host of the
other kind than the icon's makes ``on_switch`` replace the icon by the backend it takes.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent.tray.hosts import (
    APPINDICATOR,
    GLIB_BACKENDS,
    GTK,
    XORG,
    HostProbe,
    TrayHosts,
    choose_backend,
    desktop_name,
    host_fix,
)
from agent.tray.loader import Tray
from agent.tray.report import TrayReport, write_report

log = logging.getLogger(__name__)

SHOW_GRACE = 10.0  # how long a host may take to show a new icon
NO_HOST = (
    "no tray host on this desktop (no StatusNotifierWatcher on the session bus, no XEmbed "
    "tray manager)"
)
SEE_THE_LOG = "See the log (`kompliant-agent logs`); restart the agent."


@dataclass
class RunningIcon:
    """The icon being shown, and what the health watch learnt about it."""

    icon: Any
    backend: str
    started: float  # clock time
    bus_name: str | None = None  # AppIndicator: this process's name on the session bus
    embedded: bool | None = None  # GTK: whether a tray embedded it, as GTK last said


class IconHealth:
    def __init__(
        self,
        tray: Tray,
        state_dir: Path,
        icon_id: str,
        *,
        clock: Callable[[], float],
        post: Callable[[Callable[[], object]], None],
        notifications: Callable[[], bool],
        on_problem: Callable[[str, str], None],
        on_switch: Callable[[str], None],
    ) -> None:
        self.tray = tray
        self._state_dir = state_dir
        self._item_path = "/org/ayatana/NotificationItem/" + icon_id.replace("-", "_")
        self._clock = clock
        self._post = post
        self._notifications = notifications
        self._on_problem = on_problem
        self._on_switch = on_switch
        self.running: RunningIcon | None = None
        self.report: TrayReport | None = None
        self._told = False  # on_problem was called since the icon last showed

    def started(self, icon: Any, backend: str) -> None:
        """A new icon runs (call in the icon's loop)."""
        running = RunningIcon(icon, backend, self._clock())
        if backend == APPINDICATOR:
            gio = importlib.import_module("gi.repository.Gio")
            running.bus_name = gio.bus_get_sync(gio.BusType.SESSION, None).get_unique_name()
        self.running = running

    def stopped(self) -> None:
        self.running = None

    def failed(self, problem: str) -> None:
        """The icon could not run at all."""
        self._write(problem=problem, fix=SEE_THE_LOG, shown=False)

    # -- the watcher thread -------------------------------------------------------------

    def look(self, probe: HostProbe) -> None:
        running = self.running
        if running is None:
            return
        hosts = probe.hosts()
        if hosts != self.tray.hosts:
            log.info(
                "tray hosts changed: %s (before: %s)", hosts.describe(), self.tray.hosts.describe()
            )
            self.tray = replace(self.tray, hosts=hosts)
            running.started = max(running.started, self._clock() - SHOW_GRACE / 2)
        shown = self._shown(running, probe, hosts)
        if shown is False and hosts.xembed and running.backend == XORG:
            _dock_again(running.icon)
        settling = self._clock() - running.started < SHOW_GRACE
        failures = list(getattr(running.icon, "failures", []))
        problem, fix = None, ""
        if failures:
            problem, fix = f"the {running.backend} backend failed: {failures[-1]}", SEE_THE_LOG
        elif not hosts.any and not shown:
            problem, fix = NO_HOST, host_fix(desktop_name(os.environ))
        elif shown is False and not settling:
            problem = _not_shown_why(running.backend, hosts)
            fix = "Restart the panel or the agent; see the log (`kompliant-agent logs`)."
        self._write(problem=problem, fix=fix, shown=shown if not settling or shown else None)
        if problem and not settling and not self._told:
            self._told = True
            self._on_problem(problem, fix)
        elif shown:
            self._told = False
        target = choose_backend(hosts, self.tray.available)
        if (
            not self.tray.forced
            and not shown
            and not settling
            and hosts.any
            and target in GLIB_BACKENDS
            and running.backend in GLIB_BACKENDS
            and target != running.backend
        ):
            log.info(
                "tray: switching from the %s to the %s backend for %s",
                running.backend,
                target,
                hosts.describe(),
            )
            self.running = None
            self._on_switch(target)

    def _shown(self, running: RunningIcon, probe: HostProbe, hosts: TrayHosts) -> bool | None:
        if running.backend == APPINDICATOR:
            if not hosts.shows_sni or running.bus_name is None:
                return False
            for item in probe.registered_items():
                if item.startswith(running.bus_name + "/") and item.endswith(self._item_path):
                    return probe.item_status(item) in ("Active", "NeedsAttention")
            return False
        if running.backend == GTK:

            def learn() -> None:  # GTK answers in its own loop; the next look reads it
                running.embedded = bool(running.icon.shown())

            self._post(learn)
            return running.embedded
        shown = getattr(running.icon, "shown", None)
        return bool(shown()) if shown is not None else None

    def _write(self, *, problem: str | None, fix: str, shown: bool | None) -> None:
        backend = self.running.backend if self.running else self.tray.backend
        report = TrayReport(
            pid=os.getpid(),
            backend=backend,
            hosts=self.tray.hosts.describe(),
            shown=shown,
            problem=problem,
            fix=fix,
            menu=self.tray.has_menu,
            notifications=self._notifications(),
        )
        if report == self.report:
            return
        before, self.report = self.report, report
        if problem and (before is None or before.problem != problem):
            log.warning("tray icon not shown: %s. %s", problem, fix)
        elif shown and (before is None or not before.shown):
            log.info("tray icon shown by %s (%s backend)", report.hosts, backend)
        stamped = replace(report, updated_at=datetime.now(UTC).isoformat(timespec="seconds"))
        try:
            write_report(self._state_dir, stamped)
        except OSError as error:
            log.warning("cannot write the tray report: %s", error)


def _dock_again(icon: Any) -> None:
    """pystray's xorg icon docks when shown and when its tray goes away, not when a tray
    comes: ask it again (it runs the request in its own thread)."""
    try:
        icon._show()
    except Exception as error:
        log.debug("tray: the xorg icon could not dock yet: %s", error)


def _not_shown_why(backend: str, hosts: TrayHosts) -> str:
    if backend == APPINDICATOR:
        return (
            f"{hosts.describe()} did not take the icon (not registered, or its Status is not "
            "Active)"
        )
    if backend == GTK:
        return f"{hosts.describe()} did not embed the icon"
    return f"the {backend} icon is not docked in {hosts.describe()}"
