"""Per-folder counts for ``kompliant-agent status``, also from another process.

The running agent holds the journal open for writing; WAL lets another process read a
consistent snapshot at the same time without blocking it. :func:`read_status` opens
the file read-only, so ``status`` can never change or lock the agent's journal.

The counts come from the journal's current states: the hot rows (files in the works,
failed files still in failed/, inbox files waiting for routing) and the done totals kept
beside the archive — never a walk over the whole history. A journal of the first format
(not opened by an agent of this version yet) is counted as it was then.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

from agent.journal.records import Entry, FolderCounts, FolderState, Outcome, Step, folder_state
from agent.journal.rows import entry_from_row
from agent.journal.schema import connect

_COUNT_SQL = """
    SELECT folder_key, step, outcome, needs_routing,
           (next_attempt_at IS NOT NULL AND next_attempt_at > ?) AS backing_off,
           COUNT(*)
    FROM {table}
    GROUP BY folder_key, step, outcome, needs_routing, backing_off
"""
_TOTALS_SQL = "SELECT folder_key, outcome, count FROM totals"

_FIELD = {
    FolderState.WAITING: "waiting",
    FolderState.IN_PROGRESS: "in_progress",
    FolderState.DONE: "done",
    FolderState.FAILED: "failed",
    FolderState.NEEDS_ROUTING: "needs_routing",
}


def count_by_folder(
    conn: sqlite3.Connection, now: datetime, *, archived: bool = True
) -> list[FolderCounts]:
    """Counts per folder key, sorted by key (``archived``: the journal's format has the
    hot rows apart from the archive)."""
    totals: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(_FIELD.values(), 0))
    table = "hot" if archived else "entries"
    rows = conn.execute(_COUNT_SQL.format(table=table), (now.timestamp(),)).fetchall()
    if archived:
        for folder_key, outcome, count in conn.execute(_TOTALS_SQL).fetchall():
            if outcome == Outcome.DONE.value:
                totals[str(folder_key)]["done"] += int(count)
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
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version < 1:
            return []
        return count_by_folder(conn, now or datetime.now(UTC), archived=version >= 2)
    finally:
        conn.close()


def read_claimed_entry(path: Path, claimed: Path) -> Entry | None:
    """The unsettled entry of the file claimed at ``claimed`` in the journal at ``path`` —
    another agent's, read-only (for taking its claim over at the step it reached); None
    when there is no such journal or entry, or it cannot be read."""
    if not path.exists():
        return None
    try:
        conn = connect(path, read_only=True)
    except sqlite3.Error:
        return None
    try:
        conn.row_factory = sqlite3.Row
        row = conn.execute(
            "SELECT * FROM entries WHERE claimed_path = ? AND step <> 'settled' "
            "ORDER BY id DESC LIMIT 1",
            (str(claimed),),
        ).fetchone()
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    return None if row is None else entry_from_row(row)
