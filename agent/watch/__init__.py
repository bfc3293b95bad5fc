"""Noticing files: watchdog observers, finished-file detection, ignore rules, rescans.

The engine wires three pieces: :class:`FolderWatcher` forwards changes, a
:class:`StabilityTracker` decides when each file is finished, and :func:`is_ignored` (or
:func:`ignore_under`) keeps temporary files and the agent's own folders out. The names
load their module when first used (watchdog only for the watcher itself), so the
commands that only read the config and the status stay quick to start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.lazy import lazy_names

if TYPE_CHECKING:
    from agent.watch.events import EventKind
    from agent.watch.ignore import ignore_under, is_agent_owned, is_ignored, is_ignored_path
    from agent.watch.observer import FolderWatcher, RootState
    from agent.watch.stability import FileStat, StabilitySettings, StabilityTracker, stat_file

_WHERE = {
    "EventKind": "agent.watch.events",
    "ignore_under": "agent.watch.ignore",
    "is_agent_owned": "agent.watch.ignore",
    "is_ignored": "agent.watch.ignore",
    "is_ignored_path": "agent.watch.ignore",
    "FolderWatcher": "agent.watch.observer",
    "RootState": "agent.watch.observer",
    "FileStat": "agent.watch.stability",
    "StabilitySettings": "agent.watch.stability",
    "StabilityTracker": "agent.watch.stability",
    "stat_file": "agent.watch.stability",
}


__getattr__ = lazy_names(__name__, _WHERE)


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
