"""Watching the root folders: one watchdog observer per root, kept alive, plus rescans.

:class:`FolderWatcher` is the imperative shell around watchdog. It forwards changes as
``on_event(path, kind)`` — from watchdog's threads, and from the caller's thread during a
rescan, so ``on_event`` must be thread-safe (put it on a queue). Timing decisions belong to
:class:`~agent.watch.stability.StabilityTracker`, not here.

What it guarantees:

- **One observer per root**: inotify on Linux (with close-after-write events), the native
  observer elsewhere, or polling for a root on a network or FUSE file system
  (:mod:`agent.watch.mounts`: changes made elsewhere give no event there) or when its
  settings say ``polling = true``; ``polling = false`` forces events. When the inotify
  watch or instance limit is reached, the root falls back to polling and a warning gives
  the ``sysctl`` fix. A folder *inside* a root that is a network or FUSE mount, or whose
  settings say polling, gets an extra polling watch, found at each rescan and whenever
  the mount table changes (a share mounted or unmounted while the agent runs).
  :meth:`FolderWatcher.polled` lists every polled folder with its interval and reason.
- **Rescans**: at start (files already present go through the same path as new ones), every
  ``rescan_interval`` seconds from :meth:`FolderWatcher.check`, and after any recovery, each
  candidate file is reported as ``SCANNED``.
- **Health**: :meth:`FolderWatcher.check`, called every few seconds by the engine, recreates
  an observer whose thread died, or whose emitter died while the observer still looks alive
  (watchdog issues #452 and #1065), and rescans its root since events were missed.
- **Missing roots**: a root that is missing, not a folder, unreadable, or no longer mounted is
  an error state reported through ``on_root_problem`` — never "empty", so no file is
  reported as deleted because a share went away. When it comes back, watching resumes, a
  rescan runs and ``on_root_recovered`` is called.
"""

from __future__ import annotations

import contextlib
import enum
import errno
import logging
import os
import stat
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from agent.watch.events import EventKind
from agent.watch.handler import TRANSLATED_EVENTS, ForwardingHandler
from agent.watch.mounts import Mount, MountTable, system_mounts
from agent.watch.polling import (
    FORCED,
    INOTIFY_LIMIT,
    PolledFolder,
    network_inside,
    polling_reason,
)
from agent.watch.scan import walk_folders
from agent.watch.stability import StabilitySettings

logger = logging.getLogger(__name__)

#: Makes an observer: ``(polling, poll_interval) -> observer`` (not started, nothing scheduled).
ObserverFactory = Callable[[bool, float], BaseObserver]

_INOTIFY_LIMITS = (errno.ENOSPC, errno.EMFILE)


def make_observer(polling: bool, poll_interval: float) -> BaseObserver:
    """The observer for a root: polling, inotify with close events on Linux (without the
    agent's own folders, :mod:`agent.watch.inotify`), else native."""
    if polling:
        return PollingObserver(timeout=poll_interval)
    if sys.platform.startswith("linux"):
        from agent.watch.inotify import LeanInotifyObserver

        return LeanInotifyObserver()
    return Observer()


class RootState(enum.Enum):
    """Whether a root is being watched."""

    STOPPED = "stopped"
    WATCHING = "watching"
    PROBLEM = "problem"  # missing, unmounted, unreadable: an error, never "empty"


@dataclass
class _Root:
    path: Path
    state: RootState = RootState.STOPPED
    observer: BaseObserver | None = None
    polls: bool = False
    poll_reason: str | None = None
    network: bool = False
    closes: bool = False  # the observer reports close-after-write (inotify)
    inotify_exhausted: bool = False
    subfolder_observer: BaseObserver | None = None
    polled_subfolders: frozenset[Path] = frozenset()
    forced_subfolders: frozenset[Path] = frozenset()  # polling = true, found by a rescan
    network_subfolders: dict[Path, str] = field(default_factory=dict)  # mounts inside
    was_mount: bool = False
    device: int | None = None
    problem: str | None = None
    handler: ForwardingHandler | None = field(default=None, repr=False)


