"""A clock that moves only when the test says so."""

from __future__ import annotations

from datetime import UTC, datetime


class FakeClock:
    """Seconds (``now``) that move by :meth:`advance` or :meth:`sleep`, never by themselves.

    Call it for the time (a monotonic clock or a wall clock in seconds since the epoch);
    :meth:`datetime` gives the same moment as an aware UTC datetime. :meth:`sleep` records
    each wait in ``sleeps`` and moves the clock instead of waiting.
    """

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def datetime(self) -> datetime:
        return datetime.fromtimestamp(self.now, UTC)

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0, f"asked to sleep {seconds} s"
        self.sleeps.append(seconds)
        self.now += seconds
