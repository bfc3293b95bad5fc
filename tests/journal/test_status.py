"""Per-folder counts, read by another process while the agent holds the journal open."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from agent.journal import FolderCounts, FolderState, Journal, Outcome, Step, read_status
from agent.journal.records import folder_state
from tests.journal.helpers import python

T0 = datetime(2025, 3, 24, 12, 0, tzinfo=UTC)

READER = """
import json, sys
from datetime import datetime
from pathlib import Path
from agent.journal import read_status

now = datetime.fromisoformat(sys.argv[2])
print(json.dumps({c.folder_key: c.as_dict() for c in read_status(Path(sys.argv[1]), now=now)}))
"""


def fill(journal: Journal) -> None:
    """bank: 1 waiting (seen), 1 backing off, 1 in progress, 2 done, 1 failed; inbox: 1 routing."""
    bank = "w/rd_bank"
    seen = journal.begin(Path("/b/1.pdf"), folder_key=bank)
    assert seen.step is Step.SEEN
    backing = journal.begin(Path("/b/2.pdf"), folder_key=bank)
    journal.advance(backing.id, Step.HASHED, sha256="x")
    journal.record_retry(backing.id, "HTTP 503", T0 + timedelta(minutes=1))
    busy = journal.begin(Path("/b/3.pdf"), folder_key=bank)
    journal.advance(busy.id, Step.HASHED, sha256="y")
    journal.record_retry(busy.id, "HTTP 503", T0 - timedelta(minutes=1))  # due again: working
    for name, outcome in (("4", Outcome.DONE), ("5", Outcome.DONE), ("6", Outcome.FAILED)):
        entry = journal.begin(Path(f"/b/{name}.pdf"), folder_key=bank)
        journal.settle(entry.id, outcome, Path(f"/b/{outcome.value}/{name}.pdf"), "x")
    inbox = journal.begin(Path("/i/scan.pdf"), folder_key="w/inbox")
    journal.mark_needs_routing(inbox.id, "no rule matches")


EXPECTED = [
    FolderCounts("w/inbox", needs_routing=1),
    FolderCounts("w/rd_bank", waiting=2, in_progress=1, done=2, failed=1),
]


def test_counts_per_folder_and_state(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "j.sqlite3", clock=lambda: T0) as journal:
        fill(journal)
        assert journal.status() == EXPECTED
    assert read_status(tmp_path / "j.sqlite3", now=T0) == EXPECTED


def test_another_process_reads_while_a_write_is_in_flight(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    with Journal.open(path, clock=lambda: T0) as journal:
        fill(journal)
        # a second writer holds an open write transaction, as a busy agent does
        writer = sqlite3.connect(path, isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")
        writer.execute(
            "INSERT INTO hot (step, source_path, folder_key, file_name, created_at,"
            " updated_at) VALUES ('seen', '/b/7.pdf', 'w/rd_bank', '7.pdf', 0, 0)"
        )
        try:
            reader = python(READER, str(path), T0.isoformat())
            out, err = reader.communicate(timeout=30)
            assert reader.returncode == 0, err
        finally:
            writer.execute("ROLLBACK")
            writer.close()
        counts = json.loads(out)
        assert counts == {c.folder_key: c.as_dict() for c in EXPECTED}  # committed snapshot only
        assert counts["w/rd_bank"]["needs routing"] == 0
        # and the agent can still write afterwards
        journal.begin(Path("/b/8.pdf"), folder_key="w/rd_bank")
        assert journal.status()[1].waiting == 3


def test_failed_files_count_only_while_they_wait_in_failed(tmp_path: Path) -> None:
    bank = "w/rd_bank"
    with Journal.open(tmp_path / "j.sqlite3", clock=lambda: T0) as journal:
        waiting, retried = (journal.begin(Path(f"/b/{n}.pdf"), folder_key=bank) for n in "ab")
        journal.settle(waiting.id, Outcome.FAILED, Path("/b/failed/a.pdf"), "too big")
        journal.settle(retried.id, Outcome.FAILED, Path("/b/failed/b.pdf"), "too big")
        gone = journal.begin(Path("/b/c.pdf"), folder_key=bank)
        journal.settle(gone.id, Outcome.FAILED, None, "removed from .processing/")
        assert journal.status() == [FolderCounts(bank, failed=2)]  # nothing waits for c
        journal.resolve(retried.id)  # moved back by `retry` (or deleted, or moved away)
        assert journal.status() == [FolderCounts(bank, failed=1)]
        assert [e.id for e in journal.failed_waiting()] == [waiting.id]
        archived = journal.get(retried.id)
        assert archived is not None and archived.resolved_at == T0
    assert read_status(tmp_path / "j.sqlite3", now=T0) == [FolderCounts(bank, failed=1)]


def test_a_journal_of_the_first_format_is_counted_and_upgraded(tmp_path: Path) -> None:
    from agent.journal.schema import MIGRATIONS

    path = tmp_path / "j.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    for statement in MIGRATIONS[1]:
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    rows = [
        ("settled", "done", "/b/d1.pdf", 1),
        ("settled", "done", "/b/d2.pdf", 2),
        ("settled", "failed", "/b/f.pdf", 3),
        ("hashed", None, "/b/w.pdf", 4),
    ]
    for step, outcome, source, n in rows:
        conn.execute(
            "INSERT INTO entries (id, step, outcome, source_path, final_path, folder_key,"
            " file_name, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'w/rd_bank', ?, 0, 0)",
            (n, step, outcome, source, source + ".final", Path(source).name),
        )
    conn.close()
    before = read_status(path, now=T0)
    assert before == [FolderCounts("w/rd_bank", in_progress=1, done=2, failed=1)]
    with Journal.open(path, clock=lambda: T0) as journal:
        assert journal.status() == before
        assert [e.id for e in journal.unsettled()] == [4]
        fresh = journal.begin(Path("/b/new.pdf"), folder_key="w/rd_bank")
        assert fresh.id == 5  # ids go on after every id used, archived ones too
        done = journal.get(1)
        assert done is not None and done.outcome is Outcome.DONE  # still there, archived
        hot = {r[0] for r in journal._conn.execute("SELECT id FROM hot")}
        assert hot == {3, 4, 5}
    assert read_status(path, now=T0) == [
        FolderCounts("w/rd_bank", waiting=1, in_progress=1, done=2, failed=1)
    ]


def test_status_of_a_profile_without_a_journal_is_empty(tmp_path: Path) -> None:
    assert read_status(tmp_path / "missing.sqlite3") == []
    assert not (tmp_path / "missing.sqlite3").exists()


def test_folder_state_rules() -> None:
    def state(step: Step, **kw: object) -> FolderState:
        args: dict[str, object] = {"outcome": None, "needs_routing": False, "backing_off": False}
        args.update(kw)
        return folder_state(step=step, **args)  # type: ignore[arg-type]

    assert state(Step.SEEN) is FolderState.WAITING
    assert state(Step.STABLE) is FolderState.WAITING
    assert state(Step.HASHED) is FolderState.IN_PROGRESS
    assert state(Step.CREATED, backing_off=True) is FolderState.WAITING
    assert state(Step.SEEN, needs_routing=True) is FolderState.NEEDS_ROUTING
    assert state(Step.SETTLED, outcome=Outcome.DONE) is FolderState.DONE
    assert state(Step.SETTLED, outcome=Outcome.FAILED) is FolderState.FAILED


def test_another_agents_entry_of_a_claimed_file_is_read_without_changing_it(
    tmp_path: Path,
) -> None:
    from agent.journal import read_claimed_entry

    path = tmp_path / "theirs.sqlite3"
    claimed = Path("/w/Bank/.processing/a.pdf")
    with Journal.open(path, clock=lambda: T0) as theirs:
        entry = theirs.begin(
            Path("/w/Bank/a.pdf"), folder_key="k", claimed=claimed, step=Step.STABLE
        )
        theirs.advance(entry.id, Step.HASHED, sha256="s1")
        theirs.advance(entry.id, Step.CREATED, document_id="d_1")
        before = path.read_bytes()
        found = read_claimed_entry(path, claimed)
        assert found is not None and found.document_id == "d_1" and found.step is Step.CREATED
        assert read_claimed_entry(path, Path("/w/Bank/.processing/other.pdf")) is None
        assert path.read_bytes() == before
    assert read_claimed_entry(tmp_path / "nowhere.sqlite3", claimed) is None
