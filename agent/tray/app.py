"""The tray icon itself: the only module that runs pystray.

Threads: the tray owns the main thread (macOS demands it, and GTK wants one thread);
the engine runs in a worker thread and publishes snapshots through :meth:`TrayApp.publish`,
which only stores the newest and asks the tray thread to apply it — with ``GLib.idle_add``
on the GTK backends, otherwise through pystray's own cross-thread setters. A watcher
thread looks at the desktop's tray hosts every few seconds (:mod:`agent.tray.hosts`):
it tells whether a host shows the icon, writes ``tray.json`` for ``status`` and
``doctor`` (:mod:`agent.tray.report`), lets notifications take over while no host shows
it, and replaces the icon by the other GTK backend when the host that exists wants it
(an XEmbed tray appears where a StatusNotifier host was expected, or the other way).

``import pystray`` happens in :func:`load_tray` only: pystray picks its backend at import
time and raises without a display, so headless runs never import it.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from agent.config import Config
from agent.decide import load_cache, requirements_file
from agent.engine.review import stored_reviews
from agent.engine.state import AgentState
from agent.engine.status import Snapshot
from agent.locations import locations
from agent.tray import desktop, dialogs
from agent.tray.actions import TrayActions
from agent.tray.backends import icon_class
from agent.tray.hosts import (
    GLIB_BACKENDS,
    XORG,
    HostProbe,
    TrayHosts,
    available_backends,
    choose_backend,
    desktop_name,
    host_fix,
    probe_hosts,
)
from agent.tray.icons import icon_for, icon_key, needs_attention
from agent.tray.menu import Action, MenuEntry, MenuFacts, build_menu, workflow_progress
from agent.tray.notifier import DesktopNotifier
from agent.tray.notifier import NoticeAction as Button
from agent.tray.notify import Notice, NoticeAction, NotificationPolicy
from agent.tray.report import TrayReport, write_report
from agent.tray.words import Batch, status_line, tooltip

log = logging.getLogger(__name__)

T = TypeVar("T")
TICK = 0.5  # how often the tray looks at notifications and the engine's end
HOST_INTERVAL = 3.0  # how often the tray hosts are looked at
SHOW_GRACE = 10.0  # how long a host may take to show a new icon
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
    if sys.platform.startswith("linux"):
        hosts, available = probe_hosts(), available_backends()
        chosen = choose_backend(hosts, available, forced)
        log.info(
            "tray hosts: %s; backends that load: %s",
            hosts.describe(),
            ", ".join(available) or "none",
        )
        if chosen is not None:
            os.environ["PYSTRAY_BACKEND"] = chosen
    try:
        import pystray
    except Exception as error:  # pystray raises several kinds when no backend works
        log.warning(
            "running without a tray icon: pystray could not load a backend (%s: %s)",
            type(error).__name__,
            error,
        )
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


class TrayApp:
    """The icon, its menu and its notifications, for one running engine."""

    def __init__(
        self,
        config: Config,
        tray: Tray,
        stop: threading.Event,
        *,
        clock: Callable[[], float] = time.monotonic,
        open_path: Callable[[Path], bool] = desktop.open_path,
        notifier: DesktopNotifier | None = None,
        on_signed_in: Callable[[], None] = lambda: None,
    ) -> None:
        self.config = config
        self.tray = tray
        self.stop = stop
        self.state_dir = locations().profile_state(config.agent.profile)
        self.log_file = locations().log_dir / LOG_FILE
        self.notifications = NotificationPolicy(clock)
        self.notifier = notifier or (
            DesktopNotifier(os.environ) if sys.platform.startswith("linux") else None
        )
        self._clock = clock
        self._open_path = open_path
        self._lock = threading.Lock()
        self._latest: Snapshot | None = None
        self._scheduled = False
        self._shown: Snapshot | None = None
        self._batch = Batch()
        self._icon_key: object = None
        self._menu_entries: tuple[MenuEntry, ...] | None = None
        self._engine_done = threading.Event()
        self._icon: Any = None
        self._glib: Any = None
        self._backend = tray.backend
        self._switch_to: str | None = None
        self._icon_started = 0.0
        self._embedded: bool | None = None
        self._unique_name: str | None = None
        self._report: TrayReport | None = None
        self._no_tray_told = False
        self.actions = TrayActions(
            config,
            self.state_dir,
            self.log_file,
            snapshot=lambda: self._shown or self._placeholder(),
            status_lines=self._status_lines,
            names=self._requirement_names,
            notify=self._notify,
            notifications=self.notifications,
            stop=stop,
            open_path=open_path,
            use_gtk=tray.uses_glib and dialogs.gtk_available(),
            on_signed_in=on_signed_in,
        )

    # -- threads -----------------------------------------------------------------------

    def run(self, work: Callable[[], T]) -> T:
        """Run ``work`` (the engine) in a worker thread while the tray owns this thread."""
        results: list[T] = []
        errors: list[BaseException] = []

        def engine() -> None:
            try:
                results.append(work())
            except BaseException as error:
                errors.append(error)
                self.stop.set()
            finally:
                self._engine_done.set()

        if self.tray.uses_glib:
            self._glib = importlib.import_module("gi.repository.GLib")
        worker = threading.Thread(target=engine, name="engine", daemon=True)
        watcher = threading.Thread(target=self._watch, name="tray-watch", daemon=True)
        worker.start()
        watcher.start()
        try:
            while not self._engine_done.is_set():
                self._run_icon(worker)
                if self._switch_to is None:
                    break
                self._backend, self._switch_to = self._switch_to, None
            self.stop.set()
        except Exception:
            log.exception("the tray icon failed; the agent goes on without it")
            self._glib = self._icon = None  # no loop runs: notices are shown from here
            self._set_report(problem="the tray icon failed: see the log", shown=False)
            while worker.is_alive():  # SIGTERM / Ctrl-C still stop the engine
                worker.join(TICK)
        finally:
            self.stop.set()
            worker.join()
            watcher.join(HOST_INTERVAL * 2)
            if self.notifier is not None:
                self.notifier.close()
        if errors:
            raise errors[0]
        return results[0]

    def _run_icon(self, worker: threading.Thread) -> None:
        """Make the icon of the current backend and run it until it stops."""
        snapshot = self._shown or self._placeholder()
        self._icon_key = icon_key(snapshot)
        self._menu_entries = self.menu_entries()
        self._icon = icon_class(self._backend)(
            _icon_id(self.config.agent.profile),
            icon=icon_for(snapshot),
            title=tooltip(snapshot, self._batch),
            menu=self.tray.pystray.Menu(*self._items(self._menu_entries)),
        )
        self._icon_started = self._clock()
        self._embedded = None
        log.info("tray: showing the icon with the %s backend", self._backend)

        def setup(icon: Any) -> None:
            icon.visible = True
            if self._backend == "appindicator":
                self._post(self._learn_bus_name)
            self._post(lambda: self._show(self._shown or self._placeholder()))

        if self._backend == XORG:
            # xorg's loop (python-xlib) does not always return after stop(), and it has
            # no thread affinity: it gets a daemon thread, which cannot hold up the exit.
            icon = threading.Thread(target=self._icon.run, args=(setup,), daemon=True)
            icon.start()
            while worker.is_alive():  # SIGTERM / Ctrl-C still reach this thread
                worker.join(TICK)
            icon.join(TICK * 4)
        else:
            self._icon.run(setup)
        icon_done, self._icon = self._icon, None
        del icon_done

    def publish(self, snapshot: Snapshot) -> None:
        """The engine's callback (any thread): keep the newest, let the tray thread show it."""
        with self._lock:
            self._latest = snapshot
            if self._scheduled:
                return
            self._scheduled = True
        self._post(self._apply_latest)

    def _post(self, call: Callable[[], object]) -> None:
        if self._glib is not None:

            def once() -> bool:
                try:
                    call()
                except Exception:
                    log.exception("the tray failed to update")
                return False

            self._glib.idle_add(once)
        else:
            call()  # pystray's xorg, win32 and darwin setters marshal to their own thread

    def _watch(self) -> None:
        """The watcher thread: notifications due, tray hosts, whether the icon shows."""
        probe = HostProbe(os.environ)
        next_look = 0.0
        try:
            while not self._engine_done.wait(TICK):
                self._post(self._tick)
                if self._clock() >= next_look:
                    next_look = self._clock() + HOST_INTERVAL
                    self._look(probe)
        except Exception:
            log.exception("the tray's host watch stopped")
        finally:
            probe.close()
            icon = self._icon
            if icon is not None:
                self._post(icon.stop)

    # -- hosts and health ----------------------------------------------------------------

    def _look(self, probe: HostProbe) -> None:
        if not sys.platform.startswith("linux") or self._icon is None:
            return
        hosts = probe.hosts()
        if hosts != self.tray.hosts:
            log.info(
                "tray hosts changed: %s (before: %s)", hosts.describe(), self.tray.hosts.describe()
            )
            self.tray = replace(self.tray, hosts=hosts)
            self._icon_started = max(self._icon_started, self._clock() - SHOW_GRACE / 2)
        shown = self._icon_shown(probe, hosts)
        if shown is False and hosts.xembed and self._backend == XORG:
            self._dock_again()
        settling = self._clock() - self._icon_started < SHOW_GRACE
        failures = list(getattr(self._icon, "failures", []))
        problem, fix = None, ""
        if failures:
            problem = f"the {self._backend} backend failed: {failures[-1]}"
            fix = "See the log (`kompliant-agent logs`); restart the agent."
        elif not hosts.any and not shown:
            problem = (
                "no tray host on this desktop (no StatusNotifierWatcher on the session bus, "
                "no XEmbed tray manager)"
            )
            fix = host_fix(desktop_name(os.environ))
        elif shown is False and not settling:
            problem = self._not_shown_why(hosts)
            fix = "Restart the panel or the agent; see the log (`kompliant-agent logs`)."
        self._set_report(problem=problem, fix=fix, shown=shown if not settling or shown else None)
        if problem and not settling:
            self._post(lambda: self._no_tray(problem or "", fix))
        elif shown:
            self._no_tray_told = False
        target = choose_backend(hosts, self.tray.available)
        if (
            not self.tray.forced
            and not shown
            and not settling
            and hosts.any
            and target in GLIB_BACKENDS
            and self._backend in GLIB_BACKENDS
            and target != self._backend
        ):
            log.info(
                "tray: switching from the %s to the %s backend for %s",
                self._backend,
                target,
                hosts.describe(),
            )
            self._switch_to = target
            icon = self._icon
            self._post(lambda: icon.stop())

    def _icon_shown(self, probe: HostProbe, hosts: TrayHosts) -> bool | None:
        icon = self._icon
        if icon is None:
            return None
        if self._backend == "appindicator":
            if not hosts.shows_sni or self._unique_name is None:
                return False
            path = "/org/ayatana/NotificationItem/" + _icon_id(self.config.agent.profile).replace(
                "-", "_"
            )
            for item in probe.registered_items():
                if item.startswith(self._unique_name + "/") and item.endswith(path):
                    return probe.item_status(item) in ("Active", "NeedsAttention")
            return False
        if self._backend == "gtk":
            self._post(self._learn_embedded)
            return self._embedded
        shown = getattr(icon, "shown", None)
        return bool(shown()) if shown is not None else None

    def _dock_again(self) -> None:
        """pystray's xorg icon docks when shown and when its tray goes away, not when a
        tray comes: ask it again (it runs the request in its own thread)."""
        try:
            self._icon._show()
        except Exception as error:
            log.debug("tray: the xorg icon could not dock yet: %s", error)

    def _not_shown_why(self, hosts: TrayHosts) -> str:
        if self._backend == "appindicator":
            return (
                f"{hosts.describe()} did not take the icon (not registered, or its Status "
                "is not Active)"
            )
        if self._backend == "gtk":
            return f"{hosts.describe()} did not embed the icon"
        return f"the {self._backend} icon is not docked in {hosts.describe()}"

    def _learn_bus_name(self) -> None:
        gio = importlib.import_module("gi.repository.Gio")
        self._unique_name = gio.bus_get_sync(gio.BusType.SESSION, None).get_unique_name()

    def _learn_embedded(self) -> None:
        icon = self._icon
        if icon is not None and hasattr(icon, "shown"):
            self._embedded = bool(icon.shown())

    def _set_report(self, *, problem: str | None, shown: bool | None, fix: str = "") -> None:
        report = TrayReport(
            pid=os.getpid(),
            backend=self._backend,
            hosts=self.tray.hosts.describe(),
            shown=shown,
            problem=problem,
            fix=fix,
            menu=self.tray.has_menu,
            notifications=self.notifier is not None and self.notifier.available(),
        )
        if report == self._report:
            return
        before, self._report = self._report, report
        if problem and (before is None or before.problem != problem):
            log.warning("tray icon not shown: %s. %s", problem, fix)
        elif shown and (before is None or not before.shown):
            log.info("tray icon shown by %s (%s backend)", report.hosts, self._backend)
        stamped = replace(report, updated_at=datetime.now(UTC).isoformat(timespec="seconds"))
        try:
            write_report(self.state_dir, stamped)
        except OSError as error:
            log.warning("cannot write the tray report: %s", error)

    def _no_tray(self, why: str, fix: str) -> None:
        if not self._no_tray_told:
            self._no_tray_told = True
            self.notifications.no_tray(why, fix)
            self._tick()

    # -- on the tray thread --------------------------------------------------------------

    def _tick(self) -> None:
        self._show_notice(self.notifications.due())

    def _apply_latest(self) -> None:
        with self._lock:
            snapshot, self._latest, self._scheduled = self._latest, None, False
        if snapshot is None:
            return
        try:
            self._batch = self._batch.follow(snapshot)
            self._shown = snapshot
            if self._icon is not None:
                self._show(snapshot)
            self._show_notice(self.notifications.observe(snapshot, self._requirement_names()))
        except Exception:  # the icon must never stop the engine that reports to it
            log.exception("the tray icon could not show the agent's state")

    def _show(self, snapshot: Snapshot) -> None:
        icon = self._icon
        key = icon_key(snapshot)
        if key != self._icon_key:
            self._icon_key = key
            icon.icon = icon_for(snapshot)
        if hasattr(icon, "set_attention"):
            attention = needs_attention(snapshot.state)
            if attention != icon.attention:
                icon.set_attention(attention)
        title = tooltip(snapshot, self._batch)
        if self._backend == XORG:  # python-xlib writes the window name as Latin-1
            title = title.encode("latin-1", "replace").decode("latin-1")
        icon.title = title
        self._refresh_menu()

    def _refresh_menu(self) -> None:
        entries = self.menu_entries()
        if entries == self._menu_entries or self._icon is None:
            return  # an unchanged menu is not rebuilt: an open menu stays open
        self._menu_entries = entries
        self._icon.menu = self.tray.pystray.Menu(*self._items(entries))

    def menu_entries(self) -> tuple[MenuEntry, ...]:
        snapshot = self._shown or self._placeholder()
        left = self.notifications.snooze_left()
        return build_menu(
            snapshot,
            MenuFacts(
                workflows=self._workflows(snapshot),
                requirement_names=self._requirement_names(),
                signed_in=not snapshot.sign_in_needed,
                snoozed_until=None if left is None else _clock_text(left),
                batch=self._batch,
            ),
        )

    def _workflows(self, snapshot: Snapshot) -> tuple[Any, ...]:
        cache = load_cache(requirements_file(self.config.agent.profile))
        return workflow_progress(self.config, cache, snapshot.folders, stored_reviews(self.config))

    def _requirement_names(self) -> dict[str, str]:
        cache = load_cache(requirements_file(self.config.agent.profile))
        return {
            rd.required_document_id: rd.name
            for w in self.config.workflows
            if (cached := cache.get(w.workflow_id)) is not None
            for rd in cached.required_documents
        }

    def _items(self, entries: tuple[MenuEntry, ...]) -> list[Any]:
        pystray = self.tray.pystray
        items: list[Any] = []
        for entry in entries:
            if entry.separator:
                items.append(pystray.Menu.SEPARATOR)
            elif entry.submenu:
                items.append(
                    pystray.MenuItem(entry.text, pystray.Menu(*self._items(entry.submenu)))
                )
            else:
                items.append(
                    pystray.MenuItem(
                        entry.text,
                        self._handler(entry.action, entry.arg),
                        default=entry.default,
                        enabled=entry.action is not None,
                    )
                )
        return items

    def _handler(self, action: Action | None, arg: str) -> Callable[[Any, Any], None]:
        def handle(icon: Any, item: Any) -> None:
            if action is not None:
                self.perform(action, arg)

        return handle

    def perform(self, action: Action, arg: str = "") -> bool:
        """Carry out a menu action (on the tray thread); False when it did not work."""
        worked = self.actions.perform(action, arg)
        self._refresh_menu()
        return worked

    def _show_notice(self, notice: Notice | None) -> None:
        if notice is not None:
            self._notify(notice)

    def _notify(self, notice: Notice) -> None:
        log.info("notification: %s — %s", notice.title, notice.body.replace("\n", " "))
        if self.notifier is not None:
            buttons = [self._button(action, notice) for action in notice.actions]
            self.notifier.notify(
                notice.title,
                notice.body,
                actions=[b for b in buttons if b is not None],
                urgent=notice.urgent,
            )
        elif self._icon is not None and self.tray.pystray.Icon.HAS_NOTIFICATION:
            self._icon.notify(notice.body, notice.title)

    def _button(self, action: NoticeAction, notice: Notice) -> Button | None:
        """A notification's action, as its button (``default``: a click on it)."""
        if action is NoticeAction.OPEN_FOLDER and notice.folder:
            folder = Path(notice.folder)
            return Button("default", "Open the failed folder", lambda: self._open_path(folder))
        if action is NoticeAction.OPEN_FAILED:
            return Button(
                "default",
                "Open the failed folders",
                lambda: self._post(lambda: self.perform(Action.OPEN_FAILED)),
            )
        if action is NoticeAction.SIGN_IN and self.tray.has_menu:
            return Button("default", "Sign in…", lambda: self._post(self._sign_in_from_notice))
        return None

    def _sign_in_from_notice(self) -> None:
        self.perform(Action.SIGN_IN)

    def _status_lines(self) -> list[str]:
        snapshot = self._shown or self._placeholder()
        lines = [status_line(snapshot, self._batch), snapshot.message, ""]
        lines += [f"Problem: {p}" for p in snapshot.problems]
        lines += [w.line() for w in self._workflows(snapshot)]
        lines += [""] + [
            f"{f.key}: {f.waiting} waiting, {f.in_progress} in progress, {f.done} done, "
            f"{f.failed} failed, {f.needs_routing} need routing"
            for f in snapshot.folders
        ]
        if self._report is not None:
            lines += ["", f"Tray: {self._report.line()}"]
        return lines

    def _placeholder(self) -> Snapshot:
        return Snapshot(state=AgentState.IDLE, pid=0, updated_at="", message="Starting…")


def _icon_id(profile: str) -> str:
    """The icon's id (the StatusNotifier host keeps its settings by it): one per profile."""
    return "kompliant-agent" if profile == "default" else f"kompliant-agent-{profile}"


def _clock_text(seconds_from_now: float) -> str:
    return datetime.fromtimestamp(time.time() + seconds_from_now).strftime("%H:%M")
