"""The journal's SQLite schema, its version and how a connection is set up.

The schema version lives in ``PRAGMA user_version``. :data:`MIGRATIONS` maps each
version to the statements that bring a database from the version before it; opening a
journal applies the missing ones in one transaction. A journal written by a newer agent
(a higher version than this code knows) is refused rather than misread.

Hot and settled rows (version 3). The rows the running agent works with — files not
settled yet, and failed ones whose file still waits in ``failed/`` for the user — are in
``hot``; a file settled as done (or a failed one that left ``failed/``) moves to
``archive`` in the transaction that settles it, and ``totals`` counts the done ones per
folder. So what the agent reads on its steady path stays as small as the work at hand,
however long its history; ``archive`` is still read for duplicates, parts and by id. The
view ``entries`` is both, for tools that read the journal from outside.

Durability: WAL, opened with ``synchronous=FULL``. In WAL mode ``NORMAL`` survives a
killed process but may lose the last commits on power loss or an OS crash. A lost step
is not always harmless: a journal that forgot ``CREATED`` or ``LINKED`` would create a
second document or a second fulfillment. The journal therefore chooses per commit:
FULL for those, NORMAL for the steps a restart can safely redo (see "Durability per
commit" in :mod:`agent.journal.transactions`) — each FULL sync is one ``fdatasync`` behind the
journal's one lock, and a burst of files queues on them.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from agent.errors import CannotSucceed

SCHEMA_VERSION = 3
BUSY_TIMEOUT_MS = 10_000

#: The columns of version 1 after ``id``, in order: the first table had them, and every
#: later table of rows starts with them.
_V1_COLUMNS = """
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
        updated_at            REAL    NOT NULL"""

_V1 = (
    f"""
    CREATE TABLE entries (
        id                    INTEGER PRIMARY KEY,{_V1_COLUMNS}
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

#: Columns version 3 adds to every row: the marker id of the folder a file belongs to and
#: the sub-folders below it (so a renamed folder is found again), the claimed file's inode
#: and device (so a file renamed inside .processing/ is found again), and when a failed
#: file left failed/ (it no longer needs the user).
_V3_COLUMNS = (
    ("folder_id", "TEXT"),
    ("folder_sub", "TEXT NOT NULL DEFAULT ''"),
    ("claimed_ino", "INTEGER"),
    ("claimed_dev", "INTEGER"),
    ("resolved_at", "REAL"),
)
#: Rows that stay hot: not settled, or failed with the file still in failed/ (maybe).
HOT_ROWS = "step <> 'settled' OR outcome = 'failed'"


def _rows_table(name: str, key: str) -> str:
    """The columns every row has (hot or archived). A part's ``parent_id`` names its stack's
    row in either table, so it is not a foreign key of one of them."""
    return (
        f"""
    CREATE TABLE {name} (
        id                    {key},{_V1_COLUMNS},
        parent_id             INTEGER,
        part_number           INTEGER,
        scan                  TEXT    NOT NULL DEFAULT '{{}}',
        upload_path           TEXT,
        upload_name           TEXT,
"""
        + ",\n".join(f"        {column} {kind}" for column, kind in _V3_COLUMNS)
        + "\n    )"
    )


_NEW_COLUMNS = ", ".join(["NULL", "''", "NULL", "NULL", "NULL"])

_V3 = (
    _rows_table("hot", "INTEGER PRIMARY KEY AUTOINCREMENT"),
    _rows_table("archive", "INTEGER PRIMARY KEY"),
    f"INSERT INTO hot SELECT *, {_NEW_COLUMNS} FROM entries WHERE {HOT_ROWS}",
    f"INSERT INTO archive SELECT *, {_NEW_COLUMNS} FROM entries WHERE NOT ({HOT_ROWS})",
    "DROP TABLE entries",
    "CREATE INDEX hot_claimed ON hot (claimed_path)",
    "CREATE INDEX hot_source ON hot (source_path)",
    "CREATE INDEX hot_sha256 ON hot (sha256)",
    "CREATE INDEX hot_parent ON hot (parent_id) WHERE parent_id IS NOT NULL",
    "CREATE INDEX archive_sha256 ON archive (sha256)",
    "CREATE INDEX archive_parent ON archive (parent_id) WHERE parent_id IS NOT NULL",
    """
    CREATE TABLE totals (
        folder_key TEXT    NOT NULL,
        outcome    TEXT    NOT NULL,
        count      INTEGER NOT NULL,
        PRIMARY KEY (folder_key, outcome)
    ) WITHOUT ROWID
    """,
    "INSERT INTO totals SELECT folder_key, 'done', COUNT(*) FROM archive "
    "WHERE outcome = 'done' GROUP BY folder_key",
    # new ids continue after every id ever used, archived ones included
    "DELETE FROM sqlite_sequence WHERE name = 'hot'",
    "INSERT INTO sqlite_sequence (name, seq) SELECT 'hot', COALESCE(MAX(id), 0) FROM "
    "(SELECT MAX(id) AS id FROM archive UNION ALL SELECT MAX(id) AS id FROM hot)",
    "CREATE VIEW entries AS SELECT * FROM hot UNION ALL SELECT * FROM archive",
)

#: version -> statements that upgrade the version before it to this one
MIGRATIONS: dict[int, tuple[str, ...]] = {1: _V1, 2: _V2, 3: _V3}


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
