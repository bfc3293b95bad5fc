"""Files with the same content for the same required documents take turns.

The duplicate check (the journal's ``find_uploaded``) only sees uploads that have
finished. Two copies of one scan dropped together would both pass it while neither is
uploaded yet, and both would be uploaded. So a worker holding a file whose content and
requirements another worker is uploading right now waits for that one to finish; then
the check finds it, and the copy goes to done/ as "not uploaded again" (or, if the first
one failed, is uploaded itself). Waits are short: one upload of one file.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Iterator
from contextlib import contextmanager


class ContentTurns:
    """One holder per key at a time; the others wait for their turn (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._busy: dict[Hashable, threading.Event] = {}

    @contextmanager
    def turn(self, key: Hashable) -> Iterator[None]:
        self.take(key)
        try:
            yield
        finally:
            self.release(key)

    def take(self, key: Hashable) -> None:
        """Wait for ``key``'s turn and hold it (until :meth:`release`)."""
        while True:
            with self._lock:
                current = self._busy.get(key)
                if current is None:
                    self._busy[key] = threading.Event()
                    return
            current.wait()

    def release(self, key: Hashable) -> None:
        """The turn held for ``key`` ends: the next one waiting goes."""
        with self._lock:
            mine = self._busy.pop(key)
        mine.set()

    def busy(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._busy
