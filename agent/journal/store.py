"""The journal: each file's last finished step, so a crash resumes without repeating one.

How the engine uses it::

    journal = Journal.open(locations().profile_state(profile) / JOURNAL_FILE)
    entry = journal.begin(source, folder_key=key, workflow_id=w, required_document_ids=rds)
    entry = journal.advance(entry.id, Step.STABLE, claimed_path=claim.path, size=…, mtime_ns=…)
    entry = journal.advance(entry.id, Step.HASHED, sha256=digest)
    entry = journal.advance(entry.id, Step.CREATED, document_id=d, form_expires_at=expiry)
    entry = journal.advance(entry.id, Step.UPLOADED)
    entry = journal.advance(entry.id, Step.VERIFIED)
    entry = journal.advance(entry.id, Step.LINKED, fulfillments={rd: f, …})
    entry = journal.settle(entry.id, Outcome.DONE, final_path, "uploaded and linked")

Rules the journal enforces, so that a bug cannot make the agent repeat server work:

- ``advance`` only moves forward, and one call is one transaction: the step and its
  results (document id, fulfillments, …) are stored together or not at all.
- ``rewind`` goes back to an earlier step when the work of a later one has to be done
  again (an upload form that expired → back to HASHED, then a new document.create). It
  is refused once fulfillments exist: a linked file never links twice.
- ``record_fulfillments`` stores the fulfillments of a partly successful batchAdd
  before the step is finished, so a retry adds only the missing ones.
- ``attempts`` counts every failed try of the entry (it is not reset by ``advance``), so
  the engine's retry budget also bounds loops such as expire → re-create → expire.

- a file settled as done leaves the hot rows in the same transaction (it is archived,
  and counted in ``totals``); a failed one stays hot while its file waits in ``failed/``
  and is archived by :meth:`resolve` once it left (retried, deleted, moved away): so the
  rows the agent reads on its steady path are the work at hand, whatever its history.

Thread-safe: one connection guarded by a lock (SQLite serialises writers anyway).
:attr:`Journal.changes` counts the commits, so a status that depends on the journal is
computed again only when it changed.
Messages are passed through :func:`agent.journal.redact.redact` before they are stored.

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
  pending (``Pipeline._remove_lost_creates``); were it lost, a restart would hash
  again with a later time and miss that record;
- CREATED (the document id) and LINKED / ``record_fulfillments`` (fulfillment ids):
  without them a restart would create a second document or add a second fulfillment.

The others (:data:`LAZY`, ``synchronous=NORMAL``, no sync) may be lost on power loss, and each
loss only makes a restart redo a step that is safe to redo, as recovery already does:
``begin`` / STABLE → the claimed file is adopted again as an orphan claim; UPLOADED →
``document.get`` decides (``Pipeline._after_interrupted_upload``); VERIFIED → verify
again; SETTLED as done after LINKED → the file is found in done/ by its receipt
(``find_done``; other settles wait for the disk);
``route`` / ``mark_needs_routing`` → routed again; ``record_retry`` → one attempt
fewer is counted, and an older ``updated_at`` only widens the orphan search; ``forget``
→ the entry comes back and is forgotten again. The write-ahead log is one file
appended in order, so a later durable commit also makes every earlier LAZY one durable:
nothing is ever lost out of order (a LINKED without its VERIFIED, say).
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from agent.journal.group_sync import GroupSync
from agent.journal.records import Entry, FolderCounts, NewPart, Outcome, Step
from agent.journal.redact import redact
from agent.journal.rows import entry_from_row, rd_json, to_ts, utc_now
from agent.journal.schema import SCHEMA_VERSION, connect, migrate
from agent.journal.status import count_by_folder

log = logging.getLogger(__name__)

JOURNAL_FILE = "journal.sqlite3"

Clock = Callable[[], datetime]

#: How a commit reaches the disk: before its method returns, or whenever the OS writes it
#: (the names are the ``PRAGMA synchronous`` levels that do so at COMMIT)
DURABLE = "FULL"
LAZY = "NORMAL"

# Which results each step may record (others are a programming error).
_STEP_RESULTS: dict[Step, frozenset[str]] = {
    Step.SEEN: frozenset({"size", "mtime_ns"}),
    Step.STABLE: frozenset({"claimed_path", "claimed_ino", "claimed_dev", "size", "mtime_ns"}),
    Step.HASHED: frozenset(
        {"claimed_path", "claimed_ino", "claimed_dev", "size", "mtime_ns", "sha256"}
    ),
    Step.CREATED: frozenset({"document_id", "form_expires_at"}),
    Step.UPLOADED: frozenset(),
    Step.VERIFIED: frozenset(),
    Step.LINKED: frozenset({"fulfillments"}),
}

# How each step's commit waits for the disk (module docstring, "Durability per commit").
_STEP_SYNC: dict[Step, str] = {
    Step.SEEN: LAZY,  # nothing sent yet: the file is seen again
    Step.STABLE: LAZY,  # nothing sent yet: the claim is read again
    Step.HASHED: DURABLE,  # precedes document.create; bounds the lost-create search
    Step.CREATED: DURABLE,  # the document id: never a second document
    Step.UPLOADED: LAZY,  # lost: document.get says whether the upload arrived
    Step.VERIFIED: LAZY,  # lost: verified again (document.get, read-only)
    Step.LINKED: DURABLE,  # the fulfillment ids: never a second fulfillment
}


class Journal:
    """The SQLite journal of one profile. Open with :meth:`open`; close when done."""

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
        """How many transactions this journal committed since it was opened."""
        return self._changes

    @classmethod
    def open(cls, path: Path, *, clock: Clock = utc_now) -> Journal:
        """Open (creating or upgrading) the journal at ``path``."""
        conn = connect(path)
        try:
            found = migrate(conn, path)
        except BaseException:
            conn.close()
            raise
        if found == 0:
            log.info("created the journal at %s", path)
        elif found < SCHEMA_VERSION:
            log.info("upgraded the journal at %s to format %d", path, SCHEMA_VERSION)
            conn.execute("PRAGMA shrink_memory")  # the upgrade read every row once
        return cls(conn, path, clock=clock)

    def close(self) -> None:
        with self._lock:
            if self._wal_fd is not None:
                os.close(self._wal_fd)  # before the connection, which may delete the log
                self._wal_fd = None
            self._conn.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- writing ---------------------------------------------------------------------

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

    def _update(self, conn: sqlite3.Connection, entry_id: int, values: Mapping[str, Any]) -> None:
        columns = dict(values, updated_at=to_ts(self._clock()))
        assignments = ", ".join(f"{name} = ?" for name in columns)
        conn.execute(f"UPDATE hot SET {assignments} WHERE id = ?", (*columns.values(), entry_id))

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

    def begin(
        self,
        source: Path,
        *,
        folder_key: str,
        claimed: Path | None = None,
        step: Step = Step.SEEN,
        workflow_id: str | None = None,
        required_document_ids: Iterable[str] = (),
        needs_routing: bool = False,
        file_name: str | None = None,
        size: int | None = None,
        mtime_ns: int | None = None,
        folder_id: str | None = None,
        folder_sub: str = "",
        claimed_ino: int | None = None,
        claimed_dev: int | None = None,
    ) -> Entry:
        """A new entry for a file at ``source`` (where the user put it).

        ``step`` is SEEN or STABLE (a file claimed right away); ``file_name`` defaults to
        the source's name. ``needs_routing`` marks an inbox file no rule matched.
        ``folder_id`` / ``folder_sub`` / ``claimed_*``: see :class:`Entry`.
        """
        if step not in (Step.SEEN, Step.STABLE):
            raise ValueError(f"an entry begins at SEEN or STABLE, not {step.name}")
        now = to_ts(self._clock())
        with self._write(LAZY) as conn:  # lost: the claim is adopted again as an orphan
            cursor = conn.execute(
                """
                INSERT INTO hot (step, source_path, claimed_path, folder_key, workflow_id,
                    required_document_ids, needs_routing, file_name, size, mtime_ns,
                    folder_id, folder_sub, claimed_ino, claimed_dev, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                (
                    step.value,
                    str(source),
                    None if claimed is None else str(claimed),
                    folder_key,
                    workflow_id,
                    rd_json(required_document_ids),
                    int(needs_routing),
                    file_name or source.name,
                    size,
                    mtime_ns,
                    folder_id,
                    folder_sub,
                    claimed_ino,
                    claimed_dev,
                    now,
                    now,
                ),
            )
            entry_id = int(cursor.lastrowid or 0)
            return self._load(conn, entry_id)

    def take_over(
        self,
        source: Path,
        earlier: Entry,
        *,
        folder_key: str,
        claimed: Path,
        folder_id: str | None = None,
        folder_sub: str = "",
        claimed_ino: int | None = None,
        claimed_dev: int | None = None,
    ) -> Entry:
        """A new entry resuming what another agent's journal recorded for a file whose
        claim this agent took over: its step and results (hash, document id,
        fulfillments), so that no finished step is done again."""
        if earlier.settled:
            raise ValueError(f"the other agent's entry {earlier.id} is settled already")
        entry = self.begin(
            source,
            folder_key=folder_key,
            claimed=claimed,
            step=Step.STABLE,
            workflow_id=earlier.workflow_id,
            required_document_ids=earlier.required_document_ids,
            file_name=earlier.file_name,
            size=earlier.size,
            mtime_ns=earlier.mtime_ns,
            folder_id=folder_id,
            folder_sub=folder_sub,
            claimed_ino=claimed_ino,
            claimed_dev=claimed_dev,
        )
        if earlier.step <= Step.STABLE:
            return entry
        with self._write(DURABLE) as conn:  # document and fulfillment ids: never twice
            self._update(
                conn,
                entry.id,
                {
                    "step": earlier.step.value,
                    "sha256": earlier.sha256,
                    "document_id": earlier.document_id,
                    "form_expires_at": to_ts(earlier.form_expires_at),
                    "fulfillments": json.dumps(dict(earlier.fulfillments), sort_keys=True),
                    "attempts": earlier.attempts,
                    "last_error": earlier.last_error,
                },
            )
            return self._load(conn, entry.id)

    def relocate(
        self,
        entry_id: int,
        *,
        claimed_path: Path,
        source_path: Path | None = None,
        folder_sub: str | None = None,
        claimed_ino: int | None = None,
        claimed_dev: int | None = None,
    ) -> Entry:
        """The claimed file is now at ``claimed_path``: its folder was renamed or moved, or
        the file was renamed inside ``.processing/``. ``source_path`` is where it goes
        back to (its folder's current place)."""
        values: dict[str, Any] = {"claimed_path": str(claimed_path)}
        if source_path is not None:
            values["source_path"] = str(source_path)
        if folder_sub is not None:
            values["folder_sub"] = folder_sub
        if claimed_ino is not None:
            values["claimed_ino"] = claimed_ino
            values["claimed_dev"] = claimed_dev
        with self._write(LAZY) as conn:  # lost: the file is looked for again
            entry = self._load(conn, entry_id)
            if entry.settled:
                raise ValueError(f"entry {entry_id} is settled")
            self._update(conn, entry_id, values)
            return self._load(conn, entry_id)

    def advance(
        self,
        entry_id: int,
        step: Step,
        *,
        claimed_path: Path | None = None,
        claimed_ino: int | None = None,
        claimed_dev: int | None = None,
        size: int | None = None,
        mtime_ns: int | None = None,
        sha256: str | None = None,
        document_id: str | None = None,
        form_expires_at: datetime | None = None,
        fulfillments: Mapping[str, str] | None = None,
    ) -> Entry:
        """Record that ``step`` is finished, with its results, in one transaction.

        Steps may be skipped (an upload-only file has no LINKED) but never repeated or
        undone (see :meth:`rewind`). HASHED and later need a SHA-256, CREATED and later a
        document id — given now or recorded before. Use :meth:`settle` for SETTLED.
        """
        if step is Step.SETTLED:
            raise ValueError("use settle() to settle an entry")
        given: dict[str, Any] = {
            name: value
            for name, value in (
                ("claimed_path", claimed_path),
                ("claimed_ino", claimed_ino),
                ("claimed_dev", claimed_dev),
                ("size", size),
                ("mtime_ns", mtime_ns),
                ("sha256", sha256),
                ("document_id", document_id),
                ("form_expires_at", form_expires_at),
                ("fulfillments", fulfillments),
            )
            if value is not None
        }
        unexpected = set(given) - _STEP_RESULTS[step]
        if unexpected:
            raise ValueError(f"{step.name} does not record {', '.join(sorted(unexpected))}")
        with self._write(_STEP_SYNC[step]) as conn:
            entry = self._load(conn, entry_id)
            if step <= entry.step:
                raise ValueError(
                    f"entry {entry_id} is at {entry.step.name}; cannot advance to {step.name}"
                )
            if step >= Step.HASHED and not (sha256 or entry.sha256):
                raise ValueError(f"{step.name} needs the file's SHA-256")
            if step >= Step.CREATED and not (document_id or entry.document_id):
                raise ValueError(f"{step.name} needs the document id")
            values: dict[str, Any] = {"step": step.value, "next_attempt_at": None}
            for name, value in given.items():
                if name == "claimed_path":
                    values[name] = str(value)
                elif name == "form_expires_at":
                    values[name] = to_ts(value)
                elif name == "fulfillments":
                    values[name] = json.dumps({**entry.fulfillments, **value}, sort_keys=True)
                else:
                    values[name] = value
            self._update(conn, entry_id, values)
            return self._load(conn, entry_id)

    def record_fulfillments(self, entry_id: int, fulfillments: Mapping[str, str]) -> Entry:
        """Store fulfillments already added (a partly successful batchAdd) without
        finishing LINKED, so that a retry adds only the missing ones."""
        with self._write() as conn:
            entry = self._load(conn, entry_id)
            if entry.settled:
                raise ValueError(f"entry {entry_id} is settled")
            merged = json.dumps({**entry.fulfillments, **fulfillments}, sort_keys=True)
            self._update(conn, entry_id, {"fulfillments": merged})
            return self._load(conn, entry_id)

    def rewind(self, entry_id: int, step: Step, reason: str) -> Entry:
        """Go back to ``step`` so the work after it is done again, forgetting its results.

        For an upload form that expired or a stored copy whose hash differs: rewind to
        HASHED (the document id is dropped) and create a new document. Refused for a
        settled entry and for one with fulfillments (linking is never repeated).
        """
        with self._write() as conn:
            entry = self._load(conn, entry_id)
            if entry.settled or entry.fulfillments:
                raise ValueError(
                    f"entry {entry_id} is at {entry.step.name} with fulfillments "
                    f"{dict(entry.fulfillments)}; it cannot be rewound"
                )
            if step >= entry.step:
                raise ValueError(
                    f"entry {entry_id} is at {entry.step.name}; cannot rewind to {step.name}"
                )
            values: dict[str, Any] = {"step": step.value, "last_error": redact(reason)}
            if step < Step.CREATED:
                values.update(document_id=None, form_expires_at=None)
            if step < Step.HASHED:
                values["sha256"] = None
            self._update(conn, entry_id, values)
            log.info(
                "journal entry %d back from %s to %s: %s",
                entry_id,
                entry.step.name,
                step.name,
                values["last_error"],
            )
            return self._load(conn, entry_id)

    def route(
        self,
        entry_id: int,
        *,
        folder_key: str,
        workflow_id: str | None,
        required_document_ids: Iterable[str],
    ) -> Entry:
        """Give an entry (an inbox file) its destination; clears ``needs_routing``."""
        with self._write(LAZY) as conn:  # before CREATED: lost, the file is routed again
            entry = self._load(conn, entry_id)
            if entry.step >= Step.CREATED:
                raise ValueError(f"entry {entry_id} is at {entry.step.name}; too late to route")
            self._update(
                conn,
                entry_id,
                {
                    "folder_key": folder_key,
                    "workflow_id": workflow_id,
                    "required_document_ids": rd_json(required_document_ids),
                    "needs_routing": 0,
                },
            )
            return self._load(conn, entry_id)

    def mark_needs_routing(self, entry_id: int, message: str) -> Entry:
        """An inbox file no rule matches: shown as "needs routing" until routed or gone."""
        with self._write(LAZY) as conn:
            self._update(conn, entry_id, {"needs_routing": 1, "last_error": redact(message)})
            return self._load(conn, entry_id)

    def record_retry(self, entry_id: int, error: str, next_attempt_at: datetime) -> Entry:
        """A try failed and will be repeated at ``next_attempt_at``; counts the attempt."""
        with self._write(LAZY) as conn:
            entry = self._load(conn, entry_id)
            if entry.settled:
                raise ValueError(f"entry {entry_id} is settled")
            self._update(
                conn,
                entry_id,
                {
                    "attempts": entry.attempts + 1,
                    "last_error": redact(error),
                    "next_attempt_at": to_ts(next_attempt_at),
                },
            )
            return self._load(conn, entry_id)

    def settle(
        self,
        entry_id: int,
        outcome: Outcome,
        final_path: Path | None,
        message: str,
        *,
        duplicate_of: str | None = None,
    ) -> Entry:
        """The file is in done/ or failed/ (``final_path``): nothing more to do for it.

        ``duplicate_of`` names the document that already holds the same content when the
        file was not uploaded again. A done file's row is archived at once; a failed one
        stays hot while its file is in failed/ (none: archived too, nothing waits there).
        """
        # Lost, a LINKED file settled as done is found in done/ by its receipt at start
        # (its VERIFIED is durable with LINKED). Any other would be taken for a file
        # removed from .processing/ and marked failed — and an upload-only file that lost
        # VERIFIED would not count as uploaded: the same content could go twice. Those
        # wait for the disk. (Read before the transaction, so that its wait for the disk
        # is outside the lock: a LINKED entry changes only by being settled.)
        with self._lock:
            before = self._load(self._conn, entry_id)
        lazy = before.step is Step.LINKED and outcome is Outcome.DONE
        with self._write(LAZY if lazy else DURABLE) as conn:
            entry = self._load(conn, entry_id)
            if entry.settled:
                raise ValueError(f"entry {entry_id} is already settled")
            self._update(
                conn,
                entry_id,
                {
                    "step": Step.SETTLED.value,
                    "outcome": outcome.value,
                    "final_path": None if final_path is None else str(final_path),
                    "message": redact(message),
                    "duplicate_of": duplicate_of,
                    "next_attempt_at": None,
                    "resolved_at": (
                        to_ts(self._clock())
                        if outcome is Outcome.FAILED and final_path is None
                        else None
                    ),
                },
            )
            settled = self._load(conn, entry_id)
            if outcome is Outcome.DONE or final_path is None:
                self._archive(conn, settled)
            return settled

    def resolve(self, entry_id: int) -> None:
        """A failed file left failed/ (retried, deleted or moved away): it needs the user
        no more, and its row is archived."""
        with self._write(LAZY) as conn:  # lost: found to have left again
            entry = self._load(conn, entry_id)
            if not entry.settled or entry.outcome is not Outcome.FAILED:
                raise ValueError(f"entry {entry_id} is not a failed one")
            self._update(conn, entry_id, {"resolved_at": to_ts(self._clock())})
            self._archive(conn, self._load(conn, entry_id))

    def forget(self, entry_id: int) -> None:
        """Drop an entry whose file went away before any work on the server (≤ STABLE)."""
        with self._write(LAZY) as conn:
            entry = self._load(conn, entry_id)
            if entry.step > Step.STABLE and not entry.settled:
                raise ValueError(
                    f"entry {entry_id} is at {entry.step.name}; settle it instead of forgetting"
                )
            conn.execute("DELETE FROM hot WHERE id = ?", (entry_id,))

    # -- scanned stacks and converted files ---------------------------------------------

    def record_scan(
        self,
        entry_id: int,
        scan: Mapping[str, Any],
        *,
        upload_path: Path | None = None,
        upload_name: str | None = None,
    ) -> Entry:
        """Keep what a look at the file found (merged into ``scan``); with ``upload_path``,
        the file to upload in place of the claimed one (a conversion), under
        ``upload_name``. Lost, the look is taken again: nothing was sent yet."""
        with self._write(LAZY) as conn:
            entry = self._load(conn, entry_id)
            if entry.settled or entry.step >= Step.CREATED:
                raise ValueError(f"entry {entry_id} is at {entry.step.name}; too late to scan")
            values: dict[str, Any] = {"scan": json.dumps({**entry.scan, **scan}, sort_keys=True)}
            if upload_path is not None:
                values.update(upload_path=str(upload_path), upload_name=upload_name)
            self._update(conn, entry_id, values)
            return self._load(conn, entry_id)

    def split(
        self, parent_id: int, scan: Mapping[str, Any], parts: Iterable[NewPart]
    ) -> list[Entry]:
        """The stack ``parent_id`` is cut: one entry per part (claimed, at STABLE) and the
        stack's ``scan``, in one transaction that waits for the disk — a part is known
        exactly once, whatever stops the agent after this. Said twice, the parts already
        recorded are returned."""
        with self._write(DURABLE) as conn:
            parent = self._load(conn, parent_id)
            if parent.scan.get("state") == "split":
                return self._parts(conn, parent_id)
            now = to_ts(self._clock())
            for part in parts:
                conn.execute(
                    """
                    INSERT INTO hot (step, source_path, claimed_path, folder_key,
                        workflow_id, required_document_ids, file_name, parent_id,
                        part_number, created_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                    (
                        Step.STABLE.value,
                        str(part.source),
                        str(part.claimed),
                        part.folder_key,
                        part.workflow_id,
                        rd_json(part.required_document_ids),
                        part.source.name,
                        parent_id,
                        part.part_number,
                        now,
                        now,
                    ),
                )
            merged = {**parent.scan, **scan, "state": "split"}
            self._update(conn, parent_id, {"scan": json.dumps(merged, sort_keys=True)})
            return self._parts(conn, parent_id)

    def _parts(self, conn: sqlite3.Connection, parent_id: int) -> list[Entry]:
        rows = conn.execute(
            "SELECT * FROM entries WHERE parent_id = ? ORDER BY part_number, id", (parent_id,)
        ).fetchall()
        return [entry_from_row(row) for row in rows]

    def parts_of(self, parent_id: int) -> list[Entry]:
        """The parts of the stack ``parent_id``, in their order."""
        with self._lock:
            return self._parts(self._conn, parent_id)

    def unclaim(self, entry_id: int, message: str) -> Entry:
        """The claimed file went back where the user put it and waits there for routing
        (an inbox stack without covers that no rule matches)."""
        with self._write(LAZY) as conn:
            entry = self._load(conn, entry_id)
            if entry.step > Step.STABLE:
                raise ValueError(f"entry {entry_id} is at {entry.step.name}; cannot unclaim")
            self._update(
                conn,
                entry_id,
                {
                    "step": Step.SEEN.value,
                    "claimed_path": None,
                    "needs_routing": 1,
                    "last_error": redact(message),
                },
            )
            return self._load(conn, entry_id)

    # -- reading ---------------------------------------------------------------------

    def _select(self, sql: str, params: Iterable[Any] = ()) -> list[Entry]:
        with self._lock:
            return [
                entry_from_row(row) for row in self._conn.execute(sql, tuple(params)).fetchall()
            ]

    def get(self, entry_id: int) -> Entry | None:
        """Any entry by id, archived ones too."""
        found = self._select("SELECT * FROM hot WHERE id = ?", (entry_id,)) or self._select(
            "SELECT * FROM archive WHERE id = ?", (entry_id,)
        )
        return found[0] if found else None

    def find_by_claimed(self, path: Path) -> Entry | None:
        """The unsettled entry whose file is claimed at ``path``."""
        found = self._select(
            "SELECT * FROM hot WHERE claimed_path = ? AND step <> 'settled' "
            "ORDER BY id DESC LIMIT 1",
            (str(path),),
        )
        return found[0] if found else None

    def find_by_source(self, path: Path) -> Entry | None:
        """The unsettled entry of a file seen at ``path`` (not yet claimed, or claimed)."""
        found = self._select(
            "SELECT * FROM hot WHERE source_path = ? AND step <> 'settled' "
            "ORDER BY id DESC LIMIT 1",
            (str(path),),
        )
        return found[0] if found else None

    def unsettled(self) -> list[Entry]:
        """Every entry not settled yet, oldest first — what a restart resumes."""
        return self._select("SELECT * FROM hot WHERE step <> 'settled' ORDER BY id")

    def failed_waiting(self) -> list[Entry]:
        """Failed entries whose file may still wait in failed/ for the user, oldest first."""
        return self._select(
            "SELECT * FROM hot WHERE step = 'settled' AND outcome = 'failed' ORDER BY id"
        )

    def settled(self, outcome: Outcome, limit: int) -> list[Entry]:
        """The last ``limit`` files settled with ``outcome`` that went to a folder (done/,
        failed/), newest first — what a tray lists."""
        where = "WHERE step = 'settled' AND outcome = ? AND final_path IS NOT NULL"
        found: list[Entry] = []
        for table in ("hot", "archive"):  # each read newest first by its id: no full scan
            found += self._select(
                f"SELECT * FROM {table} {where} ORDER BY id DESC LIMIT ?", (outcome.value, limit)
            )
        return sorted(found, key=lambda e: e.id, reverse=True)[:limit]

    def find_uploaded(
        self,
        sha256: str,
        required_document_ids: Iterable[str],
        *,
        workflow_id: str | None = None,
        exclude_id: int | None = None,
    ) -> Entry | None:
        """An earlier entry that already holds this content for these requirements.

        With required documents: one whose fulfillments cover all of them (LINKED, or
        settled as done). Without (upload only): one whose document is verified. Entries
        that were themselves duplicates, and failed ones, never count. ``workflow_id``
        limits the search to one workflow.
        """
        wanted = set(required_document_ids)
        where = (
            "WHERE sha256 = ? AND document_id IS NOT NULL AND duplicate_of IS NULL "
            "AND (step IN ('verified', 'linked') OR (step = 'settled' AND outcome = 'done'))"
        )
        params: list[Any] = [sha256]
        if workflow_id is not None:
            where += " AND workflow_id = ?"
            params.append(workflow_id)
        if exclude_id is not None:
            where += " AND id <> ?"
            params.append(exclude_id)
        found = self._select(f"SELECT * FROM archive {where}", params)
        found += self._select(f"SELECT * FROM hot {where}", params)
        for entry in sorted(found, key=lambda e: e.id):
            if wanted <= set(entry.fulfillments):
                return entry
        return None

    def status(self) -> list[FolderCounts]:
        """Counts per folder and state (see :func:`agent.journal.status.read_status`)."""
        with self._lock:
            return count_by_folder(self._conn, self._clock())


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
