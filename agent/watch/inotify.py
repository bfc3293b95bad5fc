"""Linux inotify for a watched root, without watching the agent's own folders.

watchdog's inotify observer watches every folder below a root, ``done/``, ``failed/`` and
``.processing/`` included, so the agent was told of its own work: the claim's rename,
the owner record, the receipt and the move to ``done/`` made about fifteen events per
file, each read, paired and turned into an event object on four threads (reader,
dispatcher, emitter, observer) — only for the handler to ignore them. Nothing needs those
events: the claims' watch and the failed files are looked at on the disk by their own
thread (:mod:`agent.engine.claims`), another agent's claim shows as a file leaving its
folder, and a file moved back out of ``failed/`` arrives as a move into a watched folder.

:class:`LeanInotifyObserver` is a watchdog observer (so :class:`~agent.watch.observer.FolderWatcher`
starts, checks and stops it like any other) whose one emitter thread reads the inotify
descriptor itself and keeps one non-recursive watch per folder, in step with the tree:

- a folder the agent owns (:data:`agent.owned_names.AGENT_OWNED` ``.folders``) gets no
  watch, at any depth; everything below one is ignored anyway
  (:func:`agent.watch.ignore.is_ignored_path`);
- a folder created or moved in is watched, then looked through: each file already in a
  created folder is reported as found (a copy of a tree may have written and closed it
  before the watch was there, so no close is waited for), a folder moved in is reported
  as moved in, and the handler walks it (:class:`agent.watch.handler.ForwardingHandler`);
- a folder moved out or away loses its watches (it is reported as moved from, the
  handler's deletion; moved within the root it is watched again at its new place);
- moves are not paired: a move is its source leaving and its destination arriving for
  the handler either way, so a rename out of a watched folder (a claim) is reported at
  once instead of being held back half a second in case its other half follows;
- the same event repeated back to back in one read (a writer's every ``write``) is
  reported once;
- events go straight from the emitter's thread to the handlers (which only queue them
  for the engine's loop), not through watchdog's event queue and its dispatching thread:
  one thread woken per event instead of two;
- when the kernel's event queue overflows, or the root itself is deleted or moved, the
  emitter ends: the watcher's health check sees a dead emitter, starts a new observer and
  rescans the root (nothing is lost that the rescan would not find).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import logging
import os
import select
import struct
import sys
import threading
from collections.abc import Callable

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileAttribEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers.api import (
    DEFAULT_EMITTER_TIMEOUT,
    DEFAULT_OBSERVER_TIMEOUT,
    BaseObserver,
    EventEmitter,
    EventQueue,
    ObservedWatch,
)

from agent.owned_names import AGENT_OWNED

logger = logging.getLogger(__name__)

# inotify(7)
IN_MODIFY = 0x00000002
IN_ATTRIB = 0x00000004
IN_CLOSE_WRITE = 0x00000008
IN_MOVED_FROM = 0x00000040
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_DELETE = 0x00000200
IN_DELETE_SELF = 0x00000400
IN_MOVE_SELF = 0x00000800
IN_Q_OVERFLOW = 0x00004000
IN_IGNORED = 0x00008000
IN_ONLYDIR = 0x01000000
IN_DONT_FOLLOW = 0x02000000
IN_ISDIR = 0x40000000
IN_CLOEXEC = 0o2000000

#: What each folder is watched for: the changes the handler gives a meaning to. Opens,
#: reads and closes without writing (the agent's own hashing and uploading) are not asked.
MASK = (
    IN_MODIFY
    | IN_ATTRIB
    | IN_CLOSE_WRITE
    | IN_MOVED_FROM
    | IN_MOVED_TO
    | IN_CREATE
    | IN_DELETE
    | IN_DELETE_SELF
    | IN_MOVE_SELF
    | IN_ONLYDIR
    | IN_DONT_FOLLOW
)

_HEADER = struct.Struct("iIII")  # struct inotify_event: wd, mask, cookie, len (then the name)
_READ_SIZE = 64 * 1024
_SEP = os.sep.encode()
_REPEATABLE = IN_MODIFY | IN_ATTRIB  # one of these right after the same one says nothing new
_NOT_WATCHED = frozenset(os.fsencode(name) for name in AGENT_OWNED.folders)


class _Inotify:
    """The three libc calls, with errno (Linux only)."""

    def __init__(self) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        self._init1 = libc.inotify_init1
        self._init1.argtypes = [ctypes.c_int]
        self._add = libc.inotify_add_watch
        self._add.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
        self._rm = libc.inotify_rm_watch
        self._rm.argtypes = [ctypes.c_int, ctypes.c_int]

    def init(self) -> int:
        fd = int(self._init1(IN_CLOEXEC))
        if fd < 0:
            _raise_errno("inotify_init1")
        return fd

    def add_watch(self, fd: int, path: bytes) -> int:
        wd = int(self._add(fd, path, MASK))
        if wd < 0:
            _raise_errno(os.fsdecode(path))
        return wd

    def rm_watch(self, fd: int, wd: int) -> None:
        self._rm(fd, wd)  # a watch the kernel already dropped: nothing to do


def _raise_errno(what: str) -> None:
    code = ctypes.get_errno()
    raise OSError(code, os.strerror(code), what)


class LeanInotifyEmitter(EventEmitter):
    """Reads one inotify descriptor for one root; see the module docstring."""

    def __init__(
        self,
        event_queue: EventQueue,
        watch: ObservedWatch,
        *,
        timeout: float = DEFAULT_EMITTER_TIMEOUT,
        event_filter: list[type[FileSystemEvent]] | None = None,
    ) -> None:
        super().__init__(event_queue, watch, timeout=timeout, event_filter=event_filter)
        self._calls = _Inotify()
        self._fd = -1
        self._wake_r, self._wake_w = -1, -1
        self._fds_lock = threading.Lock()  # stop() from another thread vs. closing
        self._root = os.fsencode(watch.path)
        self._paths: dict[int, bytes] = {}  # watch descriptor → folder
        self._wds: dict[bytes, int] = {}  # folder → watch descriptor
        self._wait: Callable[[int], list[tuple[int, int]]] = lambda timeout_ms: []
        self._put: Callable[[FileSystemEvent], None] = self.queue_event

    def dispatch_to(self, handlers: Callable[[], list[FileSystemEventHandler]]) -> None:
        """Hand each event to ``handlers()`` on this thread, as watchdog's dispatching
        thread would (the event filter applied first), instead of queueing it for that
        thread."""
        wanted = self._event_filter

        def dispatch(event: FileSystemEvent) -> None:
            if wanted is not None and not any(isinstance(event, kind) for kind in wanted):
                return
            for handler in handlers():
                handler.dispatch(event)

        self._put = dispatch

    def watched(self) -> list[str]:
        """The folders watched now (for diagnostics and tests)."""
        return sorted(os.fsdecode(folder) for folder in list(self._wds))

    # -- the thread ----------------------------------------------------------------------

    def on_thread_start(self) -> None:
        """Watch the root and every folder below it (raises :class:`OSError` when the
        root cannot be watched, or the system's limit on watches is reached)."""
        if sys.platform == "win32":  # never: the observer is made on Linux only
            raise OSError(errno.ENOSYS, "inotify is Linux only")
        self._fd = self._calls.init()
        try:
            self._wake_r, self._wake_w = os.pipe()
            self._watch_tree(self._root, strict=True)
        except BaseException:
            self._close()
            raise
        poller = select.poll()
        poller.register(self._fd, select.POLLIN)
        poller.register(self._wake_r, select.POLLIN)
        self._wait = poller.poll

    def on_thread_stop(self) -> None:
        with self._fds_lock, contextlib.suppress(OSError):
            if self._wake_w >= 0:
                os.write(self._wake_w, b"!")

    def run(self) -> None:
        try:
            super().run()
        except Exception:
            logger.exception("Stopped reading file events under %s", self.watch.path)
        finally:
            self._close()

    def queue_events(self, timeout: float) -> None:
        ready = self._wait(int(timeout * 1000))
        if not ready or any(fd == self._wake_r for fd, _ in ready):
            return
        try:
            data = os.read(self._fd, _READ_SIZE)
        except InterruptedError:
            return
        self._handle(data)

    def _close(self) -> None:
        with self._fds_lock:
            for fd in (self._fd, self._wake_r, self._wake_w):
                if fd >= 0:
                    with contextlib.suppress(OSError):
                        os.close(fd)
            self._fd = self._wake_r = self._wake_w = -1

    # -- events -------------------------------------------------------------------------

    def _handle(self, data: bytes) -> None:
        offset, end = 0, len(data)
        previous: tuple[int, int, bytes] | None = None
        unpack = _HEADER.unpack_from
        while offset < end:
            wd, mask, _cookie, length = unpack(data, offset)
            start = offset + 16
            offset = start + length
            name = data[start:offset].rstrip(b"\0")
            if mask & IN_Q_OVERFLOW:
                logger.warning(
                    "Too many file events at once under %s; watching it again and looking "
                    "for files.",
                    self.watch.path,
                )
                self.stop()
                return
            if mask & IN_IGNORED:
                self._forget_wd(wd)
                continue
            if mask & _REPEATABLE:
                key = (wd, mask, name)
                if key == previous:
                    continue  # a writer's every write: one is enough
                previous = key
            else:
                previous = None
            folder = self._paths.get(wd)
            if folder is None:
                continue  # a watch given up already (its folder moved or went)
            if not name:
                if mask & (IN_DELETE_SELF | IN_MOVE_SELF) and folder == self._root:
                    self.stop()  # the watcher's check says the root is gone, or rearms
                    return
                continue
            path = folder + _SEP + name
            if mask & IN_ISDIR:
                self._folder_event(path, name, mask)
            else:
                self._file_event(path, mask)

    def _file_event(self, path: bytes, mask: int) -> None:
        text = os.fsdecode(path)
        if mask & IN_CLOSE_WRITE:
            self._put(FileClosedEvent(text))
        elif mask & IN_MODIFY:
            self._put(FileModifiedEvent(text))
        elif mask & IN_CREATE:
            self._put(FileCreatedEvent(text))
        elif mask & IN_MOVED_FROM:
            self._put(FileMovedEvent(text, ""))
        elif mask & IN_MOVED_TO:
            self._put(FileMovedEvent("", text))
        elif mask & IN_DELETE:
            self._put(FileDeletedEvent(text))
        elif mask & IN_ATTRIB:
            self._put(FileAttribEvent(text))

    def _folder_event(self, path: bytes, name: bytes, mask: int) -> None:
        text = os.fsdecode(path)
        if mask & IN_CREATE:
            if name not in _NOT_WATCHED:
                self._watch_tree(path)
                self._put(DirCreatedEvent(text))
                self._report_created(path)
        elif mask & IN_MOVED_TO:
            if name not in _NOT_WATCHED:
                self._watch_tree(path)  # before the handler walks it: nothing falls between
            self._put(DirMovedEvent("", text))
        elif mask & IN_MOVED_FROM:
            self._unwatch_tree(path)
            self._put(DirMovedEvent(text, ""))
        elif mask & IN_DELETE:
            self._put(DirDeletedEvent(text))

    def _report_created(self, top: bytes) -> None:
        """The files already in a folder just created (``mkdir -p``, a copy of a tree),
        maybe written and closed before its watch was there: reported as found (a
        synthetic creation, which the handler makes ``SCANNED``), not as seen being made."""
        for folder, folders, files in os.walk(top):
            folders[:] = [name for name in folders if name not in _NOT_WATCHED]
            for name in files:
                path = os.fsdecode(os.path.join(folder, name))
                self._put(FileCreatedEvent(path, is_synthetic=True))

    # -- watches ------------------------------------------------------------------------

    def _watch_tree(self, top: bytes, *, strict: bool = False) -> None:
        """Watch ``top`` and every folder below it but the agent's own. ``strict``: any
        failure raises (at start: the root unreadable, the system's limit reached);
        otherwise a folder that went away meanwhile or cannot be read is left out, and
        the limit is logged."""
        stack = [top]
        while stack:
            folder = stack.pop()
            try:
                wd = self._calls.add_watch(self._fd, folder)
            except OSError as exc:
                if strict and (folder == top or exc.errno in (errno.ENOSPC, errno.EMFILE)):
                    raise
                if exc.errno in (errno.ENOSPC, errno.EMFILE):
                    logger.warning("Cannot watch %s: %s", os.fsdecode(folder), exc.strerror)
                continue
            old = self._wds.get(folder)
            if old is not None and old != wd:
                self._paths.pop(old, None)
            self._paths[wd] = folder
            self._wds[folder] = wd
            try:
                with os.scandir(folder) as entries:
                    for entry in entries:
                        if entry.name in _NOT_WATCHED:
                            continue
                        with contextlib.suppress(OSError):
                            if entry.is_dir(follow_symlinks=False):
                                stack.append(entry.path)
            except OSError:
                if strict and folder == top:
                    raise

    def _unwatch_tree(self, top: bytes) -> None:
        """Stop watching ``top`` and every folder below it (moved away)."""
        prefix = top + _SEP
        for folder in [f for f in self._wds if f == top or f.startswith(prefix)]:
            wd = self._wds.pop(folder)
            self._paths.pop(wd, None)
            self._calls.rm_watch(self._fd, wd)

    def _forget_wd(self, wd: int) -> None:
        folder = self._paths.pop(wd, None)
        if folder is not None and self._wds.get(folder) == wd:
            del self._wds[folder]


class LeanInotifyObserver(BaseObserver):
    """A watchdog observer whose emitters are :class:`LeanInotifyEmitter`."""

    def __init__(self, *, timeout: float = DEFAULT_OBSERVER_TIMEOUT) -> None:
        if not sys.platform.startswith("linux"):
            raise OSError(errno.ENOSYS, "inotify is Linux only")
        super().__init__(LeanInotifyEmitter, timeout=timeout)

    def _add_emitter(self, emitter: EventEmitter) -> None:
        super()._add_emitter(emitter)
        if isinstance(emitter, LeanInotifyEmitter):
            watch = emitter.watch
            # Read without the observer's lock: unschedule() holds it while it waits for
            # this emitter's thread to end. A set is copied whole under the GIL.
            emitter.dispatch_to(lambda: list(self._handlers.get(watch, ())))
