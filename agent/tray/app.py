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

Which backend, and loading pystray: :mod:`agent.tray.loader`; whether a host shows the
icon: :mod:`agent.tray.health`; what the menu entries do: :mod:`agent.tray.actions`.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from agent.config import Config
from agent.decide import load_cache, requirements_file
from agent.engine.state import AgentState
from agent.engine.status import Snapshot
from agent.locations import locations
from agent.review.keeper import stored_reviews
from agent.review.store import review_file
from agent.tray import desktop, dialogs
from agent.tray.actions import TrayActions
from agent.tray.backends import icon_class
from agent.tray.health import IconHealth
from agent.tray.hosts import XORG, HostProbe
from agent.tray.icons import icon_for, icon_key, needs_attention
from agent.tray.loader import LOG_FILE, Tray
from agent.tray.menu import Action, MenuEntry, MenuFacts, build_menu, workflow_progress
from agent.tray.notifier import DesktopNotifier
from agent.tray.notifier import NoticeAction as Button
from agent.tray.notify import Notice, NoticeAction, NotificationPolicy
from agent.tray.words import Batch, status_line, tooltip

log = logging.getLogger(__name__)

T = TypeVar("T")
TICK = 0.5  # how often the tray looks at notifications and the engine's end
HOST_INTERVAL = 3.0  # how often the tray hosts are looked at


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
        self.health = IconHealth(
            tray,
            self.state_dir,
            _icon_id(config.agent.profile),
            clock=clock,
            post=self._post,
            notifications=lambda: self.notifier is not None and self.notifier.available(),
            on_problem=lambda why, fix: self._post(lambda: self._no_tray(why, fix)),
            on_switch=self._switch,
        )
        self._workflows_memo: tuple[object, tuple[Any, ...]] | None = None
        self._names_memo: tuple[int | None, dict[str, str]] | None = None
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
            self.health.failed("the tray icon failed to start")
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
        log.info("tray: showing the icon with the %s backend", self._backend)
        backend = self._backend

        def setup(icon: Any) -> None:
            icon.visible = True
            self._post(lambda: self.health.started(icon, backend))
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
        self.health.stopped()
        icon_done, self._icon = self._icon, None
        del icon_done

    def _switch(self, backend: str) -> None:
        """Replace the icon by one of ``backend`` (from the watcher thread)."""
        self._switch_to = backend
        icon = self._icon
        if icon is not None:
            self._post(icon.stop)

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
                if self._clock() >= next_look and sys.platform.startswith("linux"):
                    next_look = self._clock() + HOST_INTERVAL
                    self.health.look(probe)
        except Exception:
            log.exception("the tray's host watch stopped")
        finally:
            probe.close()
            icon = self._icon
            if icon is not None:
                self._post(icon.stop)

    def _no_tray(self, why: str, fix: str) -> None:
        """No host shows the icon: say so; notifications take over."""
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
                confirm_in_menu=not self.actions.use_gtk,
            ),
        )

    def _workflows(self, snapshot: Snapshot) -> tuple[Any, ...]:
        """Still missing per workflow, read again only when the folder counts or the
        requirement and review files change (snapshots come with every percent sent)."""
        profile = self.config.agent.profile
        key = (snapshot.folders, _mtime(requirements_file(profile)), _mtime(review_file(profile)))
        if self._workflows_memo is None or self._workflows_memo[0] != key:
            cache = load_cache(requirements_file(profile))
            progress = workflow_progress(
                self.config, cache, snapshot.folders, stored_reviews(self.config)
            )
            self._workflows_memo = (key, progress)
        return self._workflows_memo[1]

    def _requirement_names(self) -> dict[str, str]:
        path = requirements_file(self.config.agent.profile)
        if self._names_memo is None or self._names_memo[0] != _mtime(path):
            cache = load_cache(path)
            names = {
                rd.required_document_id: rd.name
                for w in self.config.workflows
                if (cached := cache.get(w.workflow_id)) is not None
                for rd in cached.required_documents
            }
            self._names_memo = (_mtime(path), names)
        return self._names_memo[1]

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
        if self.health.report is not None:
            lines += ["", f"Tray: {self.health.report.line()}"]
        return lines

    def _placeholder(self) -> Snapshot:
        return Snapshot(state=AgentState.IDLE, pid=0, updated_at="", message="Starting…")


def _mtime(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


def _icon_id(profile: str) -> str:
    """The icon's id (the StatusNotifier host keeps its settings by it): one per profile."""
    return "kompliant-agent" if profile == "default" else f"kompliant-agent-{profile}"


def _clock_text(seconds_from_now: float) -> str:
    return datetime.fromtimestamp(time.time() + seconds_from_now).strftime("%H:%M")
