"""Per-folder counts for ``kompliant-agent status``, also from another process.

The running agent holds the journal open for writing; WAL lets another process read a
consistent snapshot at the same time without blocking it. :func:`read_status` opens
the file read-only, so ``status`` can never change or lock the agent's journal.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

from agent.journal.records import FolderCounts, FolderState, Outcome, Step, folder_state
from agent.journal.schema import connect

_COUNT_SQL = """
    SELECT folder_key, step, outcome, needs_routing,
           (next_attempt_at IS NOT NULL AND next_attempt_at > ?) AS backing_off,
           COUNT(*)
    FROM entries
    GROUP BY folder_key, step, outcome, needs_routing, backing_off
"""

_FIELD = {
    FolderState.WAITING: "waiting",
    FolderState.IN_PROGRESS: "in_progress",
    FolderState.DONE: "done",
    FolderState.FAILED: "failed",
    FolderState.NEEDS_ROUTING: "needs_routing",
}


def count_by_folder(conn: sqlite3.Connection, now: datetime) -> list[FolderCounts]:
    """Counts per folder key, sorted by key."""
    totals: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(_FIELD.values(), 0))
    rows = conn.execute(_COUNT_SQL, (now.timestamp(),)).fetchall()
    for folder_key, step, outcome, needs_routing, backing_off, count in rows:
        state = folder_state(
            step=Step(step),
            outcome=Outcome(outcome) if outcome else None,
            needs_routing=bool(needs_routing),
            backing_off=bool(backing_off),
        )
        totals[str(folder_key)][_FIELD[state]] += int(count)
    return [FolderCounts(folder_key=key, **totals[key]) for key in sorted(totals)]


def read_status(path: Path, *, now: datetime | None = None) -> list[FolderCounts]:
    """Counts per folder from the journal at ``path``, read-only; ``[]`` if it is absent."""
    if not path.exists():
        return []
    conn = connect(path, read_only=True)
    try:
        try:
            conn.execute("SELECT 1 FROM entries LIMIT 1")
        except sqlite3.OperationalError as error:
            if "no such table" in str(error):
                return []
            raise
        return count_by_folder(conn, now or datetime.now(UTC))
    finally:
        conn.close()
