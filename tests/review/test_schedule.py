"""The review checks' pace, with a fake clock: spread over the interval, never more than
the rate bound in any minute, whatever asks for checks."""

from __future__ import annotations

from collections import Counter

import pytest

from agent.review.schedule import Key, ReviewPacing, ReviewSchedule
from tests.kit.clock import FakeClock


def keys(count: int) -> list[Key]:
    return [("w_Demo", f"rd_{index:04d}") for index in range(count)]


def run(
    schedule: ReviewSchedule, clock: FakeClock, seconds: float, step: float = 0.25
) -> list[tuple[float, Key]]:
    """Take what is due every ``step`` seconds for ``seconds``: (time, key) of each call."""
    calls: list[tuple[float, Key]] = []
    end = clock.now + seconds
    while clock.now < end:
        calls += [(clock.now, key) for key in schedule.take()]
        clock.now += step
    return calls


def most_in_a_minute(calls: list[tuple[float, Key]]) -> int:
    times = [at for at, _ in calls]
    return max((sum(1 for t in times if start <= t < start + 60) for start in times), default=0)


def test_first_checks_are_spread_over_one_interval() -> None:
    clock = FakeClock()
    schedule = ReviewSchedule(ReviewPacing(interval=300, calls_per_minute=30), clock)
    schedule.watch(keys(3))

    calls = run(schedule, clock, 600)

    start = 1000.0
    assert [round(at - start) for at, _ in calls] == [0, 100, 200, 300, 400, 500]
    assert Counter(key for _, key in calls) == {key: 2 for key in keys(3)}


def test_never_more_than_the_bound_in_any_minute_even_when_everything_is_due() -> None:
    clock = FakeClock()
    schedule = ReviewSchedule(ReviewPacing(interval=60, calls_per_minute=10), clock)
    schedule.watch(keys(100))  # wants 100 calls a minute; the bound allows 10

    calls = run(schedule, clock, 600)
    schedule.all_soon()  # a refresh request asks for all of them at once
    calls += run(schedule, clock, 120)

    assert most_in_a_minute(calls) == 10
    assert len(calls) == 10 * 12  # the budget is used, not wasted
    first_round = [key for _, key in calls[:100]]
    assert sorted(first_round) == keys(100)  # the longest-waiting first: each once, in turn


def test_a_refresh_request_checks_everything_soon_within_the_bound() -> None:
    clock = FakeClock()
    schedule = ReviewSchedule(ReviewPacing(interval=300, calls_per_minute=5), clock)
    schedule.watch(keys(8))
    assert schedule.take() == [keys(8)[0]]  # the others are spread over five minutes

    clock.now += 1
    schedule.all_soon()
    assert schedule.take() == keys(8)[:4]  # all of them, but four left of this minute's five
    clock.now += 29.5
    assert schedule.take() == []
    clock.now += 30  # the first call leaves the window
    assert schedule.take() == [keys(8)[4]]
    clock.now += 1  # the four leave it too
    assert schedule.take() == keys(8)[5:]


def test_a_linked_file_is_checked_soon_and_new_requirements_at_once() -> None:
    clock = FakeClock()
    schedule = ReviewSchedule(ReviewPacing(interval=300, calls_per_minute=30), clock)
    schedule.watch(keys(3))
    schedule.take()
    clock.now += 1
    schedule.soon([keys(3)[2], ("w_Other", "rd_NotWatched")])
    assert schedule.take() == [keys(3)[2]]

    schedule.watch([*keys(3)[1:], ("w_Demo", "rd_new")])  # one gone, one new
    assert schedule.keys == frozenset([*keys(3)[1:], ("w_Demo", "rd_new")])
    assert schedule.take() == [("w_Demo", "rd_new")]


def test_a_burst_of_linked_files_is_checked_once_per_spacing_not_once_per_file() -> None:
    clock = FakeClock()
    pacing = ReviewPacing(interval=300, calls_per_minute=30, linked_spacing=10)
    schedule = ReviewSchedule(pacing, clock)
    key = keys(1)[0]
    schedule.watch([key])
    assert schedule.take() == [key]  # its first check, at 1000

    checked: list[float] = []
    for _ in range(120):  # a file linked to it every quarter of a second for 30 s
        clock.now += 0.25
        schedule.linked([key])
        checked += [clock.now for _ in schedule.take()]
    assert [round(at - 1000) for at in checked] == [10, 20, 30]

    clock.now += 60  # calm again: the next linked file is checked at once
    schedule.linked([key])
    assert schedule.take() == [key]


def test_a_failed_check_is_tried_again_after_the_error_delay() -> None:
    clock = FakeClock()
    schedule = ReviewSchedule(
        ReviewPacing(interval=300, calls_per_minute=30, retry_after_error=60), clock
    )
    schedule.watch(keys(1))
    (key,) = schedule.take()
    schedule.failed(key)
    assert schedule.next_due() == clock.now + 60
    clock.now += 59
    assert schedule.take() == []
    clock.now += 1
    assert schedule.take() == [key]


def test_pacing_must_be_positive() -> None:
    with pytest.raises(ValueError):
        ReviewSchedule(ReviewPacing(calls_per_minute=0), FakeClock())
