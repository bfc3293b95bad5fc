"""When the running agent lists each watched required document's fulfillments.

Policy apart from mechanism: this only answers "which required documents now?", with the
clock injected, so the rate bound is tested without waiting. The engine makes the calls.

- Every required document is checked once per ``interval``; when the set is first
  watched their first checks are spread evenly over one interval, so the calls do not
  come in bursts.
- Never more than ``calls_per_minute`` checks in any 60 seconds, whatever asks for them
  (a refresh request, a file just linked): what is over the budget waits its turn, the
  longest-waiting first.
- A check that failed (Kompliant unreachable, throttled) is tried again after
  ``retry_after_error`` seconds, or the interval if that is shorter.
- A file just linked asks for a check of its required document at once, but a burst of
  files into one required document asks for one every ``linked_spacing`` seconds at the
  most: each check lists every fulfillment the required document has, so checks after
  every link of a burst would cost more and more as the burst goes on, and tell nothing
  the next one does not.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

#: (workflow id, required document id)
Key = tuple[str, str]

WINDOW = 60.0


@dataclass(frozen=True)
class ReviewPacing:
    interval: float = 300.0
    calls_per_minute: int = 30
    retry_after_error: float = 60.0
    linked_spacing: float = 10.0


class ReviewSchedule:
    def __init__(self, pacing: ReviewPacing, clock: Callable[[], float]) -> None:
        if pacing.calls_per_minute < 1 or pacing.interval <= 0:
            raise ValueError("the review pacing needs a positive interval and rate")
        self.pacing = pacing
        self._clock = clock
        self._due: dict[Key, float] = {}
        self._checked: dict[Key, float] = {}  # when each was last taken
        self._calls: deque[float] = deque()

    @property
    def keys(self) -> frozenset[Key]:
        return frozenset(self._due)

    def watch(self, keys: Iterable[Key]) -> None:
        """Check exactly ``keys`` from now on. New ones are spread over one interval when
        nothing was watched before, else due at once; ones no longer wanted are dropped."""
        wanted = list(dict.fromkeys(keys))
        now = self._clock()
        fresh = [key for key in wanted if key not in self._due]
        first = not self._due
        keep = set(wanted)
        self._due = {key: due for key, due in self._due.items() if key in keep}
        self._checked = {key: at for key, at in self._checked.items() if key in keep}
        step = self.pacing.interval / len(fresh) if first and fresh else 0.0
        for index, key in enumerate(fresh):
            self._due[key] = now + index * step

    def soon(self, keys: Iterable[Key]) -> None:
        """Check these (already watched) at the next chance, within the rate bound."""
        now = self._clock()
        for key in keys:
            if key in self._due:
                self._due[key] = min(self._due[key], now)

    def linked(self, keys: Iterable[Key]) -> None:
        """A file was linked to these: check them soon, but each no sooner than
        ``linked_spacing`` seconds after its last check."""
        now = self._clock()
        for key in keys:
            if key in self._due:
                last = self._checked.get(key)
                at = now if last is None else max(now, last + self.pacing.linked_spacing)
                self._due[key] = min(self._due[key], at)

    def all_soon(self) -> None:
        """Check every watched required document at the next chances (a refresh request)."""
        self.soon(list(self._due))

    def take(self) -> list[Key]:
        """The required documents to check now, at most what the rate bound leaves.

        Each one returned counts as a call made now and is due again one interval later.
        """
        now = self._clock()
        while self._calls and self._calls[0] <= now - WINDOW:
            self._calls.popleft()
        budget = self.pacing.calls_per_minute - len(self._calls)
        if budget <= 0:
            return []
        due = sorted((at, key) for key, at in self._due.items() if at <= now)
        taken = [key for _, key in due[:budget]]
        for key in taken:
            self._calls.append(now)
            self._checked[key] = now
            self._due[key] = now + self.pacing.interval
        return taken

    def failed(self, key: Key) -> None:
        """The check of ``key`` just taken failed: try it again a little later."""
        if key in self._due:
            delay = min(self.pacing.retry_after_error, self.pacing.interval)
            self._due[key] = self._clock() + delay

    def next_due(self) -> float | None:
        """When the next check is due (ignoring the rate bound); None when nothing is watched."""
        return min(self._due.values()) if self._due else None
