"""The tray icon itself: the only module that touches pystray.

Threads: the tray owns the main thread (macOS demands it, and GTK wants one thread);
the engine runs in a worker thread and publishes snapshots through :meth:`TrayApp.publish`,
which only stores the newest and asks the tray thread to apply it — with ``GLib.idle_add``
on the GTK backends, otherwise through pystray's own cross-thread setters. Menu actions
run on the tray thread and talk to the engine through the control file (pause, resume,
refresh, retry), the same commands the CLI sends.

``import pystray`` happens in :func:`load_pystray` only: pystray picks its backend at
import time and raises without a display, so headless runs never import it.
"""

from __future__ import annotations

import importlib
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from agent.config import Config
from agent.decide import FolderTree, load_cache, requirements_file
from agent.engine.control import request_refresh, request_retry, set_paused
from agent.engine.state import AgentState
from agent.engine.status import Snapshot
from agent.errors import AgentError
from agent.locations import locations
from agent.owned_names import AGENT_OWNED
from agent.review.keeper import stored_reviews
from agent.tray import desktop
from agent.tray.icons import icon_for, icon_key, tooltip
from agent.tray.menu import (
    Action,
    MenuEntry,
    WorkflowProgress,
    build_menu,
    status_line,
    with_reviews,
    workflow_progress,
)
from agent.tray.notify import Notice, NotificationPolicy

log = logging.getLogger(__name__)

T = TypeVar("T")
TICK = 0.5  # how often the tray thread looks at notifications and the engine's end
LOG_FILE = "agent.log"
STATUS_TEXT = "status.txt"
NO_MENU_WHY = (
    "the tray menu is unavailable: only pystray's xorg backend could be loaded, which has "
    "no menu and receives no clicks (pystray issue #151). Install GTK 3 and PyGObject "
    "(Debian/Ubuntu: sudo apt-get install python3-gi gir1.2-gtk-3.0) for the full menu; "
    "meanwhile use `kompliant-agent status`, `pause`, `resume` and `retry`"
)


@dataclass(frozen=True)
class Tray:
    """pystray, loaded, and the name of the backend it chose."""

    pystray: ModuleType
    backend: str

    @property
    def has_menu(self) -> bool:
        return bool(self.pystray.Icon.HAS_MENU)

    @property
    def uses_glib(self) -> bool:
        return self.backend in ("gtk", "appindicator")


