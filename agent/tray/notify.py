"""When to show a notification: failures that need the user and files that need routing.

A policy with an injected clock, so it is tested without waiting. New failures are
gathered for a short while and shown as one notice; after a notice the next one waits at
least ``min_interval`` — a batch of 500 failing files gives one summary, not 500 pop-ups.
Snoozing holds notices back; when the snooze ends, one summary tells what happened.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from agent.engine.state import AgentState
from agent.engine.status import Snapshot

GATHER_SECONDS = 3.0  # wait this long after the first new failure, to take in a burst
MIN_INTERVAL = 60.0  # at most one notice a minute
SNOOZE_SECONDS = 3600.0


@dataclass(frozen=True)
class Notice:
    title: str
    body: str


@dataclass(frozen=True)
class _Totals:
    failed: int = 0
    needs_routing: int = 0


def _totals(snapshot: Snapshot) -> _Totals:
    return _Totals(
        failed=sum(f.failed for f in snapshot.folders),
        needs_routing=sum(f.needs_routing for f in snapshot.folders),
    )


class NotificationPolicy:
    """Feed it every snapshot (:meth:`observe`) and call :meth:`due` now and then."""

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        gather: float = GATHER_SECONDS,
        min_interval: float = MIN_INTERVAL,
    ) -> None:
        self._clock = clock
        self._gather = gather
        self._min_interval = min_interval
        self._seen: _Totals | None = None  # totals already told (or there at start)
        self._new_failed = 0
        self._new_routing = 0
        self._problem: str | None = None  # an ERROR state's problem not yet told
        self._told_problem: str | None = None
        self._first_new_at: float | None = None
        self._last_notice_at: float | None = None
        self._snoozed_until: float | None = None

    # -- snooze ------------------------------------------------------------------------

    def snooze(self, seconds: float = SNOOZE_SECONDS) -> float:
        """Hold notices back for ``seconds``; returns when the snooze ends (clock time)."""
        self._snoozed_until = self._clock() + seconds
        return self._snoozed_until

    def unsnooze(self) -> None:
        self._snoozed_until = None

    def snooze_left(self) -> float | None:
        """Seconds until the snooze ends; None when not snoozed."""
        until = self.snoozed_until()
        return None if until is None else until - self._clock()

    def snoozed_until(self) -> float | None:
        if self._snoozed_until is not None and self._clock() >= self._snoozed_until:
            self._snoozed_until = None
        return self._snoozed_until

    # -- input -------------------------------------------------------------------------

    def observe(self, snapshot: Snapshot) -> Notice | None:
        """Take in a snapshot; returns a notice when one is due now."""
        totals = _totals(snapshot)
        if self._seen is None:
            self._seen = totals  # what was there before the tray started is no news
        else:
            self._new_failed += max(0, totals.failed - self._seen.failed)
            self._new_routing += max(0, totals.needs_routing - self._seen.needs_routing)
            self._seen = totals
        if snapshot.state is AgentState.ERROR:
            problem = snapshot.problems[0] if snapshot.problems else snapshot.message
            if problem != self._told_problem:
                self._problem = problem
        else:
            self._problem = None
            self._told_problem = None
        if self._pending() and self._first_new_at is None:
            self._first_new_at = self._clock()
        return self.due()

    def due(self) -> Notice | None:
        """The summary notice, when the gathering time and the interval have passed."""
        if not self._pending() or self.snoozed_until() is not None:
            return None
        now = self._clock()
        if self._first_new_at is not None and now - self._first_new_at < self._gather:
            return None
        if self._last_notice_at is not None and now - self._last_notice_at < self._min_interval:
            return None
        notice = self._notice()
        self._new_failed = self._new_routing = 0
        self._told_problem, self._problem = self._problem or self._told_problem, None
        self._first_new_at = None
        self._last_notice_at = now
        return notice

    def _pending(self) -> bool:
        return bool(self._new_failed or self._new_routing or self._problem)

    def _notice(self) -> Notice:
        lines = []
        if self._problem:
            lines.append(f"{self._problem}")
        if self._new_failed:
            lines.append(
                f"{self._new_failed} file(s) failed. Choose “Open failed files” in the tray "
                "menu: the .error.txt next to each says why; then “Retry”."
            )
        if self._new_routing:
            lines.append(
                f"{self._new_routing} file(s) in an Inbox match no rule. Move each into the "
                "folder of its required document."
            )
        if self._problem and not (self._new_failed or self._new_routing):
            title = "Kompliant agent: something needs fixing"
        elif self._new_failed:
            title = f"Kompliant agent: {self._new_failed} file(s) failed"
        else:
            title = f"Kompliant agent: {self._new_routing} file(s) need routing"
        return Notice(title=title, body="\n".join(lines))
