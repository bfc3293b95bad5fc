"""When a file whose upload failed with "retry later" is tried again, and when to give up.

Pure: attempts in, delay out. The API client's pacer already retries single calls a few
times within seconds; this policy spaces out whole-file attempts over minutes to hours.
Failures that only say the API is unreachable do not use up the budget: the engine
pauses all work while offline instead, and resumes by itself.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from agent.errors import AgentError, NetworkError, StillWriting, Throttled


@dataclass(frozen=True)
class RetryPolicy:
    base_seconds: float = 5.0
    cap_seconds: float = 15 * 60.0
    max_attempts: int = 8

    def delay(
        self,
        attempts: int,
        error: AgentError | None = None,
        rng: Callable[[], float] = random.random,
    ) -> float:
        """Seconds to wait before attempt ``attempts + 1`` (exponential, half jitter)."""
        exp = min(self.cap_seconds, self.base_seconds * (2 ** max(0, attempts - 1)))
        wait = exp / 2 + rng() * exp / 2
        retry_after = getattr(error, "retry_after", None)
        if isinstance(retry_after, int | float) and retry_after > wait:
            wait = float(retry_after)
        return float(min(wait, self.cap_seconds))

    def exhausted(self, attempts: int) -> bool:
        return attempts >= self.max_attempts


def counts_against_budget(error: AgentError) -> bool:
    """Offline, throttling and a writer still at work do not make a file worse: only other
    failures use the budget."""
    return not isinstance(error, NetworkError | Throttled | StillWriting)
