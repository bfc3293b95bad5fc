"""What the watcher tells finished-file detection about a file."""

from __future__ import annotations

import enum


class EventKind(enum.Enum):
    """One observation of a file in a watched folder.

    ``CLOSED_WRITE`` exists only where the system reports a close after writing (inotify on
    Linux); everywhere else, and for polled folders, a finished file is judged from its size
    and modification time staying equal.
    """

    CREATED = "created"
    MODIFIED = "modified"
    ATTRIB = "attrib"  # mode, times or extended attributes changed (inotify), not content
    CLOSED_WRITE = "closed_write"
    MOVED_IN = "moved_in"
    SCANNED = "scanned"
    DELETED = "deleted"
