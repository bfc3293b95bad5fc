"""Where a claimed file is: the pipeline asks before each try and whenever it is missing.

:class:`Locator` is what the pipeline needs; :class:`agent.engine.relocate.Relocator` is
the running agent's, which follows renamed and moved folders and files renamed inside
``.processing/``. :class:`InPlace` follows nothing (a file is where it was claimed, or
gone), for a pipeline on its own.
"""

from __future__ import annotations

import logging
import os
from typing import Protocol

from agent.journal import Entry, Journal, Outcome
from agent.settle.claim import Claim
from agent.upload.identity import FileIdentity

log = logging.getLogger(__name__)


class Locator(Protocol):
    def locate(self, entry: Entry) -> Entry | None:
        """``entry`` with its claimed file where it is now; None when it is nowhere."""
        ...

    def gone(self, entry: Entry) -> str:
        """Settle an entry whose file is nowhere, saying so truthfully; the sentence."""
        ...


class InPlace:
    """Files are where they were claimed, or gone (settled as failed, with no file)."""

    def __init__(self, journal: Journal) -> None:
        self._journal = journal

    def locate(self, entry: Entry) -> Entry | None:
        path = entry.claimed_path
        return entry if path is None or os.path.lexists(path) else None

    def gone(self, entry: Entry) -> str:
        text = (
            f"{entry.file_name} was removed from .processing/ before it was finished. If you "
            f"still have it, put it into {entry.source_path.parent} again."
        )
        self._journal.settle(entry.id, Outcome.FAILED, None, text)
        log.warning("%s", text)
        return text


def moved_whole(locator: Locator, entry: Entry, identity: FileIdentity) -> Entry | None:
    """The entry, found again after its file moved while it was sent — if it is the very
    file that was sent (same inode, size and modification time); None otherwise."""
    found = locator.locate(entry)
    if found is None or found.claimed_path is None:
        return None
    try:
        st = os.stat(found.claimed_path, follow_symlinks=False)
    except OSError:
        return None
    same_inode = found.claimed_ino is None or st.st_ino == found.claimed_ino
    return found if same_inode and identity.same_stat(st) else None


def claim_of(entry: Entry) -> Claim:
    """The claim ``entry`` holds, as the journal knows it (ValueError without a claimed
    file). A part of a stack is made in the work folder; its notes go to the stack's
    folder."""
    if entry.claimed_path is None:
        raise ValueError(f"journal entry {entry.id} has no claimed file")
    home = entry.source_path.parent if entry.parent_id is not None else None
    return Claim(entry.claimed_path, entry.source_path, None, None, home=home)
