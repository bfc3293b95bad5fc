"""The SQLite journal: each file's last finished step, for crash-safe resume.

Public face: :class:`Journal` (``Journal.open(path)``), :class:`Entry`, :class:`Step`,
:class:`Outcome`, :class:`FolderState`, :class:`FolderCounts`, :func:`read_status` (counts
from another process, read-only), :func:`read_claimed_entry` (another agent's entry of a
claimed file, read-only) and :func:`journal_path`.
"""

from __future__ import annotations

from pathlib import Path

from agent.journal.records import Entry, FolderCounts, FolderState, NewPart, Outcome, Step
from agent.journal.schema import JournalError
from agent.journal.status import read_claimed_entry, read_status
from agent.journal.store import JOURNAL_FILE, Journal
from agent.locations import locations


def journal_path(profile: str) -> Path:
    """Where the journal of ``profile`` lives (the profile's state folder)."""
    return locations().profile_state(profile) / JOURNAL_FILE


__all__ = [
    "JOURNAL_FILE",
    "Entry",
    "FolderCounts",
    "FolderState",
    "Journal",
    "JournalError",
    "NewPart",
    "Outcome",
    "Step",
    "journal_path",
    "read_claimed_entry",
    "read_status",
]
