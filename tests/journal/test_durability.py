"""Which journal commits are on disk when their method returns, and which only in the OS
cache.

The rule (agent/journal/transactions.py, "Durability per commit"): a commit whose loss on power
failure would let a restart repeat a call Kompliant must see once is durable before its
method returns; the others are not waited for. Read here from the statements SQLite runs
and the syncs of the write-ahead log the journal makes, commit by commit. That both
kinds survive a killed writer is tests/journal/test_crash.py; how syncs are shared by
writers is tests/journal/test_group_sync.py.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import agent.journal.transactions as transactions
from agent.journal import Journal, Outcome, Step

RD = "rd_BankStatements00000001"


class CommitLevels:
    """For each COMMIT the journal runs: "FULL" if it was on disk when the call made it
    returned (a sync of the log covered it, or SQLite synced at COMMIT), else "NORMAL"."""

    def __init__(self, journal: Journal) -> None:
        found = str(journal._conn.execute("PRAGMA synchronous").fetchone()[0])
        self.level = {"2": "FULL", "1": "NORMAL"}.get(found, found)
        self.commits: list[str] = []
        self.synced = 0  # commits a sync of the log has covered
        self._taken = 0
        journal._conn.set_trace_callback(self._seen)
        group = journal._group
        if group is not None:
            sync = group._sync

            def counted() -> None:
                covers = len(self.commits)  # every commit made before the sync started
                sync()
                self.synced = max(self.synced, covers)

            group._sync = counted

    def _seen(self, statement: str) -> None:
        words = statement.strip().upper().split()
        if words[:2] == ["PRAGMA", "SYNCHRONOUS"] and "=" in words:
            self.level = words[-1]
        elif words[:1] == ["COMMIT"]:
            self.commits.append(self.level)

    def take(self) -> list[str]:
        """The commits since the last take, as they stand now (after the calls returned)."""
        levels = [
            "FULL" if level == "FULL" or number < self.synced else "NORMAL"
            for number, level in enumerate(self.commits)
        ][self._taken :]
        self._taken = len(self.commits)
        return levels


def linked(journal: Journal, path: Path, digest: str, document: str, fulfillment: str) -> int:
    """A new entry carried from STABLE to LINKED; its id."""
    entry = journal.begin(path, folder_key="k", step=Step.STABLE)
    journal.advance(entry.id, Step.HASHED, sha256=digest)
    journal.advance(entry.id, Step.CREATED, document_id=document)
    journal.advance(entry.id, Step.UPLOADED)
    journal.advance(entry.id, Step.VERIFIED)
    journal.advance(entry.id, Step.LINKED, fulfillments={RD: fulfillment})
    return entry.id


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    opened = Journal.open(tmp_path / "journal.sqlite3")
    yield opened
    opened.close()


def test_only_the_commits_guarding_server_calls_wait_for_the_disk(
    journal: Journal, tmp_path: Path
) -> None:
    levels = CommitLevels(journal)
    assert journal._group is not None  # the journal syncs its log itself here
    assert levels.level == "NORMAL"  # so no COMMIT waits for the disk
    entry = journal.begin(tmp_path / "a.pdf", folder_key="k", step=Step.STABLE)
    assert levels.take() == ["NORMAL"]
    journal.advance(entry.id, Step.HASHED, sha256="aa")
    assert levels.take() == ["FULL"]
    journal.advance(entry.id, Step.CREATED, document_id="d_1")
    assert levels.take() == ["FULL"]
    journal.advance(entry.id, Step.UPLOADED)
    journal.advance(entry.id, Step.VERIFIED)
    assert levels.take() == ["NORMAL", "NORMAL"]
    journal.record_fulfillments(entry.id, {RD: "f_1"})
    journal.advance(entry.id, Step.LINKED, fulfillments={RD: "f_1"})
    assert levels.take() == ["FULL", "FULL"]
    journal.settle(entry.id, Outcome.DONE, tmp_path / "done" / "a.pdf", "uploaded")
    assert levels.take() == ["NORMAL"]


def test_rewinds_and_settles_short_of_linked_wait_for_the_disk(
    journal: Journal, tmp_path: Path
) -> None:
    levels = CommitLevels(journal)
    entry = journal.begin(tmp_path / "a.pdf", folder_key="k", step=Step.STABLE)
    journal.advance(entry.id, Step.HASHED, sha256="aa")
    journal.advance(entry.id, Step.CREATED, document_id="d_1")
    levels.take()
    journal.rewind(entry.id, Step.HASHED, "the upload form expired")
    assert levels.take() == ["FULL"]  # its time bounds the search for a lost create
    journal.advance(entry.id, Step.CREATED, document_id="d_2")
    journal.advance(entry.id, Step.UPLOADED)
    journal.advance(entry.id, Step.VERIFIED)
    levels.take()
    # an upload-only file: VERIFIED was lazy, so its settle makes both durable
    journal.settle(entry.id, Outcome.DONE, tmp_path / "done" / "a.pdf", "uploaded")
    assert levels.take() == ["FULL"]

    failed = linked(journal, tmp_path / "b.pdf", "bb", "d_3", "f_2")
    levels.take()
    journal.settle(failed, Outcome.FAILED, tmp_path / "failed" / "b.pdf", "moved back")
    assert levels.take() == ["FULL"]  # only a done/ receipt is found again at start


def test_without_a_log_to_sync_the_commits_wait_at_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transactions, "_open_wal", lambda conn: None)
    with Journal.open(tmp_path / "journal.sqlite3") as journal:
        assert journal._group is None
        levels = CommitLevels(journal)
        entry = linked(journal, tmp_path / "a.pdf", "aa", "d_1", "f_1")
        journal.settle(entry, Outcome.DONE, tmp_path / "done" / "a.pdf", "uploaded")
        assert levels.take() == ["NORMAL", "FULL", "FULL", "NORMAL", "NORMAL", "FULL", "NORMAL"]
        assert journal.disk_syncs == 0


def test_the_log_synced_is_the_journals_own(journal: Journal) -> None:
    assert journal._wal_fd is not None
    wal = Path(f"{journal.path}-wal")
    assert os.path.samestat(os.fstat(journal._wal_fd), wal.stat())
    entry = journal.begin(journal.path.parent / "a.pdf", folder_key="k", step=Step.STABLE)
    journal.advance(entry.id, Step.HASHED, sha256="aa")
    assert journal.disk_syncs == 1
