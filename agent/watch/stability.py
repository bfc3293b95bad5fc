"""When a file counts as finished (being written no more).

:class:`StabilityTracker` holds the timing policy and nothing else: the watcher forwards
observations (:class:`~agent.watch.events.EventKind`), the engine asks :meth:`~StabilityTracker.due`
for files that are finished now and sleeps until :meth:`~StabilityTracker.next_deadline`.
The clock and the ``stat`` function are injected, so every rule is tested without sleeping.

The rules, per file:

1. **Close path** (inotify only). After ``CLOSED_WRITE`` — or ``MOVED_IN``: a rename brings a
   file that is already whole — the file goes once ``close_confirm_seconds`` have passed with
   no further change event *and* a re-stat equals the stat taken at the close (size and
   ``mtime_ns``). A re-stat that differs sends the file to the quiet path. A file whose
   format has an end marker, with its end there (:attr:`~agent.watch.readiness.Readiness.WHOLE`),
   goes sooner: after ``whole_confirm_seconds``, with the same re-stat — its end says the
   writer finished it, which a format without one cannot say.
2. **Quiet path** (every other case: created, modified, found by a scan, polled folders). Each
   event takes a stat and restarts a ``quiet_seconds`` wait; when the wait runs out the file goes
   if a new stat equals the one taken at its last event, i.e. two equal stats ``quiet_seconds``
   apart with no event between. A file that changed without an event (a lost event, a polled
   folder) simply waits another ``quiet_seconds``. Where closes are reported (inotify), a
   file seen being ``CREATED`` and not closed after writing yet is still open in its writer
   — a scanner pausing between pages — so the quiet path waits for its close, up to
   ``max_wait_seconds`` from when it was first seen. Claiming a file that is still open
   would move it away under its writer and upload a torn copy. (Only a creation starts
   this wait: a ``MODIFIED`` alone may come without a close to follow.)
   An **attribute change** (``ATTRIB``: mode, times, extended attributes — set by
   browsers, Samba and ``rsync --inplace`` after their last close or rename) that leaves
   the size alone keeps a file on the path it is on, with the new stat as reference.
3. **A look inside** (:mod:`agent.watch.readiness`). A file that passes 1 or 2 is only
   claimed when it is finished for real: not open for writing in another program (a read
   lease, where the system tells) and, for a format with an end marker (PDF, JPEG, PNG,
   ZIP-based), with its end. Otherwise it waits and is looked at again each
   ``quiet_seconds`` (and at every change). An **empty** file (0 bytes) is a placeholder
   — browsers, Samba and scanners create the name first — and never takes the close
   path. An incomplete or empty file that stays unchanged for ``incomplete_seconds`` is
   given up (:meth:`~StabilityTracker.given_up`): the engine fails it as cut short or
   empty. A file open for writing does not run down that time. What each waiting file
   waits for is in :meth:`~StabilityTracker.waiting`.
4. **Maximum wait.** Once ``max_wait_seconds`` have passed since the file was first seen, events
   stop postponing it: from then on its stat is compared every ``quiet_seconds`` and the file
   goes at the first comparison that finds size and ``mtime_ns`` unchanged, however many events
   arrive meanwhile (an indexer or antivirus opening it, a sync client touching attributes). A
   file whose size or mtime really keeps changing never goes — uploading it would send a torn
   copy, which the upload's own re-check would refuse anyway — and a warning says so once.
5. A file that vanishes is dropped; a ``DELETED`` directory drops every file below it.
6. A file is returned by :meth:`~StabilityTracker.due` once; observing it again (including a
   ``SCANNED`` from a later rescan) starts over. A ``CREATED`` or ``SCANNED`` that finds a
   tracked file exactly as last seen changes nothing: rescans and the synthetic events for a
   folder moved in do not restart waits.

The tracker is not thread-safe: one thread (the engine's loop) calls it.
"""

from __future__ import annotations

