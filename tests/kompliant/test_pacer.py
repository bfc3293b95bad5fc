"""The pacer's retry policy, on a fake clock: these tests never sleep."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from agent.backoff import MAX_WAIT, Backoff
from agent.errors import (
    AmbiguousRequest,
    BadRequest,
    NetworkError,
    RetryLater,
    ServerError,
    Throttled,
    WorkflowEnded,
)
from agent.kompliant.pacer import Pacer, PacerPolicy, should_retry
from tests.kit.clock import FakeClock


def make_pacer(
    fake: FakeClock, rand: Callable[[], float] = lambda: 0.999, **policy: float
) -> Pacer:
    return Pacer(PacerPolicy(**policy), clock=fake, sleep=fake.sleep, rand=rand)  # type: ignore[arg-type]


class Failing:
    """Raises the given errors in turn, then returns ``"ok"``."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def test_success_needs_no_wait() -> None:
    fake = FakeClock(0.0)
    fn = Failing()
    assert make_pacer(fake).call(fn) == "ok"
    assert fn.calls == 1
    assert fake.sleeps == []


def test_back_off_grows_exponentially_up_to_the_cap() -> None:
    fake = FakeClock(0.0)
    fn = Failing(*[ServerError("busy") for _ in range(6)])
    pacer = make_pacer(fake, rand=lambda: 0.999, base=0.5, cap=4.0, max_attempts=10)
    assert pacer.call(fn) == "ok"
    assert fn.calls == 7
    assert fake.sleeps == pytest.approx([0.4995, 0.999, 1.998, 3.996, 3.996, 3.996])


def test_the_pacer_waits_by_the_one_back_off_policy() -> None:
    assert PacerPolicy().backoff == Backoff(0.5, MAX_WAIT)
    fake = FakeClock(0.0)
    rng = random.Random(1234)
    draws = [rng.random() for _ in range(5)]
    fn = Failing(*[ServerError("busy") for _ in range(5)])
    pacer = make_pacer(fake, rand=iter(draws).__next__, base=1.0, max_attempts=10)
    assert pacer.call(fn) == "ok"
    backoff = Backoff(1.0)
    assert fake.sleeps == pytest.approx([backoff.wait(n, rand=r) for n, r in enumerate(draws)])


def test_retry_after_is_honoured_within_the_cap() -> None:
    fake = FakeClock(0.0)
    fn = Failing(Throttled("slow down", retry_after=12.0))
    assert make_pacer(fake, rand=lambda: 0.0, cap=20.0).call(fn) == "ok"
    assert fake.sleeps == [12.0]
    fake = FakeClock(0.0)
    fn = Failing(Throttled("slow down", retry_after=12.0))
    assert make_pacer(fake, rand=lambda: 0.0, cap=5.0).call(fn) == "ok"
    assert fake.sleeps == [5.0]


def test_retry_after_shorter_than_the_back_off_keeps_the_back_off() -> None:
    fake = FakeClock(0.0)
    fn = Failing(ServerError("x"), Throttled("slow down", retry_after=0.1))
    make_pacer(fake, rand=lambda: 0.999, base=1.0).call(fn)
    assert fake.sleeps == pytest.approx([0.999, 1.998])


def test_retry_after_holds_back_every_call_through_the_same_pacer() -> None:
    fake = FakeClock(0.0)
    pacer = make_pacer(fake, max_attempts=1)
    with pytest.raises(Throttled):
        pacer.call(Failing(Throttled("slow down", retry_after=30.0)))
    fake.now = 10.0
    other = Failing()
    assert pacer.call(other) == "ok"
    assert fake.sleeps == [20.0]  # waited until 30 s, as the server asked
    assert fake.now == 30.0


def test_bounded_in_attempts_and_raises_the_last_error() -> None:
    fake = FakeClock(0.0)
    errors = [NetworkError(f"down {i}") for i in range(10)]
    fn = Failing(*errors)
    with pytest.raises(NetworkError) as caught:
        make_pacer(fake, max_attempts=4).call(fn)
    assert fn.calls == 4
    assert caught.value is errors[3]
    assert len(fake.sleeps) == 3


def test_bounded_in_total_time() -> None:
    fake = FakeClock(0.0)
    fn = Failing(*[ServerError("x") for _ in range(10)])
    with pytest.raises(ServerError):
        make_pacer(
            fake, rand=lambda: 1.0, base=1.0, cap=60.0, max_attempts=10, max_elapsed=3.0
        ).call(fn)
    # waits 1 (t=1) and 2 (t=3); a third wait of 4 would end at 7 > 3: give up.
    assert fn.calls == 3
    assert fake.sleeps == [1.0, 2.0]
    assert fake.now <= 3.0


def test_a_retry_after_beyond_the_time_bound_gives_up_without_waiting() -> None:
    fake = FakeClock(0.0)
    fn = Failing(Throttled("come back tomorrow", retry_after=86_400.0))
    with pytest.raises(Throttled):
        make_pacer(fake, max_elapsed=120.0).call(fn)
    assert fn.calls == 1
    assert fake.sleeps == []


@pytest.mark.parametrize(
    "error",
    [
        BadRequest("bad"),
        WorkflowEnded("ended", sub_code="WORKFLOW_ENDED"),
        AmbiguousRequest("maybe sent"),
    ],
)
def test_cannot_succeed_and_ambiguous_requests_are_not_retried(error: Exception) -> None:
    fake = FakeClock(0.0)
    fn = Failing(error)
    with pytest.raises(type(error)):
        make_pacer(fake).call(fn)
    assert fn.calls == 1
    assert fake.sleeps == []


def test_foreign_exceptions_pass_through_untouched() -> None:
    fake = FakeClock(0.0)
    fn = Failing(ValueError("bug"))
    with pytest.raises(ValueError):
        make_pacer(fake).call(fn)
    assert fn.calls == 1


def test_should_retry_decides_by_class() -> None:
    assert should_retry(RetryLater("x"))
    assert should_retry(Throttled("x"))
    assert not should_retry(AmbiguousRequest("x"))
    assert not should_retry(BadRequest("x"))
    assert not should_retry(RuntimeError("x"))


@pytest.mark.parametrize(
    "policy",
    [
        {"base": 0.0},
        {"base": 2.0, "cap": 1.0},
        {"max_attempts": 0},
        {"max_elapsed": -1.0},
    ],
)
def test_policy_rejects_nonsense(policy: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        PacerPolicy(**policy)  # type: ignore[arg-type]
