"""Noticing files: watchdog observers, finished-file detection, ignore rules, rescans.

The engine wires three pieces: :class:`FolderWatcher` forwards changes, a
:class:`StabilityTracker` decides when each file is finished, and :func:`is_ignored` (or
:func:`ignore_under`) keeps temporary files and the agent's own folders out.
"""

from agent.watch.events import EventKind
from agent.watch.ignore import (
    ignore_under,
    is_agent_owned,
    is_ignored,
    is_ignored_path,
)
from agent.watch.observer import FolderWatcher, RootState
from agent.watch.stability import FileStat, StabilitySettings, StabilityTracker, stat_file

__all__ = [
    "EventKind",
    "FileStat",
    "FolderWatcher",
    "RootState",
    "StabilitySettings",
    "StabilityTracker",
    "ignore_under",
    "is_agent_owned",
    "is_ignored",
    "is_ignored_path",
    "stat_file",
]