import enum
import logging
import os
import stat as stat_module
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from agent.watch.events import EventKind
from agent.watch.readiness import Readiness, inspect

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StabilitySettings:
    """Finished-file detection for one folder.

    With inotify, a close-after-write lets a file go after ``close_confirm_seconds`` of
    quiet (``whole_confirm_seconds`` when its format's end marker is there); otherwise a
    file goes after ``quiet_seconds`` of quiet plus an equal re-stat.
    ``max_wait_seconds`` bounds the wait for a file that is touched all the time;
    ``incomplete_seconds`` how long an unchanged incomplete or empty file waits before it
    fails. ``polling``: ``None`` polls network and FUSE folders and uses events elsewhere;
    ``True`` / ``False`` force either way.
    """

    quiet_seconds: float = 2.0
    close_confirm_seconds: float = 0.25
    whole_confirm_seconds: float = 0.1
    max_wait_seconds: float = 300.0
    polling: bool | None = None
    poll_interval: float = 1.0
    incomplete_seconds: float = 600.0


@dataclass(frozen=True)
class FileStat:
    """What tells one version of a file from the next."""

    size: int
    mtime_ns: int
    link: bool = False  # a symbolic link itself: nothing ever writes into it


def stat_file(path: Path) -> FileStat | None:
    """The stat of a regular file or of a symbolic link itself (never of its target), or
    ``None`` when it is gone or something else. A link is reported so that it gets an
    outcome: the upload refuses it with a note (agent/upload/identity.py)."""
    try:
        result = os.stat(path, follow_symlinks=False)
    except OSError:
        return None
    if not (stat_module.S_ISREG(result.st_mode) or stat_module.S_ISLNK(result.st_mode)):
        return None
    link = stat_module.S_ISLNK(result.st_mode)
    return FileStat(size=result.st_size, mtime_ns=result.st_mtime_ns, link=link)


class Phase(enum.Enum):
    """Where a tracked file is in the rules above."""

    CONFIRMING = "confirming"  # closed after writing (or moved in): short confirmation
    SETTLING = "settling"  # waiting for quiet_seconds without change
    OVERDUE = "overdue"  # past max_wait_seconds: events no longer postpone it


@dataclass(frozen=True)
class _Tracked:
    settings: StabilitySettings
    phase: Phase
    first_seen: float
    check_at: float
    reference: FileStat
    warned: bool = False
    writing: bool = False  # written to and not closed, where closes are reported
    confirmed_at: float = 0.0  # CONFIRMING: when a file with no end marker may go
    waiting_since: float | None = None  # incomplete or empty, unchanged since then


