"""What the tray says about a snapshot: the menu's first line and the tooltip.

Pure. The tooltip names the batch being sent ("uploading 3 of 10"), which a single
snapshot does not know: :class:`Batch` follows the snapshots and counts the files
settled since the agent started working.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.engine.state import AgentState
from agent.engine.status import Snapshot

TOOLTIP_LIMIT = 120  # some tray hosts cut longer tooltips (Windows: 127 characters)
PREFIX = "Kompliant"


def to_do(snapshot: Snapshot) -> int:
    return sum(f.waiting + f.in_progress for f in snapshot.folders) + snapshot.checking


def failed(snapshot: Snapshot) -> int:
    return sum(f.failed for f in snapshot.folders)


def routing(snapshot: Snapshot) -> int:
    return sum(f.needs_routing for f in snapshot.folders)


def settled(snapshot: Snapshot) -> int:
    return sum(f.done + f.failed for f in snapshot.folders)


def files(n: int) -> str:
    return f"{n} file" if n == 1 else f"{n} files"


def files_wait(n: int) -> str:
    return f"{files(n)} {'waits' if n == 1 else 'wait'}"


@dataclass(frozen=True)
class Batch:
    """The files of one stretch of work: ``start`` files were settled when it began."""

    start: int | None = None

    def follow(self, snapshot: Snapshot) -> Batch:
        """The batch after ``snapshot``: a new one when work starts, none when it ends."""
        working = snapshot.state is AgentState.WORKING
        if not working:
            return Batch()
        if self.start is None:
            return Batch(settled(snapshot))
        return self

    def position(self, snapshot: Snapshot) -> tuple[int, int] | None:
        """(number of the file being sent, files in the batch), while sending."""
        if self.start is None or not snapshot.uploads:
            return None
        done = max(0, settled(snapshot) - self.start)
        total = done + to_do(snapshot)
        return min(done + 1, total), max(total, 1)


def status_line(snapshot: Snapshot, batch: Batch | None = None) -> str:
    """The menu's first line: the state in words."""
    state = snapshot.state
    if state is AgentState.WORKING:
        where = (batch or Batch()).position(snapshot)
        if snapshot.uploads:
            name = snapshot.uploads[0][0]
            if where is not None:
                return f"Uploading {where[0]} of {where[1]}: {name}"
            return f"Uploading {name}, {to_do(snapshot)} to do"
        return f"Working: {files(to_do(snapshot))} to do"
    if state is AgentState.PAUSED:
        waiting = to_do(snapshot)
        return f"Paused: {files_wait(waiting)}" if waiting else "Paused"
    if state is AgentState.OFFLINE:
        return "Offline: Kompliant is unreachable, retrying"
    if state is AgentState.ATTENTION:
        parts = [f"{failed(snapshot)} failed"] if failed(snapshot) else []
        parts += [f"{routing(snapshot)} need routing"] if routing(snapshot) else []
        return "Needs you: " + ", ".join(parts or ["see the folders"])
    if state is AgentState.ERROR:
        return "Problem: " + (snapshot.problems[0] if snapshot.problems else snapshot.message)
    return "All files are settled"


def tooltip(snapshot: Snapshot, batch: Batch | None = None) -> str:
    """One line for the icon's tooltip / title, e.g.
    ``Kompliant: uploading 3 of 10 — Bank statement.pdf 45 %``."""
    state = snapshot.state
    waiting = to_do(snapshot)
    extra = []
    if state is AgentState.WORKING and snapshot.uploads:
        name, percent = snapshot.uploads[0]
        where = (batch or Batch()).position(snapshot)
        head = f"uploading {where[0]} of {where[1]}" if where else "uploading"
        text = f"{head} — {name} {percent} %"
    elif state is AgentState.WORKING:
        text = f"{files(waiting)} to do"
    elif state is AgentState.PAUSED:
        text = "paused" + (f" — {files_wait(waiting)}" if waiting else "")
    elif state is AgentState.OFFLINE:
        text = "offline, retrying" + (f" — {files_wait(waiting)}" if waiting else "")
    elif state is AgentState.ERROR:
        text = snapshot.problems[0] if snapshot.problems else snapshot.message
    elif state is AgentState.ATTENTION:
        text = "needs you"
    else:
        text = "all files are settled"
    if failed(snapshot) and state is not AgentState.ERROR:
        extra.append(f"{failed(snapshot)} failed")
    if routing(snapshot) and state is not AgentState.ERROR:
        extra.append(f"{routing(snapshot)} need routing")
    line = f"{PREFIX}: {text}" + (f" ({', '.join(extra)})" if extra else "")
    return line if len(line) <= TOOLTIP_LIMIT else line[: TOOLTIP_LIMIT - 1] + "…"
