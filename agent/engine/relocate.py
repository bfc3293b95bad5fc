"""Where a claimed file is now: its folder followed by identity, the file by its inode.

A person may rename or move a workflow or requirement folder (or one above it) while files
in it are being uploaded, or rename a file inside ``.processing/``. The journal knows the
folder by its marker id and the sub-folders below it, and the file by its inode (and size
and hash). :meth:`Relocator.locate` finds the file where it is now and records that, so
the file settles in its folder's current place; only when it is nowhere does
:meth:`Relocator.gone` say so, truthfully: what reached Kompliant and what did not.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from agent.engine.folders import FolderView
from agent.engine.locate import claimed_in_place
from agent.journal import Entry, Journal, Outcome, Step
from agent.settle.claim import Claim, ClaimOwner
from agent.settle.find import find_claimed, move_record, remove_record

log = logging.getLogger(__name__)


class Relocator:
    def __init__(self, *, journal: Journal, folders: FolderView, me: ClaimOwner) -> None:
        self._journal = journal
        self._folders = folders
        self._me = me
        self._lock = threading.Lock()  # one search at a time: two must not take one file

    def in_place(self, entry: Entry) -> bool:
        """Whether the claimed file is where the journal says (the same file, by inode)."""
        return claimed_in_place(entry)

    def locate(self, entry: Entry) -> Entry | None:
        """``entry`` with its claimed file where it is now (recorded in the journal), or
        None when it is in none of the places it can be."""
        if self.in_place(entry):
            return entry
        with self._lock:
            fresh = self._journal.get(entry.id)
            if fresh is None or fresh.settled:
                return fresh
            if self.in_place(fresh):
                return fresh
            return self._search(fresh)

    def _search(self, entry: Entry) -> Entry | None:
        old = entry.claimed_path
        assert old is not None
        old_folder = old.parent.parent
        candidates: list[Path] = []
        if entry.folder_id:
            places = self._folders.tree.located(entry.folder_id, entry.folder_sub)
            if old_folder not in places or not old_folder.is_dir():
                places = self._folders.rescan().located(entry.folder_id, entry.folder_sub)
            candidates += places
        if old_folder.is_dir() and old_folder not in candidates:
            candidates.append(old_folder)  # renamed inside .processing/
        others = {
            e.claimed_path for e in self._journal.unsettled() if e.id != entry.id and e.claimed_path
        }
        for folder in candidates:
            found = find_claimed(
                folder,
                ino=entry.claimed_ino,
                dev=entry.claimed_dev,
                size=entry.size,
                sha256=entry.sha256,
                skip=others,
                name=old.name,
            )
            if found is None:
                continue
            renamed = found.name != old.name
            source = folder / (found.name if renamed else entry.source_path.name)
            place = self._folders.tree.place(folder)
            try:
                st = os.stat(found, follow_symlinks=False)
            except OSError:
                continue
            moved = self._journal.relocate(
                entry.id,
                claimed_path=found,
                source_path=source,
                folder_sub=place[2] if place is not None else None,
                claimed_ino=st.st_ino,
                claimed_dev=st.st_dev,
            )
            move_record(old, Claim(found, source, self._me, None), self._me)
            log.info("%s is now at %s; it settles there", entry.file_name, found)
            return moved
        return None

    def gone(self, entry: Entry) -> str:
        """Settle an entry whose claimed file is nowhere: say what happened, truthfully,
        and remove its claim record. The sentence said (for the log and the status)."""
        where = entry.source_path.parent
        if entry.reached(Step.VERIFIED) and entry.document_id:
            linked = " and linked" if entry.fulfillments else ""
            text = (
                f"{entry.file_name} was uploaded as document {entry.document_id}{linked}, "
                f"but removed from .processing/ in {where} before it could be moved to "
                "done/. Kompliant has it; nothing more to do."
            )
            outcome = Outcome.DONE
        else:
            text = (
                f"{entry.file_name} was removed from .processing/ in {where} before it was "
                "uploaded, and is nowhere in its folder: nothing of it is on Kompliant. If "
                f"you still have it, put it into {where} again."
            )
            outcome = Outcome.FAILED
        if entry.claimed_path is not None:
            remove_record(entry.claimed_path)
        self._journal.settle(entry.id, outcome, None, text)
        log.warning("%s", text)
        return text
