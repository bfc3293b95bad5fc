"""Status snapshots as the tray is shown them, for the tray's unit tests."""

from __future__ import annotations

from agent.engine.state import AgentState
from agent.engine.status import Snapshot


def snap(state: AgentState, **kw: object) -> Snapshot:
    """A snapshot in ``state``; ``kw``: any other field of :class:`Snapshot`."""
    return Snapshot(state=state, pid=1, updated_at="", **kw)  # type: ignore[arg-type]
