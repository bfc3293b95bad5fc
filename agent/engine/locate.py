"""Where a claimed file is: the pipeline asks before each try and whenever it is missing.

:class:`Locator` is what the pipeline needs; :class:`agent.engine.relocate.Relocator` is
the running agent's, which follows renamed and moved folders and files renamed inside
``.processing/``. :class:`InPlace` follows nothing (a file is where it was claimed, or
gone), for a pipeline on its own.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from agent.journal import Entry, Journal, Outcome, Step
from agent.settle.claim import Claim
from agent.settle.outcome import find_done
from agent.upload.identity import FileIdentity

if TYPE_CHECKING:  # a type only: the upload processes need not import the folder tree
    from agent.decide.tree import FolderTree

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


def claimed_in_place(entry: Entry) -> bool:
    """Whether the claimed file is where the journal says (the same file, by inode)."""
    path = entry.claimed_path
    if path is None:
        return True
    try:
        st = os.stat(path, follow_symlinks=False)
    except OSError:
        return False
    return entry.claimed_ino is None or (
        st.st_ino == entry.claimed_ino
        and (entry.claimed_dev is None or st.st_dev == entry.claimed_dev)
    )


def done_somewhere(entry: Entry, tree: FolderTree) -> Path | None:
    """The file in done/ of its folder (where it was, or where that folder is now),
    found by its receipt: moved there just before the agent (or the process that
    worked on it) was stopped, and not yet settled in the journal."""
    if not entry.document_id or not entry.reached(Step.VERIFIED):
        return None
    assert entry.claimed_path is not None
    places = [entry.claimed_path.parent.parent]
    if entry.folder_id:
        places += tree.located(entry.folder_id, entry.folder_sub)
    for folder in dict.fromkeys(places):
        done = find_done(folder, entry.document_id)
        if done is not None:
            return done
    return None


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
