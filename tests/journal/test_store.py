"""The journal's steps, results, retries, duplicates and settling, read back from disk."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.journal import Entry, Journal, JournalError, Outcome, Step
from agent.journal.rows import FIELDS
from agent.journal.schema import SCHEMA_VERSION
from tests.kit.clock import FakeClock
from tests.kit.race import in_threads
from tests.kit.sandbox import DEMO_WORKFLOW as WF
from tests.kit.sandbox import RD_ADDRESS, RD_BANK

T0 = datetime(2025, 3, 24, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0.timestamp())


@pytest.fixture
def journal(tmp_path: Path, clock: FakeClock) -> Iterator[Journal]:
    opened = Journal.open(tmp_path / "state" / "journal.sqlite3", clock=clock.datetime)
    yield opened
    opened.close()


def begin(journal: Journal, name: str = "report.pdf", rds: tuple[str, ...] = (RD_BANK,)) -> int:
    folder = Path("/data/Kompliant/App/Bank statements")
    entry = journal.begin(
        folder / name, folder_key=f"{WF}/{'+'.join(rds)}", workflow_id=WF, required_document_ids=rds
    )
    return entry.id


def run_to_linked(
    journal: Journal, entry_id: int, sha: str, doc: str, rds: tuple[str, ...]
) -> None:
    journal.advance(entry_id, Step.STABLE, claimed_path=Path(f"/c/{entry_id}"), size=3, mtime_ns=7)
    journal.advance(entry_id, Step.HASHED, sha256=sha)
    journal.advance(entry_id, Step.CREATED, document_id=doc)
    journal.advance(entry_id, Step.UPLOADED)
    journal.advance(entry_id, Step.VERIFIED)
    journal.advance(entry_id, Step.LINKED, fulfillments={rd: f"f_{doc}_{rd}" for rd in rds})


def test_each_step_and_its_results_survive_reopening(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "journal.sqlite3"
    expiry = T0 + timedelta(minutes=5)
    with Journal.open(path, clock=clock.datetime) as journal:
        entry = journal.begin(
            Path("/in/report.pdf"),
            folder_key="k",
            workflow_id=WF,
            required_document_ids=[RD_BANK, RD_ADDRESS, RD_BANK],
        )
        assert entry.step is Step.SEEN
        assert entry.required_document_ids == (RD_BANK, RD_ADDRESS)  # sorted, unique
        assert entry.file_name == "report.pdf"
        eid = entry.id
        clock.now = T0.timestamp() + 1
        entry = journal.advance(
            eid, Step.STABLE, claimed_path=Path("/in/.processing/report.pdf"), size=10, mtime_ns=99
        )
        assert (entry.step, entry.size, entry.mtime_ns) == (Step.STABLE, 10, 99)
        assert journal.advance(eid, Step.HASHED, sha256="ab" * 32).sha256 == "ab" * 32
        entry = journal.advance(eid, Step.CREATED, document_id="d_1", form_expires_at=expiry)
        assert (entry.document_id, entry.form_expires_at) == ("d_1", expiry)
        assert journal.advance(eid, Step.UPLOADED).step is Step.UPLOADED
        assert journal.advance(eid, Step.VERIFIED).step is Step.VERIFIED
        entry = journal.advance(eid, Step.LINKED, fulfillments={RD_BANK: "f_1", RD_ADDRESS: "f_2"})
        assert entry.fulfillments == {RD_BANK: "f_1", RD_ADDRESS: "f_2"}
        clock.now = T0.timestamp() + 2
        journal.settle(eid, Outcome.DONE, Path("/in/done/report.pdf"), "uploaded and linked")

    with Journal.open(path, clock=clock.datetime) as journal:
        found = journal.get(eid)
        assert found is not None
        entry = found
        assert entry.step is Step.SETTLED and entry.settled
        assert entry.outcome is Outcome.DONE
        assert entry.final_path == Path("/in/done/report.pdf")
        assert entry.claimed_path == Path("/in/.processing/report.pdf")
        assert entry.source_path == Path("/in/report.pdf")
        assert entry.document_id == "d_1" and entry.sha256 == "ab" * 32
        assert entry.form_expires_at == expiry
        assert entry.fulfillments == {RD_BANK: "f_1", RD_ADDRESS: "f_2"}
        assert entry.created_at == T0 and entry.updated_at == T0 + timedelta(seconds=2)
        assert journal.unsettled() == []


def test_wal_is_in_force_and_durable_commits_sync_its_log(journal: Journal) -> None:
    conn = sqlite3.connect(journal.path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        conn.close()
    # no COMMIT waits for the disk; the journal syncs the log after the ones that must
    # (tests/journal/test_durability.py)
    assert journal._conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert journal._wal_fd is not None


def test_a_finished_step_is_never_repeated_or_undone(journal: Journal) -> None:
    eid = begin(journal)
    journal.advance(eid, Step.HASHED, sha256="aa")
    with pytest.raises(ValueError, match="cannot advance"):
        journal.advance(eid, Step.HASHED, sha256="bb")
    with pytest.raises(ValueError, match="cannot advance"):
        journal.advance(eid, Step.STABLE)
    entry = journal.get(eid)
    assert entry is not None and entry.sha256 == "aa" and entry.step is Step.HASHED


def test_steps_need_their_results(journal: Journal) -> None:
    eid = begin(journal)
    with pytest.raises(ValueError, match="SHA-256"):
        journal.advance(eid, Step.HASHED)
    journal.advance(eid, Step.HASHED, sha256="aa")
    with pytest.raises(ValueError, match="document id"):
        journal.advance(eid, Step.UPLOADED)
    with pytest.raises(ValueError, match="does not record document_id"):
        journal.advance(eid, Step.UPLOADED, document_id="d_1")
    with pytest.raises(ValueError, match="settle"):
        journal.advance(eid, Step.SETTLED)
    entry = journal.get(eid)
    assert entry is not None and entry.step is Step.HASHED and entry.document_id is None


def test_rewind_after_an_expired_form_drops_the_document(journal: Journal) -> None:
    eid = begin(journal)
    journal.advance(eid, Step.HASHED, sha256="aa")
    journal.advance(eid, Step.CREATED, document_id="d_old", form_expires_at=T0)
    entry = journal.rewind(eid, Step.HASHED, "upload form expired")
    assert (entry.step, entry.document_id, entry.form_expires_at) == (Step.HASHED, None, None)
    assert entry.sha256 == "aa" and entry.last_error == "upload form expired"
    assert journal.advance(eid, Step.CREATED, document_id="d_new").document_id == "d_new"


def test_rewind_is_refused_once_fulfillments_exist(journal: Journal) -> None:
    eid = begin(journal, rds=(RD_BANK, RD_ADDRESS))
    journal.advance(eid, Step.HASHED, sha256="aa")
    journal.advance(eid, Step.CREATED, document_id="d_1")
    journal.advance(eid, Step.VERIFIED)
    journal.record_fulfillments(eid, {RD_BANK: "f_1"})
    with pytest.raises(ValueError, match="cannot be rewound"):
        journal.rewind(eid, Step.HASHED, "again")
    entry = journal.advance(eid, Step.LINKED, fulfillments={RD_ADDRESS: "f_2"})
    assert entry.fulfillments == {RD_BANK: "f_1", RD_ADDRESS: "f_2"}


def test_retries_count_and_are_not_reset_by_progress(journal: Journal, clock: FakeClock) -> None:
    eid = begin(journal)
    later = T0 + timedelta(seconds=30)
    entry = journal.record_retry(eid, "Kompliant had a problem (HTTP 503)", later)
    assert (entry.attempts, entry.next_attempt_at) == (1, later)
    assert entry.last_error == "Kompliant had a problem (HTTP 503)"
    entry = journal.advance(eid, Step.HASHED, sha256="aa")
    assert entry.attempts == 1 and entry.next_attempt_at is None
    assert journal.record_retry(eid, "again", later).attempts == 2


def test_stored_messages_never_keep_credentials(journal: Journal) -> None:
    eid = begin(journal)
    sig = "iWEh4jjK9wfjTXd/3GzImPLL1swTZiCPpDbj62vFo2Q="
    token = "7F2Av26rUgtzJYgUG9IilG1W6ZMLnt7Dak3Gyht220KLpkBLSJRMOzhBYd"
    error = f"proxy said: Authorization: KSig1-HMAC-SHA256 {sig}\nX-API-Auth-Token: {token}"
    entry = journal.record_retry(eid, error, T0)
    assert entry.last_error is not None
    assert sig not in entry.last_error and token not in entry.last_error
    assert "proxy said" in entry.last_error
    entry = journal.settle(eid, Outcome.FAILED, None, f"X-Amz-Signature={sig} for d_1")
    assert entry.message == "X-Amz-Signature=[redacted] for d_1"


def test_find_by_claimed_and_source_skip_settled(journal: Journal) -> None:
    claimed = Path("/in/.processing/a.pdf")
    first = journal.begin(Path("/in/a.pdf"), folder_key="k", claimed=claimed, step=Step.STABLE)
    journal.settle(first.id, Outcome.FAILED, Path("/in/failed/a.pdf"), "empty file")
    assert journal.find_by_claimed(claimed) is None
    second = journal.begin(Path("/in/a.pdf"), folder_key="k", claimed=claimed, step=Step.STABLE)
    found = journal.find_by_claimed(claimed)
    assert found is not None and found.id == second.id
    by_source = journal.find_by_source(Path("/in/a.pdf"))
    assert by_source is not None and by_source.id == second.id
    assert [e.id for e in journal.unsettled()] == [second.id]


def test_find_uploaded_needs_the_same_content_linked_to_the_same_requirements(
    journal: Journal,
) -> None:
    combined = begin(journal, "a.pdf", rds=(RD_BANK, RD_ADDRESS))
    run_to_linked(journal, combined, "s1", "d_1", (RD_BANK, RD_ADDRESS))

    found = journal.find_uploaded("s1", [RD_BANK])
    assert found is not None and found.id == combined and found.document_id == "d_1"
    assert journal.find_uploaded("s1", [RD_ADDRESS, RD_BANK]) is not None
    assert journal.find_uploaded("s1", ["rd_GovernmentId000000001"]) is None
    assert journal.find_uploaded("s2", [RD_BANK]) is None
    assert journal.find_uploaded("s1", [RD_BANK], workflow_id="w_Other") is None
    assert journal.find_uploaded("s1", [RD_BANK], exclude_id=combined) is None

    # content only uploaded (upload-only folder) counts for upload-only, not for a requirement
    upload_only = begin(journal, "b.pdf", rds=())
    journal.advance(upload_only, Step.HASHED, sha256="s3")
    journal.advance(upload_only, Step.CREATED, document_id="d_3")
    assert journal.find_uploaded("s3", []) is None  # not verified yet
    journal.advance(upload_only, Step.VERIFIED)
    assert journal.find_uploaded("s3", []) is not None
    assert journal.find_uploaded("s3", [RD_BANK]) is None


def test_find_uploaded_ignores_failed_and_duplicate_entries(journal: Journal) -> None:
    failed = begin(journal, "a.pdf")
    run_to_linked(journal, failed, "s1", "d_1", (RD_BANK,))
    journal.settle(failed, Outcome.FAILED, None, "moved away")
    assert journal.find_uploaded("s1", [RD_BANK]) is None

    good = begin(journal, "b.pdf")
    run_to_linked(journal, good, "s1", "d_2", (RD_BANK,))
    journal.settle(good, Outcome.DONE, Path("/x/done/b.pdf"), "uploaded")
    dup = begin(journal, "c.pdf")
    journal.advance(dup, Step.HASHED, sha256="s1")
    journal.settle(dup, Outcome.DONE, Path("/x/done/c.pdf"), "same content", duplicate_of="d_2")
    found = journal.find_uploaded("s1", [RD_BANK])
    assert found is not None and found.id == good
    assert journal.get(dup) is not None and journal.get(dup).duplicate_of == "d_2"  # type: ignore[union-attr]


def test_routing_an_inbox_file(journal: Journal) -> None:
    entry = journal.begin(Path("/in/Inbox/scan001.pdf"), folder_key=f"{WF}/inbox")
    entry = journal.mark_needs_routing(entry.id, "No routing rule matches scan001.pdf")
    assert entry.needs_routing
    entry = journal.route(
        entry.id, folder_key=f"{WF}/{RD_BANK}", workflow_id=WF, required_document_ids=[RD_BANK]
    )
    assert not entry.needs_routing and entry.required_document_ids == (RD_BANK,)
    assert entry.folder_key == f"{WF}/{RD_BANK}"


def test_forget_only_before_server_work(journal: Journal) -> None:
    gone = begin(journal, "gone.pdf")
    journal.forget(gone)
    assert journal.get(gone) is None
    started = begin(journal, "started.pdf")
    journal.advance(started, Step.HASHED, sha256="aa")
    journal.advance(started, Step.CREATED, document_id="d_1")
    with pytest.raises(ValueError, match="settle it"):
        journal.forget(started)
    assert journal.get(started) is not None


def test_settled_entries_take_no_more_changes(journal: Journal) -> None:
    eid = begin(journal)
    journal.settle(eid, Outcome.DONE, None, "ok")
    with pytest.raises(ValueError):
        journal.settle(eid, Outcome.FAILED, None, "again")
    with pytest.raises(ValueError):
        journal.record_retry(eid, "x", T0)
    with pytest.raises(ValueError):
        journal.advance(eid, Step.LINKED)


def test_naive_times_are_refused(journal: Journal) -> None:
    eid = begin(journal)
    with pytest.raises(ValueError, match="timezone"):
        journal.record_retry(eid, "x", datetime(2025, 1, 1))


def test_many_threads_advance_their_own_entries(journal: Journal) -> None:
    ids = [begin(journal, f"f{n}.pdf") for n in range(16)]
    errors: list[BaseException] = []

    def work(eid: int) -> None:
        try:
            run_to_linked(journal, eid, f"sha{eid}", f"d_{eid}", (RD_BANK,))
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    in_threads(work, ids)
    assert errors == []
    for eid in ids:
        entry = journal.get(eid)
        assert entry is not None and entry.step is Step.LINKED
        assert entry.document_id == f"d_{eid}" and entry.fulfillments == {
            RD_BANK: f"f_d_{eid}_{RD_BANK}"
        }


def test_a_journal_from_a_newer_agent_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    Journal.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(JournalError, match="newer kompliant-agent") as caught:
        Journal.open(path)
    assert "Update kompliant-agent" in caught.value.describe()


def test_migration_hook_applies_missing_versions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent.journal import schema

    path = tmp_path / "journal.sqlite3"
    Journal.open(path).close()
    later = SCHEMA_VERSION + 1
    monkeypatch.setattr(schema, "SCHEMA_VERSION", later)
    monkeypatch.setitem(schema.MIGRATIONS, later, ("ALTER TABLE hot ADD COLUMN note TEXT",))
    with Journal.open(path) as journal:
        columns = {row[1] for row in journal._conn.execute("PRAGMA table_info(hot)")}
        assert "note" in columns
        assert journal._conn.execute("PRAGMA user_version").fetchone()[0] == later


def test_settled_done_rows_leave_the_hot_rows_and_stay_readable(journal: Journal) -> None:
    eid = begin(journal, "a.pdf")
    run_to_linked(journal, eid, "s1", "d_1", (RD_BANK,))
    before = journal.changes
    journal.settle(eid, Outcome.DONE, Path("/x/done/a.pdf"), "uploaded")
    assert journal.changes == before + 1
    hot = journal._conn.execute("SELECT COUNT(*) FROM hot").fetchone()[0]
    assert hot == 0
    archived = journal.get(eid)
    assert archived is not None and archived.settled and archived.document_id == "d_1"
    later = begin(journal, "b.pdf")
    assert later > eid  # an archived id is never given again
    found = journal.find_uploaded("s1", [RD_BANK], exclude_id=later)
    assert found is not None and found.id == eid  # duplicates are found in the archive
    assert [c.as_dict()["done"] for c in journal.status()] == [1]


def test_a_claimed_file_found_elsewhere_is_relocated(journal: Journal) -> None:
    eid = begin(journal, "a.pdf")
    journal.advance(
        eid,
        Step.STABLE,
        claimed_path=Path("/w/Bank/.processing/a.pdf"),
        claimed_ino=7,
        claimed_dev=1,
    )
    moved = journal.relocate(
        eid,
        claimed_path=Path("/w/Bank renamed/.processing/a.pdf"),
        source_path=Path("/w/Bank renamed/a.pdf"),
    )
    assert moved.claimed_path == Path("/w/Bank renamed/.processing/a.pdf")
    assert moved.source_path == Path("/w/Bank renamed/a.pdf")
    assert (moved.claimed_ino, moved.claimed_dev) == (7, 1)
    found = journal.find_by_claimed(Path("/w/Bank renamed/.processing/a.pdf"))
    assert found is not None and found.id == eid
    journal.settle(eid, Outcome.DONE, Path("/w/Bank renamed/done/a.pdf"), "uploaded")
    with pytest.raises(ValueError, match="settled"):
        journal.relocate(eid, claimed_path=Path("/elsewhere"))


def test_a_taken_over_claim_resumes_at_the_other_agents_step(
    tmp_path: Path, journal: Journal
) -> None:
    with Journal.open(tmp_path / "theirs.sqlite3") as theirs:
        eid = begin(theirs, "a.pdf", rds=(RD_BANK, RD_ADDRESS))
        run_to_linked(theirs, eid, "s1", "d_1", (RD_BANK,))
        earlier = theirs.get(eid)
    assert earlier is not None
    mine = journal.take_over(
        Path("/w/Bank/a.pdf"),
        earlier,
        folder_key=f"{WF}/{RD_BANK}",
        claimed=Path("/w/Bank/.processing/a.pdf"),
        folder_id="f1",
    )
    assert mine.step is Step.LINKED and mine.document_id == "d_1" and mine.sha256 == "s1"
    assert mine.fulfillments == {RD_BANK: f"f_d_1_{RD_BANK}"}
    assert mine.required_document_ids == (RD_BANK, RD_ADDRESS) and mine.folder_id == "f1"
    assert mine.claimed_path == Path("/w/Bank/.processing/a.pdf")


def test_a_file_failing_again_under_the_same_name_counts_once(journal: Journal) -> None:
    # Retried and failed again at once: the second failure takes the name in failed/
    # before anything noticed that the first one left it. Only the new one waits there.
    failed = Path("/data/Kompliant/App/Bank statements/failed/notes.txt")
    first = begin(journal, "notes.txt")
    journal.settle(first, Outcome.FAILED, failed, "not a type Kompliant takes")
    second = begin(journal, "notes.txt")
    journal.settle(second, Outcome.FAILED, failed, "not a type Kompliant takes")

    assert [e.id for e in journal.failed_waiting()] == [second]
    assert journal.get(first).resolved_at is not None


def test_each_write_returns_the_entry_as_it_reads_back(
    journal: Journal, clock: FakeClock, tmp_path: Path
) -> None:
    """A write returns the entry it made without reading its row again: that entry is the
    one a read gives, field for field, after every kind of change."""

    def same(entry: Entry) -> Entry:
        assert journal.get(entry.id) == entry
        assert Entry(**vars(entry)) == entry  # every field is there, as Entry() makes it
        return entry

    rds = (RD_BANK, RD_ADDRESS)
    entry = same(journal.begin(Path("/in/inbox/scan.pdf"), folder_key="inbox", workflow_id=WF))
    entry = same(journal.record_scan(entry.id, {"looked": True, "pages": [1, 2]}))
    entry = same(journal.route(entry.id, folder_key="k", workflow_id=WF, required_document_ids=rds))
    clock.advance(1.5)
    entry = same(
        journal.advance(
            entry.id,
            Step.STABLE,
            claimed_path=tmp_path / ".processing" / "scan.pdf",
            claimed_ino=11,
            claimed_dev=3,
            size=7,
            mtime_ns=123,
        )
    )
    entry = same(
        journal.relocate(entry.id, claimed_path=tmp_path / "x" / "scan.pdf", folder_sub="a")
    )
    entry = same(journal.advance(entry.id, Step.HASHED, sha256="ab" * 32))
    entry = same(journal.record_retry(entry.id, "no answer", T0 + timedelta(seconds=3.25)))
    expiry = T0 + timedelta(minutes=5, microseconds=123457)
    entry = same(journal.advance(entry.id, Step.CREATED, document_id="d_1", form_expires_at=expiry))
    assert entry.form_expires_at == expiry and entry.next_attempt_at is None
    entry = same(journal.rewind(entry.id, Step.HASHED, "the upload form expired"))
    entry = same(journal.advance(entry.id, Step.CREATED, document_id="d_2"))
    entry = same(journal.advance(entry.id, Step.UPLOADED))
    entry = same(journal.advance(entry.id, Step.VERIFIED))
    entry = same(journal.record_fulfillments(entry.id, {RD_BANK: "f_1"}))
    entry = same(journal.advance(entry.id, Step.LINKED, fulfillments={RD_ADDRESS: "f_2"}))
    assert entry.fulfillments == {RD_BANK: "f_1", RD_ADDRESS: "f_2"}
    clock.advance(0.25)
    entry = same(journal.settle(entry.id, Outcome.DONE, tmp_path / "done" / "scan.pdf", "ok"))
    assert entry.settled and entry.updated_at == clock.datetime()

    other = journal.begin(Path("/in/a.pdf"), folder_key="k", step=Step.STABLE)
    same(journal.unclaim(other.id, "matches no rule"))
    failed = same(journal.settle(other.id, Outcome.FAILED, tmp_path / "failed" / "a.pdf", "no"))
    assert failed.outcome is Outcome.FAILED


def test_rows_hold_the_entrys_fields_in_order(journal: Journal) -> None:
    """A row of the current format is read by position (rows.entry_from_row): its columns
    must be the entry's fields, in order, in both tables."""
    for table in ("hot", "archive"):
        columns = [row[1] for row in journal._conn.execute(f"PRAGMA table_info({table})")]
        assert tuple(columns) == FIELDS


