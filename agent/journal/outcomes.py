"""A file's end in the journal: settled in done/ or failed/, resolved, forgotten, unclaimed.

A file settled as done leaves the hot rows in the same transaction (it is archived, and
counted in ``totals``); a failed one stays hot while its file waits in ``failed/`` and is
archived by :meth:`FileOutcomes.resolve` once it left (retried, deleted, moved away): so
the rows the agent reads on its steady path are the work at hand, whatever its history.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from agent.journal.records import Entry, Outcome, Step
from agent.journal.redact import redact
from agent.journal.rows import to_ts
from agent.journal.transactions import DURABLE, LAZY, JournalCore


class FileOutcomes(JournalCore):
    """Where a file's path in the journal ends; each method is one transaction."""

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
            found = self._conn.execute("SELECT step FROM hot WHERE id = ?", (entry_id,))
            before = found.fetchone()
        lazy = before is not None and before[0] == Step.LINKED.value and outcome is Outcome.DONE
        with self._write(LAZY if lazy else DURABLE) as conn:
            entry = self._load_open(conn, entry_id)  # a settled entry is refused
            settled = self._change(
                conn,
                entry,
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
            if outcome is Outcome.DONE or final_path is None:
                self._archive(conn, settled)
            else:
                self._resolve_earlier_at(conn, settled)
            return settled

    def _resolve_earlier_at(self, conn: sqlite3.Connection, settled: Entry) -> None:
        """An earlier failed file whose name in failed/ this one now holds left failed/
        before it (retried, deleted, moved away): it needs the user no more, even if that
        was not noticed before the name was taken again."""
        earlier = conn.execute(
            "SELECT id FROM hot WHERE step = 'settled' AND outcome = 'failed'"
            " AND final_path = ? AND id != ?",
            (str(settled.final_path), settled.id),
        ).fetchall()
        for (earlier_id,) in earlier:
            self._update(conn, earlier_id, {"resolved_at": to_ts(self._clock())})
            self._archive(conn, self._load(conn, earlier_id))

    def resolve(self, entry_id: int) -> None:
        """A failed file left failed/ (retried, deleted or moved away): it needs the user
        no more, and its row is archived."""
        with self._write(LAZY) as conn:  # lost: found to have left again
            entry = self._load(conn, entry_id)
            if not entry.settled or entry.outcome is not Outcome.FAILED:
                raise ValueError(f"entry {entry_id} is not a failed one")
            self._archive(conn, self._change(conn, entry, {"resolved_at": to_ts(self._clock())}))

    def forget(self, entry_id: int) -> None:
        """Drop an entry whose file went away before any work on the server (≤ STABLE)."""
        with self._write(LAZY) as conn:
            entry = self._load(conn, entry_id)
            if entry.step > Step.STABLE and not entry.settled:
                raise ValueError(
                    f"entry {entry_id} is at {entry.step.name}; settle it instead of forgetting"
                )
            conn.execute("DELETE FROM hot WHERE id = ?", (entry_id,))

    def unclaim(self, entry_id: int, message: str) -> Entry:
        """The claimed file went back where the user put it and waits there for routing
        (an inbox stack without covers that no rule matches)."""
        with self._write(LAZY) as conn:
            entry = self._load(conn, entry_id)
            if entry.step > Step.STABLE:
                raise ValueError(f"entry {entry_id} is at {entry.step.name}; cannot unclaim")
            return self._change(
                conn,
                entry,
                {
                    "step": Step.SEEN.value,
                    "claimed_path": None,
                    "needs_routing": 1,
                    "last_error": redact(message),
                },
            )
