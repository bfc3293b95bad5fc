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

The journal is built of one room per idea: its transactions and durability
(:mod:`agent.journal.transactions`), a file's steps and the rules they keep
(:mod:`agent.journal.steps`), its end (:mod:`agent.journal.outcomes`), scanned stacks
(:mod:`agent.journal.stacks`), reads (:mod:`agent.journal.reads`), the tables and their
upgrades (:mod:`agent.journal.schema`).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from types import TracebackType

from agent.journal.outcomes import FileOutcomes
from agent.journal.reads import JournalReads
from agent.journal.rows import utc_now
from agent.journal.schema import SCHEMA_VERSION, connect, migrate
from agent.journal.stacks import ScannedStacks
from agent.journal.steps import FileSteps
from agent.journal.transactions import DURABLE, LAZY, Clock

log = logging.getLogger(__name__)

JOURNAL_FILE = "journal.sqlite3"


class Journal(FileSteps, FileOutcomes, ScannedStacks, JournalReads):
    """The SQLite journal of one profile. Open with :meth:`open`; close when done."""

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


__all__ = ["DURABLE", "JOURNAL_FILE", "LAZY", "Clock", "Journal"]
