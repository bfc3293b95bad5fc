"""Starting the agent at login: systemd user unit, XDG autostart, LaunchAgent, Startup folder.

:mod:`agent.autostart.entries` renders the files from the templates in ``packaging/``
(pure); :mod:`agent.autostart.install` writes, removes and checks them.
"""

from agent.autostart.entries import AutostartKind, Launch, kinds_for, render, target_path
from agent.autostart.install import (
    EntryState,
    current_launch,
    default_kind,
    disable,
    enable,
    status,
)

__all__ = [
    "AutostartKind",
    "EntryState",
    "Launch",
    "current_launch",
    "default_kind",
    "disable",
    "enable",
    "kinds_for",
    "render",
    "status",
    "target_path",
]
