"""The snapshot lists the failed files still in failed/ and the last files done, from the
journal, with what a tray shows of each: name, where it is, requirement, reason."""

from __future__ import annotations

from pathlib import Path

from agent.engine.problems import CREDENTIALS
from agent.engine.snapshot import EngineFacts, SettledFiles, take_snapshot
from agent.engine.status import RECENT_LIMIT, Snapshot
from agent.journal import Journal, Outcome, Step

RD = "rd_BankStatements00000001"
KEY = f"w_Demo/{RD}"


def settle(journal: Journal, folder: Path, name: str, outcome: Outcome, message: str) -> Path:
    source = folder / name
    entry = journal.begin(
        source,
        folder_key=KEY,
        claimed=folder / ".processing" / name,
        step=Step.STABLE,
        workflow_id="w_Demo",
        required_document_ids=(RD,),
    )
    final = folder / outcome.value / name
    final.parent.mkdir(parents=True, exist_ok=True)
    final.write_bytes(b"%PDF-1.4")
    journal.settle(entry.id, outcome, final, message)
    return final


def test_failed_files_still_there_and_the_last_done_are_listed(tmp_path: Path) -> None:
    folder = tmp_path / "Bank statements"
    with Journal.open(tmp_path / "journal.sqlite3") as journal:
        files = SettledFiles(journal)
        for n in range(RECENT_LIMIT + 2):
            settle(journal, folder, f"statement-{n}.pdf", Outcome.DONE, "uploaded")
        wrong = settle(
            journal,
            folder,
            "notes.txt",
            Outcome.FAILED,
            "Kompliant does not accept .txt files. Save it as a PDF and drop it again.",
        )
        gone = settle(journal, folder, "gone.txt", Outcome.FAILED, "not a document type")
        gone.unlink()  # deleted by hand from failed/

        failed, recent = files.of(journal.status())

    assert [f.name for f in failed] == ["notes.txt"]
    assert failed[0].path == str(wrong)
    assert failed[0].required_document_ids == (RD,) and failed[0].folder_key == KEY
    assert failed[0].reason.startswith("Kompliant does not accept .txt files")
    assert [f.name for f in recent] == [f"statement-{n}.pdf" for n in range(11, 1, -1)]
    assert all(f.reason == "" for f in recent)


def test_the_journal_is_read_again_only_when_the_counts_change(tmp_path: Path) -> None:
    folder = tmp_path / "Bank statements"
    with Journal.open(tmp_path / "journal.sqlite3") as journal:
        files = SettledFiles(journal)
        counts = journal.status()
        assert files.of(counts) == ((), ())
        settle(journal, folder, "late.pdf", Outcome.DONE, "uploaded")
        assert files.of(counts) == ((), ())  # same counts: the list it had
        assert [f.name for f in files.of(journal.status())[1]] == ["late.pdf"]


def test_the_snapshot_says_when_someone_must_sign_in() -> None:
    def snapshot(problems: dict[str, str]) -> Snapshot:
        facts = EngineFacts(paused=False, offline=False, problems=problems, busy=False, checking=0)
        return take_snapshot(facts, [], pid=1, updated_at="")

    assert snapshot({CREDENTIALS: "Kompliant refused the credentials"}).sign_in_needed
    assert not snapshot({}).sign_in_needed
