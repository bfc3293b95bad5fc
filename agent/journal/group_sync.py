"""One disk sync for the commits of several writers (group commit).

The journal commits every transaction without waiting for the disk: in WAL mode a
commit is appended to the write-ahead log and is in the operating system's cache when
COMMIT returns. A commit that must survive power loss is then made durable by syncing
the log file — after the commit, outside the journal's lock, and shared: one sync
writes out every commit appended before it started, so while one worker waits for the
disk the others go on committing, and the next sync covers all of theirs at once.

:meth:`GroupSync.committed` numbers commits in the order they were made (the caller
holds the lock under which it commits); :meth:`GroupSync.wait_durable` returns once a
sync that started after that commit has finished. A failed sync raises to every caller
that needed it, and the next caller tries again: nothing is ever taken as durable that
a sync did not cover.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class GroupSync:
    """Makes numbered commits durable, many per ``sync()`` call. Thread-safe."""

    def __init__(self, sync: Callable[[], None]) -> None:
        self._sync = sync
        self._cond = threading.Condition()
        self._committed = 0  # commits numbered so far
        self._durable = 0  # every commit up to this number is on disk
        self._syncing = False
        self.syncs = 0  # syncs finished (for tests and benchmarks)

    def committed(self) -> int:
        """Number the commit just made; call it right after COMMIT, under the writers' lock."""
        with self._cond:
            self._committed += 1
            return self._committed

    def wait_durable(self, commit: int) -> None:
        """Return once commit number ``commit`` (and every one before it) is on disk."""
        with self._cond:
            while self._durable < commit:
                if self._syncing:  # a sync is under way: it may not cover us; wait for it
                    self._cond.wait()
                    continue
                self._syncing = True
                covers = self._committed  # all appended to the log before the sync starts
                self._cond.release()
                try:
                    self._sync()
                finally:
                    self._cond.acquire()
                    self._syncing = False
                    self._cond.notify_all()
                self._durable = max(self._durable, covers)
                self.syncs += 1
