"""Turning watchdog's events into observations for finished-file detection.

The handler runs on watchdog's dispatch thread, so it only translates and forwards; the one
piece of I/O it does is walking a folder that was moved in, so that each file inside is
reported as ``MOVED_IN`` (events queue meanwhile; none are lost). It never raises: an
exception would end watchdog's thread, and the periodic rescan catches whatever a failed
event would have reported.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

from watchdog.events import (
    DirDeletedEvent,
    DirMovedEvent,
    FileAttribEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)

from agent.watch.events import EventKind
from agent.watch.scan import walk_folders

logger = logging.getLogger(__name__)

#: One translated change: the path, what happened to it, and whether it is a folder.
Change = tuple[Path, EventKind, bool]


def _path(raw: bytes | str) -> Path | None:
    return Path(os.fsdecode(raw)) if raw else None


def translate(event: FileSystemEvent) -> list[Change]:
    """What a watchdog event means for finished-file detection (no I/O).

    Opens, closes without writing and folder modifications mean nothing; a move is the
    source leaving (``DELETED``) and the destination arriving (``MOVED_IN``); a move from
    outside the watched tree has no source, a move out of it no destination. A synthetic
    creation (a file found in a new folder) is ``SCANNED``.
    """
    src = _path(event.src_path)
    if isinstance(event, FileMovedEvent | DirMovedEvent):
        is_dir = isinstance(event, DirMovedEvent)
        changes: list[Change] = []
        if src is not None:
            changes.append((src, EventKind.DELETED, is_dir))
        dest = _path(event.dest_path)
        if dest is not None:
            changes.append((dest, EventKind.MOVED_IN, is_dir))
        return changes
    if src is None:
        return []
    if isinstance(event, FileCreatedEvent):
        # A synthetic creation is a file found in a folder that was just made or moved in,
        # maybe written and closed before the folder's watch was there: found, not seen
        # being made, so it must not wait for a close that may have come already.
        return [(src, EventKind.SCANNED if event.is_synthetic else EventKind.CREATED, False)]
    if isinstance(event, FileModifiedEvent):
        return [(src, EventKind.MODIFIED, False)]
    if isinstance(event, FileAttribEvent):
        return [(src, EventKind.ATTRIB, False)]
    if isinstance(event, FileClosedEvent):
        return [(src, EventKind.CLOSED_WRITE, False)]
    if isinstance(event, FileDeletedEvent):
        return [(src, EventKind.DELETED, False)]
    if isinstance(event, DirDeletedEvent):
        return [(src, EventKind.DELETED, True)]
    return []


#: The events :func:`translate` gives a meaning to: the only ones an observer is asked to
#: report (its ``event_filter``). Opens, closes without writing and folder modifications
#: — an inotify event for every read of a file, the agent's own hashing and uploading
#: included, and one for the folder of every change — never reach Python at all.
TRANSLATED_EVENTS: tuple[type[FileSystemEvent], ...] = (
    FileMovedEvent,
    DirMovedEvent,
    FileCreatedEvent,
    FileModifiedEvent,
    FileAttribEvent,
    FileClosedEvent,
    FileDeletedEvent,
    DirDeletedEvent,
)


class ForwardingHandler(FileSystemEventHandler):
    """Forwards the changes under one root to ``on_event``, skipping ignored paths."""

    def __init__(
        self,
        root: Path,
        *,
        on_event: Callable[[Path, EventKind], None],
        ignore: Callable[[Path], bool],
    ) -> None:
        super().__init__()
        self._root = root
        self._on_event = on_event
        self._ignore = ignore

    def dispatch(self, event: FileSystemEvent) -> None:
        try:
            for path, kind, is_dir in translate(event):
                if path == self._root or self._ignore(path):
                    continue
                if is_dir and kind is EventKind.MOVED_IN:
                    self._moved_in_folder(path)
                else:
                    self._on_event(path, kind)
        except Exception:
            logger.exception(
                "Could not handle a change under %s (%s); the next rescan will pick it up.",
                self._root,
                type(event).__name__,
            )

    def _moved_in_folder(self, folder: Path) -> None:
        try:
            for _, files in walk_folders(folder, self._ignore):
                for path in files:
                    self._on_event(path, EventKind.MOVED_IN)
        except FileNotFoundError:
            return  # moved away again before we looked; its own events say so
