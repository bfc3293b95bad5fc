"""One sync of the write-ahead log for the commits of several writers.

A commit waiting to be durable returns only after a sync that started after it finished;
writers that commit while a sync runs share the next one; a failed sync is never taken
as durable. Driven with a sync that blocks until the test lets it go (no sleeps).
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from agent.journal import Journal, Step
from agent.journal.group_sync import GroupSync
from tests.kit.wait import wait_for


class HeldSync:
    """A sync that records how many commits existed when it started and blocks until
    released; ``fail`` makes the next one raise."""

    def __init__(self) -> None:
        self.group = GroupSync(self)
        self.started: list[int] = []
        self.release = threading.Semaphore(0)
        self.fail = False

    def __call__(self) -> None:
        self.started.append(self.group._committed)
        self.release.acquire()
        if self.fail:
            self.fail = False
            raise OSError(5, "Input/output error")


def waiter(group: GroupSync, commit: int, done: list[int], errors: list[BaseException]) -> None:
    try:
        group.wait_durable(commit)
        done.append(commit)
    except OSError as error:
        errors.append(error)


def test_commits_made_during_a_sync_share_the_next_one() -> None:
    held = HeldSync()
    group = held.group
    done: list[int] = []
    errors: list[BaseException] = []
    first = group.committed()
    leader = threading.Thread(target=waiter, args=(group, first, done, errors))
    leader.start()
    wait_for(lambda: held.started == [1], what="the first sync to start")
    # three more commits while the first sync runs: it does not cover them
    followers = [
        threading.Thread(target=waiter, args=(group, group.committed(), done, errors))
        for _ in range(3)
    ]
    for thread in followers:
        thread.start()
    held.release.release()
    leader.join(timeout=30)
    assert done == [1]  # the first returns; the others still wait for a sync of their own
    wait_for(lambda: held.started == [1, 4], what="one sync for the three others")
    assert sorted(done) == [1]
    held.release.release()
    for thread in followers:
        thread.join(timeout=30)
    assert sorted(done) == [1, 2, 3, 4]
    assert group.syncs == 2 and errors == []


def test_a_commit_already_covered_does_not_sync_again() -> None:
    held = HeldSync()
    group = held.group
    first, second = group.committed(), group.committed()
    held.release.release()
    group.wait_durable(second)  # covers the first too
    group.wait_durable(first)
    assert held.started == [2] and group.syncs == 1


def test_a_failed_sync_is_not_durable_and_the_next_waiter_syncs_again() -> None:
    held = HeldSync()
    group = held.group
    commit = group.committed()
    held.fail = True
    held.release.release()
    with pytest.raises(OSError):
        group.wait_durable(commit)
    assert group.syncs == 0
    held.release.release()
    group.wait_durable(commit)
    assert held.started == [1, 1] and group.syncs == 1


def test_journal_writers_share_syncs_and_each_step_is_durable_on_return(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "journal.sqlite3") as journal:
        group = journal._group
        assert group is not None
        sync, number = group._sync, group.committed
        covered = [0]
        mine = threading.local()

        def recorded_sync() -> None:
            covers = group._committed
            sync()
            covered[0] = max(covered[0], covers)

        def recorded_commit() -> int:
            mine.commit = number()
            return int(mine.commit)

        group._sync, group.committed = recorded_sync, recorded_commit  # type: ignore[method-assign]
        entries = [
            journal.begin(tmp_path / f"f{i}.pdf", folder_key="k", step=Step.STABLE)
            for i in range(8)
        ]
        late: list[int] = []

        def hash_one(entry_id: int) -> None:
            journal.advance(entry_id, Step.HASHED, sha256="aa")
            if covered[0] < mine.commit:  # returned before a sync covered its commit
                late.append(entry_id)

        threads = [threading.Thread(target=hash_one, args=(e.id,)) for e in entries]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert late == []
        assert [journal.get(e.id).step for e in entries] == [Step.HASHED] * 8  # type: ignore[union-attr]
        assert 1 <= journal.disk_syncs <= 8