class FolderWatcher:
    """Watches the root folders and forwards every change to ``on_event``."""

    def __init__(
        self,
        roots: Sequence[Path],
        *,
        on_event: Callable[[Path, EventKind], None],
        on_root_problem: Callable[[Path, str], None],
        settings_for: Callable[[Path], StabilitySettings],
        ignore: Callable[[Path], bool],
        rescan_interval: float = 300.0,
        on_root_recovered: Callable[[Path], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        observer_factory: ObserverFactory = make_observer,
        mounts: MountTable = system_mounts,
    ) -> None:
        self._roots = [_Root(path=Path(root)) for root in roots]
        self._on_event = on_event
        self._on_root_problem = on_root_problem
        self._on_root_recovered = on_root_recovered
        self._settings_for = settings_for
        self._ignore = ignore
        self._rescan_interval = rescan_interval
        self._clock = clock
        self._factory = observer_factory
        self._mounts = mounts
        self._table: tuple[Mount, ...] = ()
        self._lock = threading.RLock()
        self._running = False
        self._next_rescan = 0.0

    # -- public face ----------------------------------------------------------------------

    def start(self) -> None:
        """Start watching every root, then rescan them all."""
        with self._lock:
            self._running = True
            self._table = tuple(self._mounts())
            for root in self._roots:
                problem = self._presence_problem(root) or self._arm(root)
                if problem is not None:
                    self._enter_problem(root, problem)
            self._rescan_all()

    def stop(self) -> None:
        """Stop every observer and wait for its threads."""
        with self._lock:
            self._running = False
            for root in self._roots:
                self._disarm(root)
                root.state = RootState.STOPPED

    def check(self) -> None:
        """Notice missing roots, roots that came back and dead observers; rescan when due."""
        with self._lock:
            if not self._running:
                return
            self._check_mounts()
            for root in self._roots:
                self._check_root(root)
            if self._clock() >= self._next_rescan:
                self._rescan_all()

    def rescan(self) -> None:
        """Report every candidate file under every watched root as ``SCANNED``."""
        with self._lock:
            if self._running:
                self._rescan_all()

    def problems(self) -> dict[Path, str]:
        """The roots in an error state, with the message that says what to do."""
        with self._lock:
            return {r.path: r.problem for r in self._roots if r.problem is not None}

    def state(self, root: Path) -> RootState:
        """Whether ``root`` is being watched."""
        return self._root(root).state

    def reports_close(self, path: Path) -> bool:
        """Whether a close-after-write of the file ``path`` is reported (inotify, not polled).

        Finished-file detection then waits for the close of a file being written instead
        of judging it from a quiet period, which a slow writer can outlast.
        """
        with self._lock:
            for root in self._roots:
                if root.path == path or root.path in path.parents:
                    return (
                        root.state is RootState.WATCHING
                        and root.closes
                        and not any(f in path.parents for f in root.polled_subfolders)
                    )
        return False

    def polled(self) -> list[PolledFolder]:
        """Every folder checked by polling (a root or a folder inside one), with why."""
        with self._lock:
            found: list[PolledFolder] = []
            for root in self._roots:
                if root.state is not RootState.WATCHING:
                    continue
                if root.polls:
                    interval = self._settings_for(root.path).poll_interval
                    reason = root.poll_reason or "polling"
                    found.append(PolledFolder(root.path, interval, reason, root.network))
                    continue
                for folder in sorted(root.polled_subfolders):
                    interval = self._settings_for(folder).poll_interval
                    kind = root.network_subfolders.get(folder)
                    if kind is not None and folder not in root.forced_subfolders:
                        found.append(PolledFolder(folder, interval, kind, True))
                    else:
                        found.append(PolledFolder(folder, interval, FORCED))
            return found

    def observer_for(self, root: Path) -> BaseObserver | None:
        """The observer currently watching ``root`` (for diagnostics and tests)."""
        return self._root(root).observer

    # -- arming and disarming ---------------------------------------------------------------

    def _root(self, path: Path) -> _Root:
        for root in self._roots:
            if root.path == Path(path):
                return root
        raise KeyError(path)

    def _arm(self, root: _Root) -> str | None:
        """Start an observer for ``root``; the problem message when that is impossible."""
        settings = self._settings_for(root.path)
        reason, network = polling_reason(root.path, settings, self._table)
        if reason is None and root.inotify_exhausted:
            reason = INOTIFY_LIMIT
        polls = reason is not None
        handler = ForwardingHandler(root.path, on_event=self._on_event, ignore=self._ignore)
        observer: BaseObserver | None = None
        try:
            observer = self._factory(polls, settings.poll_interval)
            observer.schedule(
                handler, str(root.path), recursive=True, event_filter=list(TRANSLATED_EVENTS)
            )
            observer.start()
        except OSError as exc:
            if observer is not None:
                _dispose(observer)
            if not polls and exc.errno in _INOTIFY_LIMITS:
                _warn_inotify_limit(root.path, exc, settings.poll_interval)
                root.inotify_exhausted = True
                return self._arm(root)
            return _unreadable(root.path, exc)
        root.observer = observer
        root.handler = handler
        root.polls = polls
        root.poll_reason = reason
        root.network = network
        root.closes = not polls and _reports_close(observer)
        root.state = RootState.WATCHING
        root.problem = None
        with contextlib.suppress(OSError):
            root.device = os.stat(root.path).st_dev
            root.was_mount = root.was_mount or os.path.ismount(root.path)
        why = f"a network folder ({reason})" if network else reason
        every = f"polling every {settings.poll_interval:g} s: {why}" if reason else "events"
        logger.info("Watching %s (%s)", root.path, every)
        return None

    def _check_mounts(self) -> None:
        """A share mounted, unmounted or mounted again: poll what is now a network folder,
        stop polling what no longer is, and look for files that came with the mount."""
        table = tuple(self._mounts())
        if table == self._table:
            return
        self._table = table
        for root in self._roots:
            if root.state is not RootState.WATCHING:
                continue
            reason, _ = polling_reason(root.path, self._settings_for(root.path), self._table)
            if reason is None and root.inotify_exhausted:
                reason = root.poll_reason
            if (reason is not None) != root.polls or (root.polls and reason != root.poll_reason):
                logger.info("The mounts under %s changed; watching it again.", root.path)
                self._disarm(root)
                problem = self._arm(root)
                if problem is not None:
                    self._enter_problem(root, problem)
                    continue
                self._rescan_root(root)
            elif (
                not root.polls
                and network_inside(root.path, self._table, self._settings_for)
                != root.network_subfolders
            ):
                self._rescan_root(root)

    def _disarm(self, root: _Root) -> None:
        for observer in (root.observer, root.subfolder_observer):
            if observer is not None:
                _dispose(observer)
        root.observer = None
        root.subfolder_observer = None
        root.polled_subfolders = frozenset()
        root.network_subfolders = {}

    def _enter_problem(self, root: _Root, problem: str) -> None:
        self._disarm(root)
        already = root.state is RootState.PROBLEM and root.problem == problem
        root.state = RootState.PROBLEM
        root.problem = problem
        if not already:
            logger.error("%s", problem)
            self._on_root_problem(root.path, problem)

    # -- health -----------------------------------------------------------------------------

    def _check_root(self, root: _Root) -> None:
        problem = self._presence_problem(root)
        if problem is not None:
            self._enter_problem(root, problem)
            return
        if root.state is not RootState.WATCHING:
            problem = self._arm(root)
            if problem is not None:
                self._enter_problem(root, problem)
                return
            logger.warning("%s is back; watching it again and looking for files.", root.path)
            if self._on_root_recovered is not None:
                self._on_root_recovered(root.path)
            self._rescan_root(root)
            return
        reason = self._sickness(root)
        if reason is not None:
            logger.warning("%s; restarting it and rescanning %s.", reason, root.path)
            self._disarm(root)
            problem = self._arm(root)
            if problem is not None:
                self._enter_problem(root, problem)
                return
            self._rescan_root(root)

    def _presence_problem(self, root: _Root) -> str | None:
        path = root.path
        try:
            info = os.stat(path)
        except FileNotFoundError:
            return (
                f"The watched folder {path} is missing, so files put there are not uploaded. "
                "Reconnect the drive or network share that holds it, or create the folder "
                "again; watching resumes by itself."
            )
        except OSError as exc:
            return _unreadable(path, exc)
        if not stat.S_ISDIR(info.st_mode):
            return (
                f"The watched path {path} is not a folder. Move that file away or choose "
                "another root folder in the settings."
            )
        if root.was_mount and not os.path.ismount(path):
            return (
                f"The watched folder {path} is no longer mounted (its drive or network share "
                "is disconnected), so files put there are not uploaded. Reconnect it; "
                "watching resumes by itself."
            )
        return None

    def _sickness(self, root: _Root) -> str | None:
        if root.observer is None or not _healthy(root.observer):
            return f"The watcher for {root.path} stopped"
        if root.subfolder_observer is not None and not _healthy(root.subfolder_observer):
            return f"The polling watcher inside {root.path} stopped"
        with contextlib.suppress(OSError):
            if root.device is not None and os.stat(root.path).st_dev != root.device:
                return f"{root.path} is now on another drive or share"
        return None

    # -- rescans ----------------------------------------------------------------------------

    def _rescan_all(self) -> None:
        for root in self._roots:
            if root.state is RootState.WATCHING:
                self._rescan_root(root)
        self._next_rescan = self._clock() + self._rescan_interval

    def _rescan_root(self, root: _Root) -> None:
        polled: list[Path] = []
        count = 0
        try:
            for folder, files in walk_folders(root.path, self._ignore):
                if folder != root.path and not root.polls and self._polls(folder, polled):
                    polled.append(folder)
                for path in files:
                    self._on_event(path, EventKind.SCANNED)
                count += len(files)
        except OSError as exc:
            # The root went away during the walk: an error state, never "no files".
            self._enter_problem(root, self._presence_problem(root) or _unreadable(root.path, exc))
            return
        logger.debug("Rescanned %s: %d candidate files", root.path, count)
        root.forced_subfolders = frozenset(polled)
        network = {} if root.polls else network_inside(root.path, self._table, self._settings_for)
        root.network_subfolders = network
        wanted = set(polled)
        for folder in network:
            if not any(parent in folder.parents or parent == folder for parent in polled):
                wanted.add(folder)
        self._sync_polled_subfolders(root, frozenset(wanted))

    def _polls(self, folder: Path, already: list[Path]) -> bool:
        if any(parent in folder.parents for parent in already):
            return False
        return self._settings_for(folder).polling is True

    def _sync_polled_subfolders(self, root: _Root, wanted: frozenset[Path]) -> None:
        if wanted == root.polled_subfolders and (root.subfolder_observer is not None or not wanted):
            return
        if root.subfolder_observer is not None:
            _dispose(root.subfolder_observer)
            root.subfolder_observer = None
        root.polled_subfolders = wanted
        if not wanted:
            return
        interval = min(self._settings_for(folder).poll_interval for folder in wanted)
        observer = self._factory(True, interval)
        handler = root.handler or ForwardingHandler(
            root.path, on_event=self._on_event, ignore=self._ignore
        )
        try:
            for folder in sorted(wanted):
                observer.schedule(
                    handler, str(folder), recursive=True, event_filter=list(TRANSLATED_EVENTS)
                )
            observer.start()
        except OSError as exc:
            _dispose(observer)
            logger.warning(
                "Cannot poll the folders inside %s that are set to polling (%s); their files "
                "are still found by the rescan every %.0f s.",
                root.path,
                exc.strerror or exc,
                self._rescan_interval,
            )
            return
        root.subfolder_observer = observer
        logger.info("Polling inside %s: %s", root.path, ", ".join(str(f) for f in sorted(wanted)))


def _reports_close(observer: BaseObserver) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    from watchdog.observers.inotify import InotifyObserver

    from agent.watch.inotify import LeanInotifyObserver

    return isinstance(observer, LeanInotifyObserver | InotifyObserver)


def _healthy(observer: BaseObserver) -> bool:
    if not observer.is_alive():
        return False
    if any(not emitter.is_alive() for emitter in list(observer.emitters)):
        return False
    # inotify reads events on a thread of its own; if it dies, no event arrives any more.
    reader = getattr(observer, "_inotify_fd", None)
    return not (isinstance(reader, threading.Thread) and not reader.is_alive())


def _dispose(observer: BaseObserver) -> None:
    try:
        observer.stop()
        if observer.is_alive():
            observer.join(timeout=5.0)
    except Exception:  # a broken observer must not stop us from making a new one
        logger.debug("Error while stopping an observer", exc_info=True)


def _unreadable(path: Path, exc: OSError) -> str:
    reason = exc.strerror or str(exc)
    return (
        f"The watched folder {path} cannot be read ({reason}), so files put there are not "
        "uploaded. Check that the drive or share is connected and that this account may "
        "read the folder; watching resumes by itself."
    )


def _warn_inotify_limit(path: Path, exc: OSError, poll_interval: float) -> None:
    which = "max_user_watches" if exc.errno == errno.ENOSPC else "max_user_instances"
    logger.warning(
        "The system limit on watched folders (fs.inotify.%s) is reached, so %s is checked by "
        "polling every %.1f s instead: new files are noticed later. To fix it, raise the "
        "limit: sudo sysctl fs.inotify.%s=524288, and add that line to "
        "/etc/sysctl.d/90-kompliant.conf to keep it after a restart.",
        which,
        path,
        poll_interval,
        which,
    )
