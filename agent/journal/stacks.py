"""Scanned stacks and converted files in the journal: a look's findings, a cut stack's parts."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from agent.journal.records import Entry, NewPart, Step
from agent.journal.rows import entry_from_row, rd_json, to_ts
from agent.journal.transactions import DURABLE, LAZY, JournalCore


class ScannedStacks(JournalCore):
    """A stack's scan and its parts; a converted file's upload path."""

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
            return self._change(conn, entry, values)

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
