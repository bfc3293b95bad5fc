"""Marker files: how a folder the agent created knows what it is for.

Each folder the agent creates holds a hidden ``.kompliant-folder.json`` that names its kind,
its workflow, its required documents and a random folder id. The mapping from folders to
Kompliant ids is read from these markers and never from folder names: a file manager rename
moves the marker along with the folder, so a renamed ``Bank statements`` folder still routes
to the same required document. A folder moved out of the root takes its marker along but is
no longer scanned, so it stops being watched. A copied folder carries a copy of the marker
and routes to the same required documents, which is what a copy means.

The marker and the notice files are agent-owned names: the watcher ignores them
(:data:`agent.watch.ignore.AGENT_OWNED`) and routing never treats them as documents.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import tempfile
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path
from typing import Any

from agent.atomic import write_atomically
from agent.owned_names import AGENT_OWNED

log = logging.getLogger(__name__)

# The names are spelt once, in the watcher's set of agent-owned names, so the watcher skips
# exactly what this module writes.
MARKER_NAME = AGENT_OWNED.folder_marker
NOTICE_INACTIVE = AGENT_OWNED.inactive_notice
NOTICE_ENDED = AGENT_OWNED.ended_notice
#: Files the agent writes inside the tree; never documents, never to be uploaded.
AGENT_OWNED_NAMES = AGENT_OWNED.files
MARKER_VERSION = 1


class FolderKind(Enum):
    WORKFLOW = "workflow"
    REQUIREMENT = "requirement"
    INBOX = "inbox"
    UPLOAD_ONLY = "upload_only"
    COMBINED = "combined"


@dataclass(frozen=True)
class Marker:
    """What one folder is for. ``inactive`` / ``ended`` record what was last marked."""

    kind: FolderKind
    folder_id: str
    workflow_id: str
    subject_record_id: str
    required_document_ids: tuple[str, ...] = ()
    title: str = ""
    combined_name: str = ""
    inactive: bool = False
    ended: bool = False

    def with_flags(self, *, inactive: bool | None = None, ended: bool | None = None) -> Marker:
        return replace(
            self,
            inactive=self.inactive if inactive is None else inactive,
            ended=self.ended if ended is None else ended,
        )

    def to_data(self) -> dict[str, Any]:
        return {
            "version": MARKER_VERSION,
            "about": "Written by kompliant-agent: it maps this folder to Kompliant. "
            "Keep it; renaming or moving the folder inside the root is fine.",
            "kind": self.kind.value,
            "folder_id": self.folder_id,
            "workflow_id": self.workflow_id,
            "subject_record_id": self.subject_record_id,
            "required_document_ids": list(self.required_document_ids),
            "title": self.title,
            "combined_name": self.combined_name,
            "inactive": self.inactive,
            "ended": self.ended,
        }


class MarkerUnreadable(Exception):
    """The marker exists but cannot be used; ``reason`` is a sentence for a person."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_marker(data: object) -> Marker:
    """A :class:`Marker` from decoded JSON; :class:`MarkerUnreadable` says what is wrong."""
    if not isinstance(data, dict):
        raise MarkerUnreadable("its content is not a JSON object")
    version = data.get("version")
    if version != MARKER_VERSION:
        raise MarkerUnreadable(f"it has version {version!r}, this agent reads {MARKER_VERSION}")
    try:
        kind = FolderKind(data.get("kind"))
    except ValueError:
        raise MarkerUnreadable(f"its kind {data.get('kind')!r} is unknown") from None
    workflow_id = data.get("workflow_id")
    folder_id = data.get("folder_id")
    ids = data.get("required_document_ids", [])
    if not isinstance(workflow_id, str) or not workflow_id.startswith("w_"):
        raise MarkerUnreadable("it names no workflow")
    if not isinstance(folder_id, str) or not folder_id:
        raise MarkerUnreadable("it has no folder id")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise MarkerUnreadable("its required document ids are not a list of ids")
    if kind in (FolderKind.REQUIREMENT, FolderKind.COMBINED) and not ids:
        raise MarkerUnreadable("it names no required document")
    return Marker(
        kind=kind,
        folder_id=folder_id,
        workflow_id=workflow_id,
        subject_record_id=str(data.get("subject_record_id") or ""),
        required_document_ids=tuple(ids),
        title=str(data.get("title") or ""),
        combined_name=str(data.get("combined_name") or ""),
        inactive=data.get("inactive") is True,
        ended=data.get("ended") is True,
    )


def read_marker(folder: Path) -> Marker | None:
    """The marker of ``folder``; ``None`` when it has none; :class:`MarkerUnreadable` if bad."""
    try:
        raw = (folder / MARKER_NAME).read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise MarkerUnreadable(f"it cannot be read ({error.strerror or error})") from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise MarkerUnreadable("it is not valid JSON") from None
    return parse_marker(data)


def still_marked(folder: Path, folder_id: str) -> bool:
    """Whether ``folder`` exists and still carries the marker with ``folder_id``.

    A folder the agent read at one path may have been renamed, moved or deleted since:
    the agent writes into a folder only after this says it is still the one it knew.
    """
    try:
        marker = read_marker(folder)
    except MarkerUnreadable:
        return False
    return marker is not None and marker.folder_id == folder_id


def write_into_marked(folder: Path, name: str, data: bytes, folder_id: str) -> bool:
    """Write the agent's file ``name`` (a notice) atomically into ``folder`` — only when
    the folder is still the marked one (:func:`still_marked`); never creates a folder.
    Whether it was written."""
    if not still_marked(folder, folder_id):
        log.info("not writing %s: %s is no longer the folder it was", name, folder)
        return False
    write_in(folder, name, data)
    return True


def write_in(folder: Path, name: str, data: bytes) -> None:
    """Write ``folder/name`` atomically; the folder must exist (it is never created)."""
    fd, temp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, folder / name)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise


def write_marker(folder: Path, marker: Marker) -> None:
    """Write ``folder``'s marker atomically and hide it (Windows needs an attribute for that)."""
    path = folder / MARKER_NAME
    text = json.dumps(marker.to_data(), indent=2, ensure_ascii=False) + "\n"
    _set_hidden(path, False)  # Windows refuses to replace a hidden file
    write_atomically(path, text.encode("utf-8"))
    _set_hidden(path, True)


def _set_hidden(path: Path, hidden: bool) -> None:
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import ctypes

        if not path.exists():
            return
        attributes = 0x2 if hidden else 0x80  # FILE_ATTRIBUTE_HIDDEN / FILE_ATTRIBUTE_NORMAL
        with contextlib.suppress(OSError):
            ctypes.windll.kernel32.SetFileAttributesW(str(path), attributes)
