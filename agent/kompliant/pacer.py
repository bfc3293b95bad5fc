"""One object that owns retry and back-off for every Kompliant call.

Modelled on rclone's ``lib/pacer``: the call sites never sleep or count attempts, they
hand a function to :meth:`Pacer.call`. The policy:

* Only :class:`~agent.errors.RetryLater` is retried; :class:`~agent.errors.CannotSucceed`
  (and anything else) goes straight back to the caller.
* :class:`~agent.errors.AmbiguousRequest` is never retried here: the request may have been
  carried out, so repeating it blindly could, for example, create a second document. The
  caller reconciles first (``agent/upload/`` looks for the document with ``document.list``).
* Waits follow the agent's one back-off policy (:mod:`agent.backoff`): exponential with
  full jitter, one cap, ``Retry-After`` honoured within the cap. The pause a
  ``Retry-After`` asks for is shared — every call through the same pacer holds back until
  then, not only the one that was throttled.
* Bounded twice: by the number of attempts and by the total time spent on one call. When
  either bound would be crossed, the last error is raised as it is (still ``RetryLater``),
  so the engine can put the file back in its own, longer, retry schedule.

Clock, sleep and random source are injected: unit tests never sleep.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from agent.backoff import MAX_WAIT, Backoff
from agent.errors import AmbiguousRequest, RetryLater

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class PacerPolicy:
    """How hard one call is retried."""

    #: First back-off ceiling, seconds; attempt ``n`` (from 0) waits up to ``base * 2**n``.
    base: float = 0.5
    #: Largest wait, seconds, a ``Retry-After`` included (:data:`agent.backoff.MAX_WAIT`).
    cap: float = MAX_WAIT
    #: Attempts in all, the first one included.
    max_attempts: int = 6
    #: Seconds one call may take in all, waits included; no retry would end later.
    max_elapsed: float = 120.0

    def __post_init__(self) -> None:
        if self.base <= 0 or self.cap < self.base:
            raise ValueError("PacerPolicy needs 0 < base <= cap")
        if self.max_attempts < 1 or self.max_elapsed < 0:
            raise ValueError("PacerPolicy needs max_attempts >= 1 and max_elapsed >= 0")

    @property
    def backoff(self) -> Backoff:
        return Backoff(self.base, self.cap)


def should_retry(err: BaseException) -> bool:
    """The pacer's only question: may the very same request simply be sent again?"""
    return isinstance(err, RetryLater) and not isinstance(err, AmbiguousRequest)


class Pacer:
    """Retries calls by :class:`PacerPolicy`; thread-safe, one per client."""

    def __init__(
        self,
        policy: PacerPolicy | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.policy = policy or PacerPolicy()
        self._clock = clock
        self._sleep = sleep
        self._rand = rand
        self._lock = threading.Lock()
        # Monotonic time before which no call is sent: set by a Retry-After.
        self._hold_until = 0.0

    def call(self, fn: Callable[[], T], *, what: str = "call") -> T:
        """Run ``fn`` until it returns, retrying what :func:`should_retry` allows."""
        started = self._clock()
        attempt = 0
        while True:
            self._wait_for_hold()
            attempt += 1
            try:
                return fn()
            except RetryLater as err:
                if not should_retry(err):
                    raise
                self._note_retry_after(err)
                backoff = self.policy.backoff
                wait = backoff.wait(attempt - 1, retry_after=err.retry_after, rand=self._rand())
                wait = max(wait, self._hold_until - self._clock())
                elapsed = self._clock() - started
                if attempt >= self.policy.max_attempts:
                    log.info("%s: giving up after %d attempts: %s", what, attempt, err.message)
                    raise
                if elapsed + wait > self.policy.max_elapsed:
                    log.info(
                        "%s: giving up, a retry in %.1fs would pass the %.0fs limit: %s",
                        what,
                        wait,
                        self.policy.max_elapsed,
                        err.message,
                    )
                    raise
                log.info(
                    "%s: attempt %d failed (%s); retrying in %.2fs",
                    what,
                    attempt,
                    err.message,
                    wait,
                )
                if wait > 0:
                    self._sleep(wait)

    def _note_retry_after(self, err: RetryLater) -> None:
        if err.retry_after is None or err.retry_after <= 0:
            return
        until = self._clock() + self.policy.backoff.hold(err.retry_after)
        with self._lock:
            self._hold_until = max(self._hold_until, until)

    def _wait_for_hold(self) -> None:
        """Hold back while another call's Retry-After is running (shared pause)."""
        with self._lock:
            hold_until = self._hold_until
        remaining = hold_until - self._clock()
        if remaining > 0:
            self._sleep(remaining)
