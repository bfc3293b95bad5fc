"""The agent's one back-off policy: exponential, full jitter, one cap, Retry-After within it."""

from __future__ import annotations

import random

import pytest

from agent.backoff import MAX_WAIT, Backoff
from agent.engine.retry_policy import RetryPolicy
from agent.errors import ServerError, Throttled
from agent.kompliant.pacer import PacerPolicy


def test_ceilings_double_up_to_the_cap_without_overflow() -> None:
    backoff = Backoff(1.0, cap=8.0)
    assert [backoff.ceiling(n) for n in range(6)] == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert backoff.ceiling(10_000) == 8.0


def test_full_jitter_spreads_waits_between_zero_and_the_ceiling() -> None:
    backoff = Backoff(1.0, cap=8.0)
    rng = random.Random(1234)
    for retry in range(6):
        waits = [backoff.wait(retry, rand=rng.random()) for _ in range(200)]
        assert all(0.0 <= w <= backoff.ceiling(retry) for w in waits)
        assert max(waits) - min(waits) > backoff.ceiling(retry) / 2


def test_retry_after_is_honoured_up_to_the_cap() -> None:
    backoff = Backoff(1.0, cap=60.0)
    assert backoff.wait(0, retry_after=20.0, rand=0.0) == 20.0
    assert backoff.wait(0, retry_after=999.0, rand=0.0) == 60.0
    assert backoff.wait(5, retry_after=0.1, rand=0.5) == 16.0  # shorter: the back-off stands
    assert backoff.hold(999.0) == 60.0


def test_every_retry_of_the_agent_has_the_one_cap() -> None:
    assert MAX_WAIT == 15 * 60
    assert PacerPolicy().backoff.cap == MAX_WAIT
    assert RetryPolicy().cap_seconds == MAX_WAIT


@pytest.mark.parametrize(("base", "cap"), [(0.0, 1.0), (2.0, 1.0)])
def test_a_policy_that_cannot_work_is_refused(base: float, cap: float) -> None:
    with pytest.raises(ValueError):
        Backoff(base, cap)


def test_the_engine_and_the_pacer_compute_the_same_wait() -> None:
    engine = RetryPolicy(base_seconds=0.5)
    pacer = PacerPolicy(base=0.5)
    for attempts in range(1, 8):
        throttled = Throttled("slow", retry_after=3.0)
        assert engine.delay(attempts, throttled, rng=lambda: 0.7) == pacer.backoff.wait(
            attempts - 1, retry_after=3.0, rand=0.7
        )
    assert engine.delay(3, ServerError("x"), rng=lambda: 0.25) == Backoff(0.5).wait(2, rand=0.25)
