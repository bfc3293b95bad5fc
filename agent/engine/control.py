"""Commands from other processes (pause, resume, refresh, retry) to the running agent.

A small JSON file in the profile's state folder, written atomically. The running agent
reads it on every loop turn (a stat, then a read when the mtime changed), so the commands
need no socket and work the same on every platform. ``paused`` is a lasting setting
(it survives a restart, as a user who paused expects); ``refresh`` and ``retry`` are
requests, numbered so that each is carried out once.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from agent.atomic import write_atomically

CONTROL_FILE = "control.json"


@dataclass(frozen=True)
class Control:
    paused: bool = False
    refresh_requests: int = 0
    retry_requests: int = 0


def read_control(state_dir: Path) -> Control:
    try:
        raw = json.loads((state_dir / CONTROL_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Control()
    if not isinstance(raw, dict):
        return Control()
    return Control(
        paused=bool(raw.get("paused", False)),
        refresh_requests=int(raw.get("refresh_requests", 0) or 0),
        retry_requests=int(raw.get("retry_requests", 0) or 0),
    )


def write_control(state_dir: Path, control: Control) -> None:
    write_atomically(state_dir / CONTROL_FILE, json.dumps(asdict(control)))


def set_paused(state_dir: Path, paused: bool) -> Control:
    control = replace(read_control(state_dir), paused=paused)
    write_control(state_dir, control)
    return control


def request_refresh(state_dir: Path) -> Control:
    current = read_control(state_dir)
    control = replace(current, refresh_requests=current.refresh_requests + 1)
    write_control(state_dir, control)
    return control


def request_retry(state_dir: Path) -> Control:
    current = read_control(state_dir)
    control = replace(current, retry_requests=current.retry_requests + 1)
    write_control(state_dir, control)
    return control


class ControlWatcher:
    """Tells the engine loop what changed in the control file since the last look."""

    def __init__(self, state_dir: Path) -> None:
        self._state_dir = state_dir
        self._mtime: int | None = None
        self.current = read_control(state_dir)
        self._seen_refresh = self.current.refresh_requests
        self._seen_retry = self.current.retry_requests

    def poll(self) -> tuple[Control, bool, bool]:
        """(control, refresh requested, retry requested) since the previous poll."""
        try:
            mtime = (self._state_dir / CONTROL_FILE).stat().st_mtime_ns
        except OSError:
            mtime = None
        if mtime != self._mtime:
            self._mtime = mtime
            self.current = read_control(self._state_dir)
        refresh = self.current.refresh_requests > self._seen_refresh
        retry = self.current.retry_requests > self._seen_retry
        self._seen_refresh = self.current.refresh_requests
        self._seen_retry = self.current.retry_requests
        return self.current, refresh, retry
