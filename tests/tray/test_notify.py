"""Notification policy with a fake clock: bursts give one summary, rate limit, snooze."""

from __future__ import annotations

from agent.engine.state import AgentState
from agent.engine.status import FolderStatus, Snapshot
from agent.tray.notify import NotificationPolicy
from tests.kit.clock import FakeClock


def snap(failed: int = 0, routing: int = 0, state: AgentState = AgentState.IDLE) -> Snapshot:
    folders = (FolderStatus(key="w/rd", folder="w/rd", failed=failed, needs_routing=routing),)
    return Snapshot(state=state, pid=1, updated_at="", folders=folders)


def test_a_burst_of_500_failures_gives_one_summary() -> None:
    clock = FakeClock()
    policy = NotificationPolicy(clock, gather=3, min_interval=60)
    assert policy.observe(snap()) is None
    notices = []
    for n in range(1, 501):
        clock.now += 0.004
        notices.append(policy.observe(snap(failed=n)))
    clock.now += 3
    notices.append(policy.due())
    shown = [n for n in notices if n is not None]
    assert len(shown) == 1
    assert shown[0].title == "Kompliant agent: 500 file(s) failed"
    assert "Open failed files" in shown[0].body
    assert policy.due() is None


def test_what_was_there_at_start_is_no_news() -> None:
    clock = FakeClock()
    policy = NotificationPolicy(clock, gather=0)
    assert policy.observe(snap(failed=7)) is None
    clock.now += 100
    assert policy.due() is None


def test_after_a_notice_the_next_waits_for_the_interval() -> None:
    clock = FakeClock()
    policy = NotificationPolicy(clock, gather=0, min_interval=60)
    policy.observe(snap())
    assert policy.observe(snap(failed=1)) is not None
    clock.now += 10
    assert policy.observe(snap(failed=2, routing=1)) is None
    clock.now += 49
    assert policy.due() is None
    clock.now += 1
    later = policy.due()
    assert later is not None
    assert later.title == "Kompliant agent: 1 file(s) failed"
    assert "1 file(s) in an Inbox match no rule" in later.body


def test_retried_files_then_failing_again_count_as_new() -> None:
    clock = FakeClock()
    policy = NotificationPolicy(clock, gather=0, min_interval=0)
    policy.observe(snap())
    assert policy.observe(snap(failed=2)) is not None
    policy.observe(snap(failed=0))  # retried: moved back out of failed/
    again = policy.observe(snap(failed=2))
    assert again is not None and again.title == "Kompliant agent: 2 file(s) failed"


def test_snooze_holds_notices_then_gives_one_summary() -> None:
    clock = FakeClock()
    policy = NotificationPolicy(clock, gather=0, min_interval=0)
    policy.observe(snap())
    assert policy.snooze(3600) == clock.now + 3600
    for n in range(1, 20):
        clock.now += 60
        assert policy.observe(snap(routing=n)) is None
    assert policy.snooze_left() == 3600 - 19 * 60
    clock.now += 3600
    summary = policy.due()
    assert summary is not None
    assert summary.title == "Kompliant agent: 19 file(s) need routing"
    assert policy.snooze_left() is None


def test_unsnooze_lets_the_held_notice_out() -> None:
    clock = FakeClock()
    policy = NotificationPolicy(clock, gather=0, min_interval=0)
    policy.observe(snap())
    policy.snooze()
    assert policy.observe(snap(failed=1)) is None
    policy.unsnooze()
    assert policy.due() is not None


def test_an_error_state_is_told_once_per_problem() -> None:
    clock = FakeClock()
    policy = NotificationPolicy(clock, gather=0, min_interval=0)
    policy.observe(snap())
    problem = Snapshot(
        state=AgentState.ERROR, pid=1, updated_at="", problems=("The watched folder is gone",)
    )
    first = policy.observe(problem)
    assert first is not None and first.body == "The watched folder is gone"
    assert first.title == "Kompliant agent: something needs fixing"
    assert policy.observe(problem) is None