def test_a_claim_records_stable_as_advance_would_without_reading_back(
    journal: Journal, clock: FakeClock, tmp_path: Path
) -> None:
    begun = journal.begin(Path("/in/a.pdf"), folder_key="k", workflow_id=WF, folder_id="m1")
    clock.advance(1.5)
    claimed = journal.claimed(
        begun, tmp_path / ".processing" / "a.pdf", claimed_ino=11, claimed_dev=3
    )
    assert journal.get(begun.id) == claimed  # what a read gives, field for field
    other = journal.begin(Path("/in/b.pdf"), folder_key="k", workflow_id=WF, folder_id="m1")
    clock.advance(1.5)
    advanced = journal.advance(
        other.id,
        Step.STABLE,
        claimed_path=tmp_path / ".processing" / "a.pdf",
        claimed_ino=11,
        claimed_dev=3,
    )
    differs = {"id", "source_path", "file_name", "created_at", "updated_at"}
    assert {k: v for k, v in vars(claimed).items() if k not in differs} == {
        k: v for k, v in vars(advanced).items() if k not in differs
    }
    assert claimed.updated_at == T0 + timedelta(seconds=1.5) and claimed.step is Step.STABLE


def test_a_claim_is_recorded_once_and_only_at_seen(journal: Journal, tmp_path: Path) -> None:
    begun = journal.begin(Path("/in/a.pdf"), folder_key="k")
    journal.claimed(begun, tmp_path / "a.pdf")
    with pytest.raises(ValueError, match="not at SEEN"):
        journal.claimed(begun, tmp_path / "b.pdf")  # twice
    journal.advance(begun.id, Step.HASHED, sha256="ab" * 32)
    with pytest.raises(ValueError, match="not at SEEN"):
        journal.claimed(begun, tmp_path / "b.pdf")  # after a later step
    assert journal.get(begun.id).claimed_path == tmp_path / "a.pdf"  # type: ignore[union-attr]
    gone = journal.begin(Path("/in/c.pdf"), folder_key="k")
    journal.forget(gone.id)
    with pytest.raises(ValueError, match="not at SEEN"):
        journal.claimed(gone, tmp_path / "c.pdf")  # forgotten
    assert journal.find_by_claimed(tmp_path / "c.pdf") is None


def test_a_new_entry_is_what_its_row_reads_back(journal: Journal, tmp_path: Path) -> None:
    """begin() builds the entry from what it inserted: the schema's defaults for the rest."""
    plain = journal.begin(Path("/in/inbox/a.pdf"), folder_key="inbox")
    full = journal.begin(
        Path("/in/b.pdf"),
        folder_key="k",
        claimed=tmp_path / ".processing" / "b.pdf",
        step=Step.STABLE,
        workflow_id=WF,
        required_document_ids=[RD_BANK, RD_ADDRESS, RD_BANK],
        needs_routing=True,
        file_name="B.pdf",
        size=3,
        mtime_ns=9,
        folder_id="m1",
        folder_sub="2024/jan",
        claimed_ino=11,
        claimed_dev=3,
    )
    for entry in (plain, full):
        assert journal.get(entry.id) == entry
        assert Entry(**vars(entry)) == entry  # every field, as Entry() makes it
    assert plain.fulfillments == {} and plain.fulfillments is not full.fulfillments
    assert plain.scan == {} and plain.scan is not full.scan
