"""When a file whose upload failed with "retry later" is tried again, and when to give up.

Pure: attempts in, delay out. The API client's pacer already retries single calls a few
times within seconds; this policy spaces out whole-file attempts over minutes, with the
agent's one back-off formula and cap (:mod:`agent.backoff`). Failures that only say the
API is unreachable do not use up the budget: the engine pauses all work while offline
instead, and resumes by itself.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from agent.backoff import MAX_WAIT, Backoff
from agent.errors import AgentError, AmbiguousRequest, NetworkError, StillWriting, Throttled
from agent.settle.moves import MoveFailed


@dataclass(frozen=True)
class RetryPolicy:
    base_seconds: float = 5.0
    cap_seconds: float = MAX_WAIT
    max_attempts: int = 8

    def delay(
        self,
        attempts: int,
        error: AgentError | None = None,
        rng: Callable[[], float] = random.random,
    ) -> float:
        """Seconds to wait before attempt ``attempts + 1`` (:meth:`Backoff.wait`)."""
        retry_after = getattr(error, "retry_after", None)
        if not isinstance(retry_after, int | float):
            retry_after = None
        backoff = Backoff(self.base_seconds, self.cap_seconds)
        return backoff.wait(max(0, attempts - 1), retry_after=retry_after, rand=rng())

    def exhausted(self, attempts: int) -> bool:
        return attempts >= self.max_attempts


def counts_against_budget(error: AgentError) -> bool:
    """Offline, throttling, a disk without room (a documented wait) and a writer still at
    work on the claimed file do not make a file worse: other failures use the budget. So
    does Kompliant answering an error (HTTP 5xx), also to a call that may have been carried
    out: it answers, so waiting for it to come back (as when offline) would wait for ever
    on a server that keeps failing."""
    if isinstance(error, MoveFailed):
        return False
    if isinstance(error, AmbiguousRequest) and (error.http_status or 0) >= 500:
        return True
    return not isinstance(error, NetworkError | Throttled | StillWriting)
