"""Reading the journal: an entry by id, path or content, what a restart resumes, the counts."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from agent.journal.records import Entry, FolderCounts, Outcome
from agent.journal.status import count_by_folder
from agent.journal.transactions import JournalCore


class JournalReads(JournalCore):
    """Reads of the hot rows (the work at hand) and, where asked, the archived ones."""

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
        found = self._select(
            f"SELECT * FROM archive {where} UNION ALL SELECT * FROM hot {where}", params * 2
        )
        for entry in sorted(found, key=lambda e: e.id):
            if wanted <= set(entry.fulfillments):
                return entry
        return None

    def status(self) -> list[FolderCounts]:
        """Counts per folder and state (see :func:`agent.journal.status.read_status`)."""
        with self._lock:
            return count_by_folder(self._conn, self._clock())
