"""Which watched folders are polled, and why (pure: the mount table and settings are given).

A folder is polled when its settings say ``polling = true``, or when they leave it open
(``polling`` unset) and the folder is on a network or FUSE file system
(:mod:`agent.watch.mounts`), where changes made elsewhere give no event. ``polling =
false`` forces events. ``status`` and ``doctor`` show each polled folder as
"network folder — checked every N s".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from agent.watch.mounts import Mount, describe, network_mounts_below
from agent.watch.stability import StabilitySettings

FORCED = "polling = true in the config"
INOTIFY_LIMIT = "the system's limit on watched folders is reached"


@dataclass(frozen=True)
class PolledFolder:
    """A folder checked by polling: how often, and why."""

    path: Path
    interval: float
    reason: str  # the file system of a network folder ("nfs4", "FUSE"), or why else polled
    network: bool = False

    def describe(self) -> str:
        """One line for ``status`` and ``doctor``."""
        every = f"checked every {self.interval:g} s"
        if self.network:
            return f"network folder — {every}: {self.path} ({self.reason})"
        return f"polled folder — {every}: {self.path} ({self.reason})"


def polling_reason(
    folder: Path, settings: StabilitySettings, table: Sequence[Mount]
) -> tuple[str | None, bool]:
    """Why ``folder`` is polled (a network folder's file system, or what else) and whether
    for being a network folder; ``None`` when it is not polled."""
    if settings.polling is True:
        return FORCED, False
    if settings.polling is False:
        return None, False
    kind = describe(folder, table).network
    if kind is None:
        return None, False
    return kind, True


def network_inside(
    root: Path, table: Sequence[Mount], settings_for: Callable[[Path], StabilitySettings]
) -> dict[Path, str]:
    """Network and FUSE mounts inside ``root`` whose settings do not force events."""
    return {
        system.path: system.network
        for system in network_mounts_below(root, table)
        if system.network is not None and settings_for(system.path).polling is not False
    }
