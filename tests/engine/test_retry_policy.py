from __future__ import annotations

from agent.engine.retry_policy import RetryPolicy, counts_against_budget
from agent.errors import AmbiguousRequest, HashMismatch, NetworkError, ServerError, Throttled


def test_delay_grows_with_full_jitter_and_is_capped() -> None:
    policy = RetryPolicy(base_seconds=2, cap_seconds=60, max_attempts=5)
    highest = [policy.delay(n, rng=lambda: 1.0) for n in range(1, 9)]
    lowest = [policy.delay(n, rng=lambda: 0.0) for n in range(1, 9)]
    assert highest[:5] == [2, 4, 8, 16, 32]
    assert highest[-1] == 60
    assert lowest == [0.0] * 8


def test_retry_after_is_honoured_but_capped() -> None:
    policy = RetryPolicy(base_seconds=1, cap_seconds=30)
    assert policy.delay(1, Throttled("slow down", retry_after=20), rng=lambda: 0) == 20
    assert policy.delay(1, Throttled("slow down", retry_after=999), rng=lambda: 0) == 30


def test_budget() -> None:
    policy = RetryPolicy(max_attempts=3)
    assert not policy.exhausted(2)
    assert policy.exhausted(3)
    assert counts_against_budget(ServerError("boom"))
    assert counts_against_budget(HashMismatch("differs"))
    assert not counts_against_budget(NetworkError("down"))
    assert not counts_against_budget(AmbiguousRequest("maybe"))
    assert not counts_against_budget(Throttled("slow"))


def test_kompliant_answering_errors_counts_and_a_full_disk_does_not() -> None:
    from agent.settle.moves import MoveFailed

    answered = AmbiguousRequest("Kompliant's answer to document.create …", http_status=500)
    assert counts_against_budget(answered)  # it answers: not a wait for the network
    assert not counts_against_budget(AmbiguousRequest("no answer", code="NO_ANSWER"))
    assert not counts_against_budget(MoveFailed("No space left on device"))