def display_available(environ: dict[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


def load_pystray() -> Tray | None:
    """pystray with the best backend it finds; None (logged) when there is no tray to use."""
    if not display_available():
        log.info("no display (DISPLAY / WAYLAND_DISPLAY unset): running without a tray icon")
        return None
    os.environ.setdefault("NO_AT_BRIDGE", "1")  # no accessibility bus daemon for a tray icon
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
    tray = Tray(pystray, backend)
    if not tray.has_menu:
        log.warning(NO_MENU_WHY)
    else:
        log.info("tray icon with the %s backend", backend)
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
    ) -> None:
        self.config = config
        self.tray = tray
        self.stop = stop
        self.state_dir = locations().profile_state(config.agent.profile)
        self.log_file = locations().log_dir / LOG_FILE
        self.notifications = NotificationPolicy(clock)
        self.signed_in = True
        self._open_path = open_path
        self._lock = threading.Lock()
        self._latest: Snapshot | None = None
        self._scheduled = False
        self._shown: Snapshot | None = None
        self._icon_key: object = None
        self._engine_done = threading.Event()
        self._icon: Any = None
        self._glib: Any = None

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

        pystray = self.tray.pystray
        if self.tray.uses_glib:
            self._glib = importlib.import_module("gi.repository.GLib")
        self._icon = pystray.Icon(
            "kompliant-agent",
            icon=icon_for(self._placeholder()),
            title="Kompliant agent: starting",
            menu=pystray.Menu(),
        )
        worker = threading.Thread(target=engine, name="engine", daemon=True)
        ticker = threading.Thread(target=self._tick_loop, name="tray-tick", daemon=True)
        worker.start()

        def setup(icon: Any) -> None:
            icon.visible = True
            ticker.start()

        try:
            if self.tray.backend == "xorg":
                # xorg's loop (python-xlib) does not always return after stop(), and it has
                # no thread affinity: it gets a daemon thread, which cannot hold up the exit.
                icon = threading.Thread(target=self._icon.run, args=(setup,), daemon=True)
                icon.start()
                while worker.is_alive():  # SIGTERM / Ctrl-C still reach this thread
                    worker.join(TICK)
                icon.join(TICK * 4)
            else:
                self._icon.run(setup)
            self.stop.set()
        except Exception:
            # e.g. pystray's GTK backend needs the notification service on D-Bus at start
            log.exception("the tray icon failed; the agent goes on without it")
            while worker.is_alive():  # SIGTERM / Ctrl-C still stop the engine
                worker.join(TICK)
        finally:
            self.stop.set()
            worker.join()
        if errors:
            raise errors[0]
        return results[0]

    def publish(self, snapshot: Snapshot) -> None:
        """The engine's callback (any thread): keep the newest, let the tray thread show it."""
        with self._lock:
            self._latest = snapshot
            if self._scheduled:
                return
            self._scheduled = True
        self._post(self._apply_latest)

    def _post(self, call: Callable[[], None]) -> None:
        if self._glib is not None:

            def once() -> bool:
                call()
                return False

            self._glib.idle_add(once)
        else:
            call()  # pystray's xorg, win32 and darwin setters marshal to their own thread

    def _tick_loop(self) -> None:
        while not self._engine_done.wait(TICK):
            self._post(self._tick)
        self._post(self._icon.stop)

    # -- on the tray thread --------------------------------------------------------------

    def _tick(self) -> None:
        self._show_notice(self.notifications.due())

    def _apply_latest(self) -> None:
        with self._lock:
            snapshot, self._latest, self._scheduled = self._latest, None, False
        if snapshot is None:
            return
        try:
            self._show(snapshot)
            self._show_notice(self.notifications.observe(snapshot))
        except Exception:  # the icon must never stop the engine that reports to it
            log.exception("the tray icon could not show the agent's state")

    def _show(self, snapshot: Snapshot) -> None:
        self._shown = snapshot
        key = icon_key(snapshot)
        if key != self._icon_key:
            self._icon_key = key
            self._icon.icon = icon_for(snapshot)
        title = tooltip(snapshot)
        if self.tray.backend == "xorg":  # python-xlib writes the window name as Latin-1
            title = title.encode("latin-1", "replace").decode("latin-1")
        self._icon.title = title
        self._refresh_menu()

    def _refresh_menu(self) -> None:
        if self._shown is None:
            return
        self._icon.menu = self.tray.pystray.Menu(*self._items(self.menu_entries()))

    def menu_entries(self) -> tuple[MenuEntry, ...]:
        snapshot = self._shown or self._placeholder()
        left = self.notifications.snooze_left()
        return build_menu(
            snapshot,
            workflows=self._workflows(snapshot),
            signed_in=self.signed_in,
            snoozed_until=None if left is None else _clock_text(left),
        )

    def _workflows(self, snapshot: Snapshot) -> tuple[WorkflowProgress, ...]:
        cache = load_cache(requirements_file(self.config.agent.profile))
        progress = workflow_progress(self.config, cache, snapshot.folders)
        return with_reviews(progress, stored_reviews(self.config))

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
                        self._handler(entry.action, entry.argument),
                        default=entry.default,
                        enabled=entry.action is not None,
                    )
                )
        return items

    def _handler(self, action: Action | None, argument: str = "") -> Callable[[Any, Any], None]:
        def handle(icon: Any, item: Any) -> None:
            if action is None:
                return
            log.info("tray: %s %s", action.value, argument)
            try:
                self.perform(action, argument)
            except (OSError, AgentError) as error:
                log.warning("tray: %s did not work: %s", action.value, error)
                self._notify(Notice(f"Kompliant agent: {action.value} did not work", str(error)))

        return handle

    def _show_notice(self, notice: Notice | None) -> None:
        if notice is not None:
            self._notify(notice)

    def _notify(self, notice: Notice) -> None:
        log.info("notification: %s — %s", notice.title, notice.body.replace("\n", " "))
        if self.tray.pystray.Icon.HAS_NOTIFICATION:
            self._icon.notify(notice.body, notice.title)

    # -- actions -----------------------------------------------------------------------

    def perform(self, action: Action, argument: str = "") -> None:
        """Carry out a menu action (on the tray thread); ``argument`` as in MenuEntry."""
        if action is Action.PAUSE:
            set_paused(self.state_dir, True)
        elif action is Action.RESUME:
            set_paused(self.state_dir, False)
        elif action is Action.RETRY:
            request_retry(self.state_dir)
        elif action is Action.REFRESH:
            request_refresh(self.state_dir)
        elif action is Action.SNOOZE:
            self.notifications.snooze()
        elif action is Action.UNSNOOZE:
            self.notifications.unsnooze()
        elif action is Action.OPEN_ROOT:
            self._open_path(self.config.root)
        elif action is Action.OPEN_FAILED:
            for folder in self.failed_folders()[:5]:
                self._open_path(folder)
        elif action is Action.OPEN_LOG:
            self._open_path(self.log_file)
        elif action is Action.SHOW_STATUS:
            self._open_path(self._write_status_text())
        elif action is Action.SIGN_IN:
            self._sign_in()
        elif action is Action.SIGN_OUT:
            self._sign_out()
        elif action is Action.REQUEST_MISSING:
            threading.Thread(target=self._request_missing, name="tray-request", daemon=True).start()
        elif action is Action.PRINT_COVERS:
            threading.Thread(
                target=self.print_covers, args=(argument,), name="tray-covers", daemon=True
            ).start()
        elif action is Action.QUIT:
            self.stop.set()
        self._refresh_menu()

    def failed_folders(self) -> list[Path]:
        cache = load_cache(requirements_file(self.config.agent.profile))
        tree = FolderTree.scan(self.config.root, self.config, cache)
        failed = AGENT_OWNED.failed_dir
        return [
            folder / failed
            for folder in tree.folders
            if (folder / failed).is_dir() and any((folder / failed).iterdir())
        ]

    def _write_status_text(self) -> Path:
        snapshot = self._shown or self._placeholder()
        lines = [status_line(snapshot), snapshot.message, ""]
        lines += [f"Problem: {p}" for p in snapshot.problems]
        lines += [w.line() for w in self._workflows(snapshot)]
        lines += [""] + [
            f"{f.key}: {f.waiting} waiting, {f.in_progress} in progress, {f.done} done, "
            f"{f.failed} failed, {f.needs_routing} need routing"
            for f in snapshot.folders
        ]
        path = self.state_dir / STATUS_TEXT
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    def _agent_command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "agent", *args, "--profile", self.config.agent.profile]

    def _sign_in(self) -> None:
        command = self._agent_command("login")
        if not desktop.open_in_terminal(command):
            self._notify(
                Notice(
                    "Kompliant agent: sign in from a terminal",
                    f"Run: kompliant-agent login --profile {self.config.agent.profile}, "
                    "then start the agent again.",
                )
            )

    def _sign_out(self) -> None:
        done = subprocess.run(
            self._agent_command("logout"), capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise OSError(done.stderr.strip() or "kompliant-agent logout failed")
        self.signed_in = False
        self._notify(
            Notice(
                "Kompliant agent: signed out",
                "Your stored credentials are removed and the agent stops. Choose “Sign in…” "
                "or run `kompliant-agent login`, then start it again.",
            )
        )
        self.stop.set()

    def _request_missing(self) -> None:
        """`kompliant-agent request` for each workflow with outstanding documents (the
        command holds the logic and its per-item report); a notification says how it went."""
        lines = []
        for review in stored_reviews(self.config):
            if review.ended or not review.outstanding:
                continue
            done = subprocess.run(
                self._agent_command("request", "--workflow", review.workflow_id),
                capture_output=True,
                text=True,
                check=False,
            )
            outcome = {0: "requested", 5: "partly requested"}.get(done.returncode, "not requested")
            lines.append(f"{review.label or review.workflow_id}: {outcome}")
            log.info("tray: request for %s: %s\n%s", review.workflow_id, outcome, done.stdout)
        self._notify(
            Notice(
                "Kompliant agent: documents requested",
                "\n".join(lines) or "Nothing is missing: no request was sent.",
            )
        )

    def print_covers(self, workflow_id: str) -> Path | None:
        """`kompliant-agent cover-sheets` for the workflow (what is missing), into the
        state folder, and the PDF opened for printing; a notification when there is none."""
        out = self.state_dir / "cover-sheets" / f"cover-sheets {workflow_id}.pdf"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.unlink(missing_ok=True)
        done = subprocess.run(
            self._agent_command("cover-sheets", workflow_id, "--out", str(out)),
            capture_output=True,
            text=True,
            check=False,
        )
        log.info("tray: cover-sheets %s: exit %d\n%s", workflow_id, done.returncode, done.stdout)
        if done.returncode == 0 and out.exists():
            self._open_path(out)
            return out
        self._notify(
            Notice(
                "Kompliant agent: no cover sheets",
                (done.stderr.strip() or "Nothing is missing.")[-400:],
            )
        )
        return None

    def _placeholder(self) -> Snapshot:
        return Snapshot(state=AgentState.IDLE, pid=0, updated_at="", message="Starting…")


def _clock_text(seconds_from_now: float) -> str:
    return datetime.fromtimestamp(time.time() + seconds_from_now).strftime("%H:%M")
