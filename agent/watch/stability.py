"""When a file counts as finished (being written no more)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StabilitySettings:
    """Finished-file detection for one folder.

    With inotify, a close-after-write lets a file go after ``close_confirm_seconds`` of
    quiet; otherwise a file goes after ``quiet_seconds`` of quiet plus an equal re-stat.
    ``max_wait_seconds`` bounds the wait for a file that is touched all the time.
    """

    quiet_seconds: float = 2.0
    close_confirm_seconds: float = 0.25
    max_wait_seconds: float = 300.0
    polling: bool = False
    poll_interval: float = 1.0
