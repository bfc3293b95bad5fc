"""Which journal commits wait for the disk (FULL) and which only for the OS cache (NORMAL).

The rule (agent/journal/store.py, "Durability per commit"): a commit whose loss on power
failure would let a restart repeat a call Kompliant must see once is FULL; the others
are NORMAL. Read here from the statements SQLite actually runs, commit by commit. That
both kinds survive a killed writer is tests/journal/test_crash.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.journal import Journal, Outcome, Step

RD = "rd_BankStatements00000001"


class CommitLevels:
    """The ``synchronous`` level in force at each COMMIT the connection runs."""

    def __init__(self, journal: Journal) -> None:
        found = str(journal._conn.execute("PRAGMA synchronous").fetchone()[0])
        self.level = {"2": "FULL", "1": "NORMAL"}.get(found, found)
        self.commits: list[str] = []
        journal._conn.set_trace_callback(self._seen)

    def _seen(self, statement: str) -> None:
        words = statement.strip().upper().split()
        if words[:2] == ["PRAGMA", "SYNCHRONOUS"] and "=" in words:
            self.level = words[-1]
        elif words[:1] == ["COMMIT"]:
            self.commits.append(self.level)

    def take(self) -> list[str]:
        taken, self.commits = self.commits, []
        return taken


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    opened = Journal.open(tmp_path / "journal.sqlite3")
    yield opened
    opened.close()


def test_only_the_commits_guarding_server_calls_wait_for_the_disk(
    journal: Journal, tmp_path: Path
) -> None:
    levels = CommitLevels(journal)
    assert levels.level == "FULL"  # as opened
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

    failed = journal.begin(tmp_path / "b.pdf", folder_key="k", step=Step.STABLE)
    journal.advance(failed.id, Step.HASHED, sha256="bb")
    journal.advance(failed.id, Step.CREATED, document_id="d_3")
    journal.advance(failed.id, Step.UPLOADED)
    journal.advance(failed.id, Step.VERIFIED)
    journal.advance(failed.id, Step.LINKED, fulfillments={RD: "f_2"})
    levels.take()
    journal.settle(failed.id, Outcome.FAILED, tmp_path / "failed" / "b.pdf", "moved back")
    assert levels.take() == ["FULL"]  # only a done/ receipt is found again at start
