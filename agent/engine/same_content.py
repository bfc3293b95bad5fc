"""Files with the same content for the same required documents take turns.

The duplicate check (the journal's ``find_uploaded``) only sees uploads that have
finished. Two copies of one scan dropped together would both pass it while neither is
uploaded yet, and both would be uploaded. So a worker holding a file whose content and
requirements another worker is uploading right now waits for that one to finish; then
the check finds it, and the copy goes to done/ as "not uploaded again" (or, if the first
one failed, is uploaded itself). Waits are short: one upload of one file.

With upload processes the turns are the engine's (:mod:`agent.engine.upload_pool`): a
small file's is taken by the engine before the file is handed over (:func:`key_ahead`),
from the content it reads then, and held until the answer; the process asks for a turn
only for a larger file, or when the content it hashes is not what the engine read (the
turn taken ahead is then let go first: a file holds one turn at a time).
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Hashable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from agent.errors import AgentError
from agent.upload.identity import open_regular

#: A file up to this size is read by the engine before an upload process gets it, and its
#: turn taken then (:func:`key_ahead`): the process need not ask for it.
AHEAD_BYTES = 64 * 1024


def content_key(
    sha256: str, workflow_id: str | None, required_document_ids: Iterable[str]
) -> Hashable:
    """What files take turns by: their content and the required documents they are for."""
    return (sha256, workflow_id, frozenset(required_document_ids))


def key_ahead(
    path: Path, workflow_id: str | None, required_document_ids: Iterable[str]
) -> Hashable | None:
    """The :func:`content_key` of a small file at ``path`` as it is now; None for a larger
    one, or one that cannot be read whole now (its upload asks for its turn itself, as
    does one whose content is found changed when it is hashed for its upload)."""
    try:
        fd, before = open_regular(path)
    except (AgentError, OSError):
        return None
    try:
        if not 0 < before.st_size <= AHEAD_BYTES:
            return None
        data = os.read(fd, before.st_size + 1)  # a byte more: one that grew is not whole
    finally:
        os.close(fd)
    if len(data) != before.st_size:
        return None
    return content_key(hashlib.sha256(data).hexdigest(), workflow_id, required_document_ids)


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
