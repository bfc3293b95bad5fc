"""A file's steps in the journal: begun, advanced, rewound, retried, routed.

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

Messages are passed through :func:`agent.journal.redact.redact` before they are stored.
How a file's path ends (settled, resolved, forgotten, unclaimed): :mod:`agent.journal.outcomes`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from agent.journal.records import Entry, Step
from agent.journal.redact import redact
from agent.journal.rows import entry_with, new_entry, rd_json, to_ts
from agent.journal.transactions import DURABLE, LAZY, JournalCore

log = logging.getLogger(__name__)

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


#: The columns :meth:`FileSteps.begin` sets (the others keep the schema's defaults)
_BEGUN = (
    "step",
    "source_path",
    "claimed_path",
    "folder_key",
    "workflow_id",
    "required_document_ids",
    "needs_routing",
    "file_name",
    "size",
    "mtime_ns",
    "folder_id",
    "folder_sub",
    "claimed_ino",
    "claimed_dev",
    "created_at",
    "updated_at",
)
_INSERT = f"INSERT INTO hot ({', '.join(_BEGUN)}) VALUES ({', '.join('?' * len(_BEGUN))})"


class FileSteps(JournalCore):
    """Writing the path of one file: each method is one transaction."""

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
        values = (
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
        )
        with self._write(LAZY) as conn:  # lost: the claim is adopted again as an orphan
            cursor = conn.execute(_INSERT, values)
            # built from what was inserted, not read back
            return new_entry(int(cursor.lastrowid or 0), dict(zip(_BEGUN, values, strict=True)))

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

    def claimed(
        self,
        begun: Entry,
        claimed_path: Path,
        *,
        claimed_ino: int | None = None,
        claimed_dev: int | None = None,
    ) -> Entry:
        """STABLE for the entry :meth:`begin` returned just now (``begun``): its file was
        claimed at ``claimed_path``. What :meth:`advance` does, without reading the row
        back: the UPDATE holds only while the row is still at SEEN (never twice, never
        after a later step), and the entry returned is ``begun`` with the columns set —
        so ``begun`` must be the row as it is (a claim's own entry, which nothing else
        has changed since it was begun)."""
        values: dict[str, Any] = {
            "step": Step.STABLE.value,
            "next_attempt_at": None,
            "claimed_path": str(claimed_path),
            "claimed_ino": claimed_ino,
            "claimed_dev": claimed_dev,
            "updated_at": to_ts(self._clock()),
        }
        assignments = ", ".join(f"{name} = ?" for name in values)
        with self._write(_STEP_SYNC[Step.STABLE]) as conn:
            cursor = conn.execute(
                f"UPDATE hot SET {assignments} WHERE id = ? AND step = ?",
                (*values.values(), begun.id, Step.SEEN.value),
            )
            if cursor.rowcount != 1:
                raise ValueError(f"entry {begun.id} is not at SEEN; cannot advance to STABLE")
            return entry_with(begun, values)

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
            entry = self._load_open(conn, entry_id)  # a settled entry is refused
            return self._change(conn, entry, values)

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
            return self._change(conn, entry, values)

    def record_fulfillments(self, entry_id: int, fulfillments: Mapping[str, str]) -> Entry:
        """Store fulfillments already added (a partly successful batchAdd) without
        finishing LINKED, so that a retry adds only the missing ones."""
        with self._write() as conn:
            entry = self._load_open(conn, entry_id)
            merged = json.dumps({**entry.fulfillments, **fulfillments}, sort_keys=True)
            return self._change(conn, entry, {"fulfillments": merged})

    def rewind(
        self, entry_id: int, step: Step, reason: str, *, document_deleted: bool = False
    ) -> Entry:
        """Go back to ``step`` so the work after it is done again, forgetting its results.

        For an upload form that expired or a stored copy whose hash differs: rewind to
        HASHED (the document id is dropped) and create a new document. Refused for a
        settled entry and for one with fulfillments (linking is never repeated) — unless
        ``document_deleted``: the document was deleted on Kompliant (a stale upload), its
        fulfillments with it, so they are forgotten too and made again for the new one.
        """
        with self._write() as conn:
            entry = self._load(conn, entry_id)
            if entry.settled or (entry.fulfillments and not document_deleted):
                raise ValueError(
                    f"entry {entry_id} is at {entry.step.name} with fulfillments "
                    f"{dict(entry.fulfillments)}; it cannot be rewound"
                )
            if step >= entry.step:
                raise ValueError(
                    f"entry {entry_id} is at {entry.step.name}; cannot rewind to {step.name}"
                )
            values: dict[str, Any] = {"step": step.value, "last_error": redact(reason)}
            if document_deleted:
                values["fulfillments"] = "{}"
            if step < Step.CREATED:
                values.update(document_id=None, form_expires_at=None)
            if step < Step.HASHED:
                values["sha256"] = None
            rewound = self._change(conn, entry, values)
            log.info(
                "journal entry %d back from %s to %s: %s",
                entry_id,
                entry.step.name,
                step.name,
                values["last_error"],
            )
            return rewound

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
            return self._change(
                conn,
                entry,
                {
                    "folder_key": folder_key,
                    "workflow_id": workflow_id,
                    "required_document_ids": rd_json(required_document_ids),
                    "needs_routing": 0,
                },
            )

    def mark_needs_routing(self, entry_id: int, message: str) -> Entry:
        """An inbox file no rule matches: shown as "needs routing" until routed or gone."""
        with self._write(LAZY) as conn:
            self._update(conn, entry_id, {"needs_routing": 1, "last_error": redact(message)})
            return self._load(conn, entry_id)

    def record_retry(self, entry_id: int, error: str, next_attempt_at: datetime) -> Entry:
        """A try failed and will be repeated at ``next_attempt_at``; counts the attempt."""
        with self._write(LAZY) as conn:
            entry = self._load_open(conn, entry_id)
            return self._change(
                conn,
                entry,
                {
                    "attempts": entry.attempts + 1,
                    "last_error": redact(error),
                    "next_attempt_at": to_ts(next_attempt_at),
                },
            )
