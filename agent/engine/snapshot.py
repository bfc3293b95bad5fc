"""The status snapshot: what the running agent says about itself, and when it says it.

:func:`take_snapshot` is pure: the journal's per-folder counts and what the loop knows
(:class:`EngineFacts`) in, one :class:`agent.engine.status.Snapshot` out, its state the
most urgent that holds (:func:`agent.engine.state.overall_state`). :class:`Publisher`
writes it to ``status.json`` and hands it to a tray, only when something other than the
time changed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from agent.engine.problems import CREDENTIALS, ROOT
from agent.engine.state import AgentState, overall_state
from agent.engine.status import FolderStatus, Snapshot, write_snapshot
from agent.engine.watch_notes import NOTE_TOPICS
from agent.journal import FolderCounts

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


def take_snapshot(
    facts: EngineFacts, counts: Sequence[FolderCounts], *, pid: int, updated_at: str
) -> Snapshot:
    folders = tuple(FolderStatus.from_counts(c) for c in counts)
    problems = facts.problems
    needs_user = any(f.failed or f.needs_routing for f in folders)
    state = overall_state(
        paused=facts.paused,
        offline=facts.offline,
        error=ROOT in problems or CREDENTIALS in problems,
        busy=facts.busy or facts.checking > 0,
        needs_user=needs_user,
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
    )


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