class StabilityTracker:
    """Decides when files are finished; see the module docstring for the rules."""

    def __init__(
        self,
        settings_for: Callable[[Path], StabilitySettings],
        *,
        clock: Callable[[], float],
        stat: Callable[[Path], FileStat | None] = stat_file,
        close_reported: Callable[[Path], bool] = lambda path: False,
        look_inside: Callable[[Path, int], Readiness] = inspect,
    ) -> None:
        self._settings_for = settings_for
        self._clock = clock
        self._stat = stat
        self._close_reported = close_reported
        self._look_inside = look_inside
        self._files: dict[Path, _Tracked] = {}
        self._waiting: dict[Path, Readiness] = {}
        self._waiting_changes = 0  # counts changes of what waits, for a status built on change
        self._given_up: list[tuple[Path, Readiness]] = []

    def observe(self, path: Path, kind: EventKind) -> None:
        """Record one observation of ``path``."""
        if kind is EventKind.DELETED:
            self.forget(path)
            return
        current = self._stat(path)
        if current is None:
            self._drop(path)
            return
        now = self._clock()
        settings = self._settings_for(path)
        tracked = self._files.get(path)
        writing = self._writing(path, kind, tracked, current)
        if tracked is not None:
            self._files[path] = self._reobserve(
                path, tracked, kind, current, now, settings, writing
            )
            return
        self._files[path] = self._arm(kind, current, now, now, settings, writing)

    def due(self) -> list[Path]:
        """Files finished now, oldest first; each is returned once until observed again."""
        now = self._clock()
        finished: list[tuple[float, Path]] = []
        for path, tracked in list(self._files.items()):
            if now < tracked.check_at:
                continue
            current = self._stat(path)
            if current is None:
                self._drop(path)
                continue
            if current != tracked.reference:
                # Changed although no event said so (a lost event, a polled folder), or
                # changing past the maximum wait: look again after another quiet period.
                self._files[path] = self._wait_again(path, tracked, current, now)
                continue
            found = self._look_inside(path, current.size)
            if found is Readiness.READY and now < tracked.confirmed_at:
                # Confirmed sooner for an end that is there; this format has none.
                self._files[path] = replace(tracked, check_at=tracked.confirmed_at)
                continue
            if found is Readiness.READY or found is Readiness.WHOLE:
                finished.append((tracked.first_seen, path))
                self._drop(path)
                continue
            self._hold(path, tracked, found, now)
        finished.sort()
        return [path for _, path in finished]

    def given_up(self) -> list[tuple[Path, Readiness]]:
        """Files that stayed incomplete or empty, unchanged, for ``incomplete_seconds``,
        with what they were; each is returned once (and no longer tracked)."""
        expired, self._given_up = self._given_up, []
        return expired

    def waiting(self) -> dict[Path, Readiness]:
        """Files that stopped changing but are not finished, and what they wait for."""
        return dict(self._waiting)

    @property
    def waiting_changes(self) -> int:
        """Grows whenever :meth:`waiting` would answer differently."""
        return self._waiting_changes

    def _set_waiting(self, path: Path, found: Readiness) -> None:
        if self._waiting.get(path) is not found:
            self._waiting[path] = found
            self._waiting_changes += 1

    def next_deadline(self) -> float | None:
        """The clock value at which :meth:`due` may have something new; ``None`` if idle."""
        if not self._files:
            return None
        return min(tracked.check_at for tracked in self._files.values())

    def forget(self, path: Path) -> None:
        """Stop tracking ``path`` and, if it is a folder, every file below it."""
        if self._files.pop(path, None) is not None:
            if self._waiting.pop(path, None) is not None:
                self._waiting_changes += 1
            return  # a tracked file has nothing below it (keeps bursts of claims O(n))
        # Most deletions are of files no longer tracked (each claim renames one away), so
        # the look below ``path`` is a string prefix test, not a walk up every tracked path
        # (normcase: compared as the system compares names, as PurePath does).
        prefix = os.path.normcase(os.path.join(path, ""))
        below = [t for t in self._files if os.path.normcase(t).startswith(prefix)]
        for tracked in below:
            self._drop(tracked)

    def forget_file(self, path: Path) -> None:
        """Stop tracking ``path``, known to be a file (nothing below it to look for)."""
        if self._files.pop(path, None) is not None and self._waiting.pop(path, None) is not None:
            self._waiting_changes += 1

    def tracks(self, path: Path) -> bool:
        """Whether ``path`` is being followed until it is finished."""
        return path in self._files

    def pending(self) -> int:
        """How many files are being watched until they are finished."""
        return len(self._files)

    # -- the rules ------------------------------------------------------------------------

    def _drop(self, path: Path) -> None:
        self._files.pop(path, None)
        if self._waiting.pop(path, None) is not None:
            self._waiting_changes += 1

    def _hold(self, path: Path, tracked: _Tracked, found: Readiness, now: float) -> None:
        """Keep a file that stopped changing but is not finished; give it up once it has
        been incomplete or empty, unchanged, for ``incomplete_seconds``."""
        settings = tracked.settings
        if self._waiting.get(path) is not found:
            logger.info("%s is not finished yet (%s); waiting.", path, found.value)
        self._set_waiting(path, found)
        if found is Readiness.WRITING:
            since = None  # its writer is still there: no time runs out
            check_at = now + settings.quiet_seconds
        else:
            since = tracked.waiting_since if tracked.waiting_since is not None else now
            deadline = since + settings.incomplete_seconds
            if now >= deadline:
                self._given_up.append((path, found))
                self._drop(path)
                return
            check_at = min(now + settings.quiet_seconds, deadline)
        phase = Phase.OVERDUE if tracked.phase is Phase.OVERDUE else Phase.SETTLING
        self._files[path] = replace(
            tracked,
            phase=phase,
            check_at=check_at,
            waiting_since=since,
            writing=False,
            confirmed_at=0.0,
        )

    def _writing(
        self, path: Path, kind: EventKind, tracked: _Tracked | None, current: FileStat
    ) -> bool:
        """Whether ``path`` is still open in its writer after this observation."""
        if kind in (EventKind.CLOSED_WRITE, EventKind.MOVED_IN) or current.link:
            return False  # a link is made whole by one call and never closed after writing
        if kind is EventKind.CREATED and self._close_reported(path):
            return True
        return tracked is not None and tracked.writing

    @staticmethod
    def _arm(
        kind: EventKind,
        current: FileStat,
        now: float,
        first_seen: float,
        settings: StabilitySettings,
        writing: bool = False,
    ) -> _Tracked:
        if kind in (EventKind.CLOSED_WRITE, EventKind.MOVED_IN) and current.size > 0:
            return _confirming(settings, first_seen, now, current)
        check_at = now + settings.quiet_seconds
        if writing:  # its close will come; the maximum wait bounds a lost one
            check_at = max(check_at, first_seen + settings.max_wait_seconds)
        return _Tracked(
            settings=settings,
            phase=Phase.SETTLING,
            first_seen=first_seen,
            check_at=check_at,
            reference=current,
            writing=writing,
        )

    def _reobserve(
        self,
        path: Path,
        tracked: _Tracked,
        kind: EventKind,
        current: FileStat,
        now: float,
        settings: StabilitySettings,
        writing: bool,
    ) -> _Tracked:
        if tracked.phase is Phase.OVERDUE:
            return replace(tracked, settings=settings)
        if kind in (EventKind.CREATED, EventKind.SCANNED) and current == tracked.reference:
            return replace(tracked, settings=settings, writing=writing)
        if now >= tracked.first_seen + settings.max_wait_seconds:
            return self._overdue(path, replace(tracked, settings=settings), current, now)
        if kind is EventKind.ATTRIB and current.size == tracked.reference.size:
            # Mode, times or extended attributes, not content: stay on the path it is on.
            if tracked.phase is Phase.CONFIRMING:
                again = _confirming(settings, tracked.first_seen, now, current)
                return replace(
                    tracked,
                    settings=settings,
                    reference=current,
                    check_at=max(tracked.check_at, again.check_at),
                    confirmed_at=max(tracked.confirmed_at, again.confirmed_at),
                )
            return replace(
                tracked,
                settings=settings,
                reference=current,
                check_at=max(tracked.check_at, now + settings.quiet_seconds),
            )
        return self._arm(kind, current, now, tracked.first_seen, settings, writing)

    def _wait_again(self, path: Path, tracked: _Tracked, current: FileStat, now: float) -> _Tracked:
        if now >= tracked.first_seen + tracked.settings.max_wait_seconds:
            return self._overdue(path, tracked, current, now)
        return replace(
            tracked,
            phase=Phase.SETTLING,
            check_at=now + tracked.settings.quiet_seconds,
            reference=current,
            waiting_since=None,
            confirmed_at=0.0,
        )

    def _overdue(self, path: Path, tracked: _Tracked, current: FileStat, now: float) -> _Tracked:
        self._set_waiting(path, Readiness.CHANGING)
        if not tracked.warned:
            logger.warning(
                "%s is still changing after %.0f s; it will be uploaded as soon as it stays "
                "unchanged for %.1f s. If it is a file that is written all the time (a log, "
                "a database), move it out of the watched folder.",
                path,
                now - tracked.first_seen,
                tracked.settings.quiet_seconds,
            )
        return replace(
            tracked,
            phase=Phase.OVERDUE,
            check_at=now + tracked.settings.quiet_seconds,
            reference=current,
            warned=True,
            waiting_since=None,
            confirmed_at=0.0,
        )


def _confirming(
    settings: StabilitySettings, first_seen: float, now: float, current: FileStat
) -> _Tracked:
    """A file just closed after writing (or moved in whole): looked at after the shorter of
    the two confirmations; one whose format has no end marker waits the full one."""
    full = now + settings.close_confirm_seconds
    return _Tracked(
        settings=settings,
        phase=Phase.CONFIRMING,
        first_seen=first_seen,
        check_at=min(now + settings.whole_confirm_seconds, full),
        reference=current,
        confirmed_at=full,
    )
