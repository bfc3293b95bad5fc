"""The journal's SQLite schema, its version and how a connection is set up.

The schema version lives in ``PRAGMA user_version``. :data:`MIGRATIONS` maps each
version to the statements that bring a database from the version before it; opening a
journal applies the missing ones in one transaction. A journal written by a newer agent
(a higher version than this code knows) is refused rather than misread.

Durability: WAL, opened with ``synchronous=FULL``. In WAL mode ``NORMAL`` survives a
killed process but may lose the last commits on power loss or an OS crash. A lost step
is not always harmless: a journal that forgot ``CREATED`` or ``LINKED`` would create a
second document or a second fulfillment. The journal therefore chooses per commit:
FULL for those, NORMAL for the steps a restart can safely redo (see "Durability per
commit" in :mod:`agent.journal.store`) — each FULL sync is one ``fdatasync`` behind the
journal's one lock, and a burst of files queues on them.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from agent.errors import CannotSucceed

SCHEMA_VERSION = 2
BUSY_TIMEOUT_MS = 10_000

_V1 = (
    """
    CREATE TABLE entries (
        id                    INTEGER PRIMARY KEY,
        step                  TEXT    NOT NULL,
        source_path           TEXT    NOT NULL,
        claimed_path          TEXT,
        final_path            TEXT,
        folder_key            TEXT    NOT NULL,
        workflow_id           TEXT,
        required_document_ids TEXT    NOT NULL DEFAULT '[]',
        needs_routing         INTEGER NOT NULL DEFAULT 0,
        file_name             TEXT    NOT NULL,
        size                  INTEGER,
        mtime_ns              INTEGER,
        sha256                TEXT,
        document_id           TEXT,
        form_expires_at       REAL,
        fulfillments          TEXT    NOT NULL DEFAULT '{}',
        outcome               TEXT,
        message               TEXT,
        duplicate_of          TEXT,
        attempts              INTEGER NOT NULL DEFAULT 0,
        next_attempt_at       REAL,
        last_error            TEXT,
        created_at            REAL    NOT NULL,
        updated_at            REAL    NOT NULL
    )
    """,
    "CREATE INDEX entries_claimed ON entries (claimed_path)",
    "CREATE INDEX entries_source ON entries (source_path)",
    "CREATE INDEX entries_sha256 ON entries (sha256)",
    "CREATE INDEX entries_open ON entries (step) WHERE step <> 'settled'",
)

# Scanned stacks and converted files: a part knows its stack (parent_id, part_number); a
# stack or a converted file keeps what the look at it found (scan, JSON); a converted file
# is uploaded from upload_path under upload_name instead of the claimed original.
_V2 = (
    "ALTER TABLE entries ADD COLUMN parent_id INTEGER REFERENCES entries (id)",
    "ALTER TABLE entries ADD COLUMN part_number INTEGER",
    "ALTER TABLE entries ADD COLUMN scan TEXT NOT NULL DEFAULT '{}'",
    "ALTER TABLE entries ADD COLUMN upload_path TEXT",
    "ALTER TABLE entries ADD COLUMN upload_name TEXT",
    "CREATE INDEX entries_parent ON entries (parent_id) WHERE parent_id IS NOT NULL",
)

#: version -> statements that upgrade the version before it to this one
MIGRATIONS: dict[int, tuple[str, ...]] = {1: _V1, 2: _V2}


class JournalError(CannotSucceed):
    """The journal cannot be used (a newer format, or a damaged file)."""


def connect(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    """A connection with the journal's settings, in autocommit mode.

    Transactions are opened explicitly (``BEGIN IMMEDIATE`` for writes) so that a step
    and its results are committed together or not at all.
    """
    if read_only:
        uri = path.resolve().as_uri() + "?mode=ro"
        conn = sqlite3.connect(
            uri, uri=True, isolation_level=None, check_same_thread=False, timeout=10.0
        )
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10.0)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    if not read_only:
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            conn.close()
            raise JournalError(
                f"The journal at {path} cannot use write-ahead logging (got {mode!r})",
                hint="Keep the agent's state folder on a local disk, not a network share.",
            )
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
    return conn


def migrate(conn: sqlite3.Connection, path: Path) -> int:
    """Bring the schema to :data:`SCHEMA_VERSION`; return the version found before."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        found = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if found > SCHEMA_VERSION:
            raise JournalError(
                f"The journal at {path} was written by a newer kompliant-agent "
                f"(format {found}; this one reads up to {SCHEMA_VERSION})",
                hint="Update kompliant-agent, or run the newer version again.",
            )
        for version in range(found + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[version]:
                conn.execute(statement)
        if found != SCHEMA_VERSION:
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return found
