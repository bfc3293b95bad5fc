"""Verified settle: the file that goes to done/ is the file that was read and uploaded.

What the pipeline read of each claimed file in this run (its size, times, inode and
SHA-256) is kept by entry. Before the upload goes on after a restart, and just before the
move to done/, the claimed file is compared with it (:func:`agent.settle.verified.as_read`)
— or with the size, mtime and SHA-256 in the journal when the identity came from there. A
file that changed after it was read (a writer that still held it open) makes the upload
stale: that document is deleted (its fulfillments go with it) and the file is sent again
from the start. So the receipt's size and SHA-256 are always those of the file in done/.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import NoReturn

from agent.errors import FileChanged
from agent.journal import Entry, Journal, Step
from agent.kompliant.client import KompliantClient
from agent.settle.verified import as_read
from agent.upload.create import discard
from agent.upload.identity import FileIdentity

log = logging.getLogger(__name__)


class VerifiedSettle:
    """What was read of each claimed file, and the checks that the file is still that."""

    def __init__(self, client: KompliantClient, journal: Journal) -> None:
        self._client = client
        self._journal = journal
        # What was read of each file in this run (with its ctime and inode), by entry id.
        self._read: dict[int, FileIdentity] = {}

    def remember(self, entry_id: int, identity: FileIdentity) -> None:
        """``identity`` is what was just read and hashed of ``entry_id``'s file."""
        self._read[entry_id] = identity

    def kept(self, entry_id: int) -> FileIdentity | None:
        """What was read of ``entry_id``'s file in this run, if it was."""
        return self._read.get(entry_id)

    def forget(self, entry_id: int) -> None:
        """``entry_id`` is settled (or failed): nothing to compare any more."""
        self._read.pop(entry_id, None)

    def recorded(self, entry: Entry, path: Path) -> FileIdentity:
        """The identity recorded earlier (in this run, or before a restart), if the
        claimed file is unchanged; a changed one is read and sent again from the start."""
        assert entry.sha256 is not None and entry.size is not None
        st = os.stat(path)
        if st.st_size != entry.size or st.st_mtime_ns != entry.mtime_ns:
            if not entry.reached(Step.CREATED):
                self._journal.rewind(entry.id, Step.STABLE, "the file changed; reading it again")
                raise FileChanged(f"{entry.file_name} changed after it was read")
            if not entry.reached(Step.UPLOADED):
                assert entry.document_id is not None
                discard(self._client, entry.document_id)
                self._journal.rewind(entry.id, Step.STABLE, "the file changed before it was sent")
                raise FileChanged(f"{entry.file_name} changed before it was sent")
            self._stale(entry, "changed after it was uploaded")
        return self.read_of(entry)

    def read_of(self, entry: Entry) -> FileIdentity:
        """What was read of ``entry``'s file: in this run when it was, else the journal's."""
        assert entry.sha256 is not None and entry.size is not None
        read = self._read.get(entry.id)
        if read is not None and read.sha256 == entry.sha256:
            return read
        return FileIdentity(size=entry.size, mtime_ns=entry.mtime_ns or 0, sha256=entry.sha256)

    def verified(self, entry: Entry, path: Path, identity: FileIdentity) -> FileIdentity:
        """Just before the move to done/: the file sent must be exactly what was hashed
        (and so what Kompliant stored); otherwise the upload is stale."""
        current = as_read(path, identity)
        if current is not None:
            return current
        if not entry.reached(Step.CREATED):  # nothing of its own on Kompliant (a duplicate)
            self._journal.rewind(entry.id, Step.STABLE, "the file changed; reading it again")
            raise FileChanged(f"{entry.file_name} changed after it was read")
        self._stale(entry, "changed after it was uploaded")

    def _stale(self, entry: Entry, what: str) -> NoReturn:
        """The file on disk is not the one uploaded: delete that document (its
        fulfillments go with it) and send the file again from the start."""
        assert entry.document_id is not None
        log.warning(
            "%s %s as %s: that document is deleted and the file is sent again",
            entry.file_name,
            what,
            entry.document_id,
        )
        discard(self._client, entry.document_id)
        self.forget(entry.id)
        self._journal.rewind(
            entry.id,
            Step.STABLE,
            f"the file {what}; its document {entry.document_id} was deleted",
            document_deleted=True,
        )
        raise FileChanged(f"{entry.file_name} {what}; it is sent again")
