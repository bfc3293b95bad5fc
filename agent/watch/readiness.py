"""The look inside a file that stopped changing: is it really finished?

Timing (close events, quiet periods) says a writer paused. Before a file is claimed,
two cheap looks say whether it is done:

1. **Still open for writing?** (:mod:`agent.watch.leases`) A writer that holds the file
   open is not done, however long it pauses.
2. **Whole?** (:mod:`agent.content.ends`) A PDF, JPEG, PNG or ZIP-based file without its
   end marker is not done, whatever the close events say; a 0-byte file is a placeholder.

A file that cannot be read here is "ready": the claim and the upload then say what is
wrong with it, with a note.
"""

from __future__ import annotations

import enum
import os
from pathlib import Path

from agent.content.ends import Completeness, completeness, cut_short
from agent.content.filetype import kind_of
from agent.errors import StillWriting
from agent.watch.leases import open_for_writing


class Readiness(enum.Enum):
    """What a look inside a file that stopped changing found."""

    READY = "ready"  # nothing says it is not finished (a format without an end marker)
    WHOLE = "whole"  # ready, and its format's end marker is there
    WRITING = "writing"  # another program still has it open for writing
    INCOMPLETE = "incomplete"  # a format with an end marker, and the end is not there yet
    EMPTY = "empty"  # 0 bytes: a placeholder, the data comes later
    CHANGING = "still changing"  # past the maximum wait and still changing (timing, not a look)


def inspect(path: Path, size: int) -> Readiness:
    """Look at the file ``path`` of ``size`` bytes (its stat as the tracker last saw it)."""
    if size == 0:
        return Readiness.EMPTY
    if open_for_writing(path):
        return Readiness.WRITING
    try:
        found = completeness(path)
    except (OSError, ValueError):
        return Readiness.READY
    if found is Completeness.INCOMPLETE:
        return Readiness.INCOMPLETE
    if found is Completeness.EMPTY:  # emptied since the stat
        return Readiness.EMPTY
    if found is Completeness.WHOLE:
        return Readiness.WHOLE
    return Readiness.READY


def still_finished(path: Path, name: str, *, incomplete_seconds: float, now: float) -> None:
    """Look again at a claimed file before it is read: a writer may have gone on after the
    claim. Raises :class:`~agent.errors.StillWriting` while it is open for writing or
    without its end, and the cut-short refusal once it has been without its end and
    unchanged for ``incomplete_seconds`` (``now`` is wall-clock time, as mtimes are)."""
    try:
        st = os.stat(path)
    except OSError:
        return  # reading it says what is wrong
    found = inspect(path, st.st_size)
    if found is Readiness.WRITING:
        raise StillWriting(f"{name} is still open for writing in a program")
    if found is Readiness.INCOMPLETE:
        unchanged = now - st.st_mtime
        if unchanged >= incomplete_seconds:
            try:
                kind = kind_of(path)
            except (OSError, ValueError):
                kind = None
            raise cut_short(name, kind, unchanged_for=unchanged)
        raise StillWriting(f"{name} is not whole yet (its end is missing)")
