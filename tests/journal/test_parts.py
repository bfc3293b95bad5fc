"""Scanned stacks in the journal: parts recorded once, with the stack; scans kept; unclaim."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from agent.journal import Journal, NewPart, Step
from agent.journal.schema import _V1

WF = "w_DemoApplication000000001"
RD_BANK = "rd_BankStatements00000001"
INBOX = Path("/data/Kompliant/App/Inbox")


def _stack(journal: Journal) -> int:
    entry = journal.begin(INBOX / "scan.pdf", folder_key=f"{WF}/inbox", workflow_id=WF)
    journal.advance(entry.id, Step.STABLE, claimed_path=INBOX / ".processing" / "scan.pdf")
    return entry.id


def _parts() -> list[NewPart]:
    work = INBOX / ".processing" / ".scan"
    return [
        NewPart(
            2,
            INBOX / "scan - Bank statements.pdf",
            work / "1-2.pdf",
            f"{WF}/{RD_BANK}",
            WF,
            (RD_BANK,),
        ),
        NewPart(3, INBOX / "scan - part 3.pdf", work / "1-3.pdf", f"{WF}/inbox", WF),
    ]


def test_a_split_is_recorded_once_with_its_parts(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "j.sqlite3") as journal:
        stack = _stack(journal)
        parts = journal.split(stack, {"pages": 9}, _parts())
        assert [(p.part_number, p.step, p.parent_id) for p in parts] == [
            (2, Step.STABLE, stack),
            (3, Step.STABLE, stack),
        ]
        assert parts[0].required_document_ids == (RD_BANK,)
        assert parts[0].file_name == "scan - Bank statements.pdf"
        again = journal.split(stack, {"pages": 9}, _parts())
        assert [p.id for p in again] == [p.id for p in parts]
        parent = journal.get(stack)
        assert parent is not None and parent.scan == {"pages": 9, "state": "split"}
    with Journal.open(tmp_path / "j.sqlite3") as journal:  # read back from disk
        assert [p.part_number for p in journal.parts_of(stack)] == [2, 3]


def test_a_conversion_is_kept_until_the_document_is_created(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "j.sqlite3") as journal:
        stack = _stack(journal)
        work = INBOX / ".processing" / ".scan" / "1.pdf"
        entry = journal.record_scan(
            stack, {"converted": "TIFF"}, upload_path=work, upload_name="scan.pdf"
        )
        assert entry.upload_path == work and entry.upload_name == "scan.pdf"
        entry = journal.record_scan(stack, {"pages": 3})
        assert entry.scan == {"converted": "TIFF", "pages": 3} and entry.upload_path == work
        journal.advance(stack, Step.HASHED, sha256="ab")
        journal.advance(stack, Step.CREATED, document_id="d_1")
        with pytest.raises(ValueError, match="too late"):
            journal.record_scan(stack, {"x": 1})


def test_unclaim_puts_the_entry_back_as_needing_routing(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "j.sqlite3") as journal:
        stack = _stack(journal)
        entry = journal.unclaim(stack, "scan.pdf matches no inbox rule")
        assert entry.step is Step.SEEN and entry.claimed_path is None and entry.needs_routing
        assert journal.find_by_source(INBOX / "scan.pdf") == entry


def test_a_journal_of_the_first_format_is_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    for statement in _V1:
        conn.execute(statement)
    conn.execute(
        "INSERT INTO entries (step, source_path, folder_key, file_name, created_at, "
        "updated_at) VALUES ('seen', '/a/b.pdf', 'k', 'b.pdf', 1, 1)"
    )
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    with Journal.open(path) as journal:
        (entry,) = journal.unsettled()
        assert entry.parent_id is None and entry.scan == {} and entry.upload_path is None
