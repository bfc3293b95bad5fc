"""The agent's one back-off policy: one formula, one cap, ``Retry-After`` honoured within it.

Every retry waits what :meth:`Backoff.wait` says — a Kompliant call repeated by the
pacer (:mod:`agent.kompliant.pacer`, base half a second) as much as a whole file tried
again by the engine (:mod:`agent.engine.retry_policy`, base five seconds)::

    ceiling = min(cap, base * 2**n)          # n = 0 before the first retry
    wait    = rand * ceiling                 # full jitter, rand in [0, 1)
    wait    = max(wait, min(retry_after, cap))   # when the server said Retry-After

Full jitter spreads out workers that failed together, so they do not come back together.
The cap bounds every wait, the server's ``Retry-After`` too: the agent never sends
earlier than asked unless that is later than the cap, and then it asks again after the cap
rather than stay silent for an hour on the word of one answer (a proxy's, perhaps).

Pure: the random draw comes in as a number.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The longest any retry waits, seconds.
MAX_WAIT = 15 * 60.0


@dataclass(frozen=True)
class Backoff:
    #: The first ceiling, seconds: retry ``n`` waits up to ``base * 2**n``.
    base: float
    #: The largest wait, seconds (tests shrink it; the agent runs with :data:`MAX_WAIT`).
    cap: float = MAX_WAIT

    def __post_init__(self) -> None:
        if self.base <= 0 or self.cap < self.base:
            raise ValueError("Backoff needs 0 < base <= cap")

    def ceiling(self, retry_index: int) -> float:
        """The largest jittered wait before retry ``retry_index`` (0 = the first retry)."""
        # 2**n overflows floats for huge n: the cap is reached long before 64.
        exponent = min(max(retry_index, 0), 64)
        return float(min(self.cap, self.base * (2**exponent)))

    def wait(self, retry_index: int, *, retry_after: float | None = None, rand: float) -> float:
        """Seconds to wait before retry ``retry_index``; ``rand`` is in [0, 1)."""
        wait = min(max(rand, 0.0), 1.0) * self.ceiling(retry_index)
        if retry_after is not None and retry_after > 0:
            wait = max(wait, min(retry_after, self.cap))
        return float(wait)

    def hold(self, retry_after: float) -> float:
        """How long a ``Retry-After`` holds back every call: the server's word, capped."""
        return float(min(max(retry_after, 0.0), self.cap))
