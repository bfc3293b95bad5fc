"""The status snapshot: what the running agent says about itself, and when it says it.

:func:`take_snapshot` is pure: the journal's per-folder counts and what the loop knows
(:class:`EngineFacts`) in, one :class:`agent.engine.status.Snapshot` out, its state the
most urgent that holds (:func:`agent.engine.state.overall_state`). :class:`Publisher`
writes it to ``status.json`` and hands it to a tray, only when something other than the
time changed.

The state tells the truth: ``error`` while something needs fixing (a missing root,
rejected credentials, a bug); ``attention`` while something needs the user — a file in
failed/ or waiting for routing, a full disk, a file that is not a regular one — also
while other files are being uploaded; never for a failed file that was retried, deleted
or moved away (the journal's counts are of what is there now). Each file in failed/ is
one more problem line saying why (:func:`failed_lines`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from agent.engine.problems import CREDENTIALS, is_error, needs_user
from agent.engine.state import AgentState, overall_state
from agent.engine.status import (
    FAILED_LIMIT,
    RECENT_LIMIT,
    FileOutcome,
    FolderStatus,
    Snapshot,
    write_snapshot,
)
from agent.engine.watch_notes import NOTE_TOPICS
from agent.journal import Entry, FolderCounts, Journal, Outcome

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EngineFacts:
    """What the loop knows besides the journal."""

    paused: bool
    offline: bool
    problems: Mapping[str, str]  # topic → sentence (agent.engine.problems)
    busy: bool  # a file is being worked on or scheduled again
    checking: int  # files watched until finished, or finished and waiting to be claimed
    uploads: tuple[tuple[str, int], ...] = ()  # (file name, percent) of files being sent
    failed_files: tuple[FileOutcome, ...] = ()  # the newest failed files still in failed/
    recent: tuple[FileOutcome, ...] = ()  # the last files done


def take_snapshot(
    facts: EngineFacts, counts: Sequence[FolderCounts], *, pid: int, updated_at: str
) -> Snapshot:
    folders = tuple(FolderStatus.from_counts(c) for c in counts)
    problems = facts.problems
    waits_for_user = any(needs_user(topic) for topic in problems)
    state = overall_state(
        paused=facts.paused,
        offline=facts.offline,
        error=any(is_error(topic) for topic in problems),
        busy=(facts.busy or facts.checking > 0) and not waits_for_user,
        needs_user=waits_for_user or any(f.failed or f.needs_routing for f in folders),
    )
    return Snapshot(
        state=state,
        pid=pid,
        updated_at=updated_at,
        message=message(state, problems),
        paused=facts.paused,
        offline=facts.offline,
        problems=tuple(problems.values()),
        checking=facts.checking,
        uploads=facts.uploads,
        folders=folders,
        sign_in_needed=CREDENTIALS in problems,
        failed_files=facts.failed_files,
        recent=facts.recent,
    )


class SettledFiles:
    """The failed and the recent files a snapshot lists, from the journal — read again
    only when the counts change (a file settled, retried or gone), not every loop turn."""

    def __init__(self, journal: Journal) -> None:
        self._journal = journal
        self._key: object = None
        self._files: tuple[tuple[FileOutcome, ...], tuple[FileOutcome, ...]] = ((), ())

    def of(
        self, counts: Sequence[FolderCounts]
    ) -> tuple[tuple[FileOutcome, ...], tuple[FileOutcome, ...]]:
        """(failed files still in failed/, newest first; the last files done)."""
        key = tuple(counts)
        if key == self._key:
            return self._files
        self._key = key
        any_failed = any(c.failed for c in counts)
        failed = self._journal.settled(Outcome.FAILED, FAILED_LIMIT) if any_failed else []
        done = self._journal.settled(Outcome.DONE, RECENT_LIMIT)
        self._files = (
            # a failed file moved back or deleted by hand is no longer listed; a file
            # that failed again where it failed before is listed once, as it is now
            _newest_per_path(e for e in failed if e.final_path and e.final_path.exists()),
            tuple(outcome(e) for e in done),
        )
        return self._files


def _newest_per_path(entries: Iterable[Entry]) -> tuple[FileOutcome, ...]:
    seen: set[Path] = set()
    listed = []
    for entry in entries:  # newest first
        if entry.final_path is not None and entry.final_path not in seen:
            seen.add(entry.final_path)
            listed.append(outcome(entry))
    return tuple(listed)


def outcome(entry: Entry) -> FileOutcome:
    """A settled journal entry as the snapshot lists it."""
    final = entry.final_path
    return FileOutcome(
        name=final.name if final is not None else entry.file_name,
        path=str(final) if final is not None else "",
        folder_key=entry.folder_key,
        workflow_id=entry.workflow_id,
        required_document_ids=tuple(entry.required_document_ids),
        reason=(entry.message or "") if entry.outcome is Outcome.FAILED else "",
        settled_at=entry.updated_at.isoformat(timespec="seconds") if entry.updated_at else "",
    )


#: At most this many failed files are named in the status, one line each.
FAILED_LINES = 5


def failed_lines(failed: Sequence[tuple[str, str, str]]) -> dict[str, str]:
    """Problem lines (topic → sentence) for files waiting in failed/: (file name, folder,
    the note's reason) each, the first :data:`FAILED_LINES` of them and a count of the
    rest (pure)."""
    lines: dict[str, str] = {}
    for name, folder, reason in failed[:FAILED_LINES]:
        lines[f"failed:{folder}/{name}"] = (
            f"{name} failed: {reason.strip()} It is in failed/ in {folder}, with a note."
        )
    rest = len(failed) - FAILED_LINES
    if rest > 0:
        lines["failed:more"] = f"… and {rest} more failed file(s); see failed/ in their folders."
    return lines


def stopped(snapshot: Snapshot) -> Snapshot:
    """The last word of an agent that stops: its folders' counts, no pid."""
    return Snapshot(
        state=snapshot.state,
        pid=0,
        updated_at=snapshot.updated_at,
        message="the agent is not running",
        folders=snapshot.folders,
    )


def message(state: AgentState, problems: Mapping[str, str]) -> str:
    """The first problem; a note (a polled folder) is listed but never the headline."""
    told = [text for topic, text in problems.items() if not topic.startswith(NOTE_TOPICS)]
    if told:
        return told[0]
    return {
        AgentState.IDLE: "All files are settled.",
        AgentState.WORKING: "Uploading files.",
        AgentState.PAUSED: "Paused: new files wait until you resume.",
        AgentState.OFFLINE: "Kompliant is unreachable; retrying.",
        AgentState.ATTENTION: "Some files need you: see failed/ or the inbox.",
        AgentState.ERROR: "Something needs fixing.",
    }[state]


class Publisher:
    def __init__(self, state_dir: Path, on_snapshot: Callable[[Snapshot], None] | None) -> None:
        self._state_dir = state_dir
        self._on_snapshot = on_snapshot
        self._last: Snapshot | None = None

    def publish(self, snapshot: Snapshot) -> None:
        """Write and hand on ``snapshot`` if it says something new."""
        if self._last is not None and _same(self._last, snapshot):
            return
        self._last = snapshot
        try:
            write_snapshot(self._state_dir, snapshot)
        except OSError as error:
            log.warning("cannot write the status file: %s", error)
        if self._on_snapshot is not None:
            self._on_snapshot(snapshot)


def _same(a: Snapshot, b: Snapshot) -> bool:
    return a.to_data() | {"updated_at": ""} == b.to_data() | {"updated_at": ""}
