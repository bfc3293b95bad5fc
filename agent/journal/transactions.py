"""The journal's transactions: one connection, one lock, and how each commit reaches the disk.

Thread-safe: one connection guarded by a lock (SQLite serialises writers anyway).
:attr:`JournalCore.changes` counts the commits (other processes' too), so a status that
depends on the journal is computed again only when it changed. The rows the steps,
stacks and reads share are loaded, updated and archived here.

Durability per commit (WAL). Every commit survives a killed agent: it is in the
operating system's cache once COMMIT returns. Against power loss or an OS crash only
the commits that guard a call Kompliant must never see twice wait for the disk
(:data:`DURABLE`): the method that makes one returns only once it is on disk, so it is
durable before the call it guards is made. The wait is a sync of the write-ahead log
after the commit, outside the journal's lock and shared by every writer waiting at the
time (:mod:`agent.journal.group_sync`): one sync covers the commits of several workers,
and none holds up the others' commits meanwhile. (Where the log cannot be opened as a
file, such a commit is made with ``synchronous=FULL`` instead.) They are:

- HASHED, and every ``rewind``: the last write before a ``document.create``. Its
  ``updated_at`` is the lower bound of the search for a record a lost create left
  pending (``agent.engine.reconcile.remove_lost_creates``); were it lost, a restart
  would hash again with a later time and miss that record;
- CREATED (the document id) and LINKED / ``record_fulfillments`` (fulfillment ids):
  without them a restart would create a second document or add a second fulfillment.

The others (:data:`LAZY`, ``synchronous=NORMAL``, no sync) may be lost on power loss, and each
loss only makes a restart redo a step that is safe to redo, as recovery already does:
``begin`` / STABLE → the claimed file is adopted again as an orphan claim; UPLOADED →
``document.get`` decides (``agent.engine.reconcile.after_interrupted_upload``);
VERIFIED → verify again; SETTLED as done after LINKED → the file is found in done/ by its
receipt
(``find_done``; other settles wait for the disk);
``route`` / ``mark_needs_routing`` → routed again; ``record_retry`` → one attempt
fewer is counted, and an older ``updated_at`` only widens the orphan search; ``forget``
→ the entry comes back and is forgotten again. The write-ahead log is one file
appended in order, so a later durable commit also makes every earlier LAZY one durable:
nothing is ever lost out of order (a LINKED without its VERIFIED, say).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from agent.journal.group_sync import GroupSync
from agent.journal.records import Entry, Outcome
from agent.journal.rows import entry_from_row, entry_with, to_ts, utc_now

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

#: How a commit reaches the disk: before its method returns, or whenever the OS writes it
#: (the names are the ``PRAGMA synchronous`` levels that do so at COMMIT)
DURABLE = "FULL"
LAZY = "NORMAL"


class JournalCore:
    """One journal's connection and transactions (see :class:`agent.journal.store.Journal`)."""

    def __init__(self, conn: sqlite3.Connection, path: Path, *, clock: Clock = utc_now) -> None:
        self._conn = conn
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        self._clock = clock
        self._sync = DURABLE  # what schema.connect set
        self._changes = 0
        self.path = path
        self._wal_fd = _open_wal(conn)
        self._group: GroupSync | None = None
        if self._wal_fd is not None:  # commits sync the log themselves: none waits at COMMIT
            self._group = GroupSync(self._sync_wal)
            self._conn.execute(f"PRAGMA synchronous = {LAZY}")
            self._sync = LAZY

    def _sync_wal(self) -> None:
        assert self._wal_fd is not None
        _sync_data(self._wal_fd)

    @property
    def disk_syncs(self) -> int:
        """How many syncs of the write-ahead log made commits durable (group commits)."""
        return 0 if self._group is None else self._group.syncs

    @property
    def changes(self) -> int:
        """A number that grows with every transaction committed to this journal: by this
        connection, or by another one — another process's, such as an upload process's
        (SQLite's ``data_version`` moves with those)."""
        with self._lock:
            others = int(self._conn.execute("PRAGMA data_version").fetchone()[0])
        return self._changes + others

    @contextmanager
    def _write(self, sync: str = DURABLE) -> Iterator[sqlite3.Connection]:
        """One transaction; a :data:`DURABLE` one is on disk when the block ends (see
        "Durability per commit")."""
        group = self._group
        with self._lock:
            level = LAZY if group is not None else sync
            if level != self._sync:
                self._conn.execute(f"PRAGMA synchronous = {level}")
                self._sync = level
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
            self._changes += 1
            commit = group.committed() if group is not None else 0
        if group is not None and sync == DURABLE:
            group.wait_durable(commit)

    def _load(self, conn: sqlite3.Connection, entry_id: int) -> Entry:
        """A hot row (every row the agent still changes is hot)."""
        row = conn.execute("SELECT * FROM hot WHERE id = ?", (entry_id,)).fetchone()
        if row is None:
            if conn.execute("SELECT 1 FROM archive WHERE id = ?", (entry_id,)).fetchone():
                raise ValueError(f"entry {entry_id} is settled (archived)")
            raise KeyError(f"no journal entry {entry_id}")
        return entry_from_row(row)

    def _load_open(self, conn: sqlite3.Connection, entry_id: int) -> Entry:
        """A hot row that is not settled yet: a settled entry refuses any further change."""
        entry = self._load(conn, entry_id)
        if entry.settled:
            raise ValueError(f"entry {entry_id} is settled already")
        return entry

    def _update(
        self, conn: sqlite3.Connection, entry_id: int, values: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Set the columns ``values`` (and ``updated_at``) of a hot row; the columns set."""
        columns = dict(values, updated_at=to_ts(self._clock()))
        assignments = ", ".join(f"{name} = ?" for name in columns)
        conn.execute(f"UPDATE hot SET {assignments} WHERE id = ?", (*columns.values(), entry_id))
        return columns

    def _change(self, conn: sqlite3.Connection, entry: Entry, values: Mapping[str, Any]) -> Entry:
        """:meth:`_update` of ``entry``, read in this transaction; the entry as it is now
        (built from the one read, not read back)."""
        return entry_with(entry, self._update(conn, entry.id, values))

    def _archive(self, conn: sqlite3.Connection, entry: Entry) -> None:
        """Move a settled row out of the hot ones (and count it when done)."""
        conn.execute("INSERT INTO archive SELECT * FROM hot WHERE id = ?", (entry.id,))
        conn.execute("DELETE FROM hot WHERE id = ?", (entry.id,))
        if entry.outcome is Outcome.DONE:
            conn.execute(
                "INSERT INTO totals (folder_key, outcome, count) VALUES (?, 'done', 1) "
                "ON CONFLICT (folder_key, outcome) DO UPDATE SET count = count + 1",
                (entry.folder_key,),
            )

    def _select(self, sql: str, params: Iterable[Any] = ()) -> list[Entry]:
        with self._lock:
            return [
                entry_from_row(row) for row in self._conn.execute(sql, tuple(params)).fetchall()
            ]


#: The log's data and size, as SQLite itself syncs it (fdatasync where there is one)
_sync_data: Callable[[int], None] = getattr(os, "fdatasync", os.fsync)


def _open_wal(conn: sqlite3.Connection) -> int | None:
    """The journal's write-ahead log, open for syncing; ``None`` where it cannot be opened
    (commits that must be durable then wait for the disk at COMMIT instead)."""
    row = conn.execute("PRAGMA database_list").fetchone()
    main = row[2] if row is not None else ""
    if not main:
        return None
    try:
        return os.open(f"{main}-wal", os.O_RDWR | getattr(os, "O_BINARY", 0))
    except OSError as error:
        log.info("the journal's log cannot be opened for syncing (%s): commits wait", error)
        return None
