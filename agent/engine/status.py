"""What the running agent publishes about itself, for ``status``, the tray and scripts.

The engine writes ``status.json`` in the profile's state folder (atomically) whenever
something changes; ``kompliant-agent status`` reads it together with the journal's
per-folder counts, which another process can read while the agent runs (SQLite WAL).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agent.atomic import write_atomically
from agent.engine.state import AgentState
from agent.journal import FolderCounts

STATUS_FILE = "status.json"
FAILED_LIMIT = 20  # failed files listed one by one (a tray's Failed menu)
RECENT_LIMIT = 10  # files done listed (a tray's Recent menu)


@dataclass(frozen=True)
class FolderStatus:
    key: str
    folder: str
    waiting: int = 0
    in_progress: int = 0
    done: int = 0
    failed: int = 0
    needs_routing: int = 0

    @classmethod
    def from_counts(cls, counts: FolderCounts) -> FolderStatus:
        return cls(
            key=counts.folder_key,
            folder=counts.folder_key,
            waiting=counts.waiting,
            in_progress=counts.in_progress,
            done=counts.done,
            failed=counts.failed,
            needs_routing=counts.needs_routing,
        )


@dataclass(frozen=True)
class FileOutcome:
    """One settled file, for a tray's Failed and Recent lists.

    ``path`` is where the file is now (in ``failed/`` or ``done/``); ``reason`` is what
    its note says went wrong and what to do (failed files only).
    """

    name: str
    path: str
    folder_key: str
    workflow_id: str | None = None
    required_document_ids: tuple[str, ...] = ()
    reason: str = ""
    settled_at: str = ""

    @classmethod
    def from_data(cls, raw: dict[str, Any]) -> FileOutcome:
        return cls(
            name=str(raw.get("name", "")),
            path=str(raw.get("path", "")),
            folder_key=str(raw.get("folder_key", "")),
            workflow_id=None if raw.get("workflow_id") is None else str(raw["workflow_id"]),
            required_document_ids=tuple(str(r) for r in raw.get("required_document_ids", ())),
            reason=str(raw.get("reason", "")),
            settled_at=str(raw.get("settled_at", "")),
        )


@dataclass(frozen=True)
class Snapshot:
    state: AgentState
    pid: int
    updated_at: str
    message: str = ""
    paused: bool = False
    offline: bool = False
    problems: tuple[str, ...] = ()
    checking: int = 0  # files being watched until they are finished
    uploads: tuple[tuple[str, int], ...] = ()  # (file name, percent) of files being sent
    folders: tuple[FolderStatus, ...] = field(default_factory=tuple)
    #: the credentials are missing or Kompliant refused them: someone must sign in
    sign_in_needed: bool = False
    #: the newest failed files still in failed/ (at most FAILED_LIMIT; counts: folders)
    failed_files: tuple[FileOutcome, ...] = ()
    #: the last files done, newest first (at most RECENT_LIMIT)
    recent: tuple[FileOutcome, ...] = ()

    def to_data(self) -> dict[str, Any]:
        data = asdict(self)
        data["state"] = self.state.value
        data["uploads"] = [{"file": name, "percent": pct} for name, pct in self.uploads]
        return data

    @classmethod
    def from_data(cls, raw: dict[str, Any]) -> Snapshot:
        return cls(
            state=AgentState(raw.get("state", "idle")),
            pid=int(raw.get("pid", 0)),
            updated_at=str(raw.get("updated_at", "")),
            message=str(raw.get("message", "")),
            paused=bool(raw.get("paused", False)),
            offline=bool(raw.get("offline", False)),
            problems=tuple(str(p) for p in raw.get("problems", ())),
            checking=int(raw.get("checking", 0)),
            uploads=tuple(
                (str(u.get("file", "")), int(u.get("percent", 0))) for u in raw.get("uploads", ())
            ),
            folders=tuple(FolderStatus(**f) for f in raw.get("folders", ())),
            sign_in_needed=bool(raw.get("sign_in_needed", False)),
            failed_files=tuple(FileOutcome.from_data(f) for f in raw.get("failed_files", ())),
            recent=tuple(FileOutcome.from_data(f) for f in raw.get("recent", ())),
        )


def write_snapshot(state_dir: Path, snapshot: Snapshot) -> None:
    # Rewritten on every change: atomic, not synced (a crash loses only the status).
    text = json.dumps(snapshot.to_data(), indent=1)
    write_atomically(state_dir / STATUS_FILE, text, durable=False)


def read_snapshot(state_dir: Path) -> Snapshot | None:
    """The last snapshot of a running agent; None when no agent runs for the profile."""
    try:
        raw = json.loads((state_dir / STATUS_FILE).read_text(encoding="utf-8"))
        snapshot = Snapshot.from_data(raw)
    except (OSError, ValueError, TypeError, KeyError):
        return None
    return snapshot if _alive(snapshot.pid) else None


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True
