"""End to end with a long-running ``run``: the real watchdog observer sees files arrive."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from tests.conftest import RD_BANK
from tests.engine.badkit import wait_outcome
from tests.engine.conftest import (
    AgentHome,
    Kompliant,
    documents_in,
    files_in,
)
from tests.kit.notes import receipt, sha, uploaded_id
from tests.kit.wait import wait_for


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def test_a_file_written_slowly_is_uploaded_once_and_whole(
    agent_home: AgentHome, kompliant: Kompliant
) -> None:
    agent_home.write_config()
    agent_home.add_workflow()
    bank = agent_home.folder("Bank statements")
    agent = agent_home.start()
    chunks = [b"%%PDF-1.4 page %d\n" % i for i in range(7)] + [b"%%EOF\n"]

    with (bank / "scan.pdf").open("wb") as handle:
        for chunk in chunks:  # the scenario itself: a scanner writing page by page
            handle.write(chunk)
            handle.flush()
            time.sleep(0.5)
    content = b"".join(chunks)

    text = wait_for(
        lambda: _read(bank / "done" / "scan.pdf.receipt.txt"),
        what="scan.pdf's receipt in done/",
        process=agent.process,
    )
    assert f"SHA-256: {sha(content)}" in text
    assert (bank / "done" / "scan.pdf").read_bytes() == content
    documents = kompliant.documents()
    assert [d.document_id for d in documents] == [uploaded_id(text)]
    assert kompliant.client.get_document(documents[0].document_id).hash == sha(content)
    assert len(kompliant.fulfillments(RD_BANK)) == 1
    assert documents_in(bank) == []
    assert agent.stop() == 0


def test_files_present_before_start_are_settled(
    agent_home: AgentHome, kompliant: Kompliant
) -> None:
    agent_home.write_config()
    agent_home.add_workflow()
    bank = agent_home.folder("Bank statements")
    ident = agent_home.folder("Government ID")
    (bank / "january.pdf").write_bytes(b"%PDF-1.4 jan\n%%EOF\n")
    (ident / "passport.png").write_bytes(b"\x89PNG\r\n\x1a\n passport IEND\xaeB`\x82")

    agent = agent_home.start()

    for folder, name in ((bank, "january.pdf"), (ident, "passport.png")):
        assert wait_outcome(agent, folder, name).kind == "done"
    assert documents_in(bank) == [] and documents_in(ident) == []
    assert {d.file_name for d in kompliant.documents()} == {"january.pdf", "passport.png"}
    assert kompliant.fulfillment_count() == 2
    assert agent.stop() == 0


def test_a_folder_moved_in_has_its_files_settled(
    agent_home: AgentHome, kompliant: Kompliant
) -> None:
    agent_home.write_config()
    agent_home.add_workflow()
    bank = agent_home.folder("Bank statements")
    outside = agent_home.home / "from-the-desktop" / "2024"
    outside.mkdir(parents=True)
    (outside / "jan.pdf").write_bytes(b"%PDF-1.4 jan 2024\n%%EOF\n")
    (outside / "feb.pdf").write_bytes(b"%PDF-1.4 feb 2024\n%%EOF\n")
    agent = agent_home.start()

    moved = bank / "2024"
    outside.rename(moved)

    def settled() -> list[Path] | None:
        receipts = list(bank.rglob("*.receipt.txt"))
        return receipts if len(receipts) == 2 else None

    receipts = wait_for(settled, what="both files settled", process=agent.process)
    ids = {uploaded_id(r.read_text(encoding="utf-8")) for r in receipts}
    assert {d.document_id for d in kompliant.documents()} == ids
    assert {f.document_id for f in kompliant.fulfillments(RD_BANK)} == ids
    assert documents_in(moved) == []
    assert agent.stop() == 0


def test_a_renamed_requirement_folder_still_maps_to_its_required_document(
    agent_home: AgentHome, kompliant: Kompliant
) -> None:
    agent_home.write_config()
    agent_home.add_workflow()
    before_start = agent_home.folder("Bank statements").rename(agent_home.folder("Statements"))
    agent = agent_home.start()
    (before_start / "one.pdf").write_bytes(b"%PDF-1.4 one\n%%EOF\n")
    assert wait_outcome(agent, before_start, "one.pdf").kind == "done"

    while_running = before_start.rename(agent_home.folder("Kontoauszüge"))
    (while_running / "two.pdf").write_bytes(b"%PDF-1.4 two\n%%EOF\n")

    assert wait_outcome(agent, while_running, "two.pdf").kind == "done"
    assert sorted(f.document_id for f in kompliant.fulfillments(RD_BANK)) == sorted(
        uploaded_id(receipt(while_running / "done" / n)) for n in ("one.pdf", "two.pdf")
    )
    assert agent.stop() == 0


def test_moving_a_failed_file_back_retries_it_and_retry_does_it_for_all(
    agent_home: AgentHome, kompliant: Kompliant
) -> None:
    agent_home.write_config(incomplete_seconds=1.0)  # the empty files fail after 1 s
    agent_home.add_workflow()
    bank = agent_home.folder("Bank statements")
    failed = bank / "failed"
    agent = agent_home.start()
    for name in ("a.pdf", "b.pdf", "c.pdf"):
        (bank / name).write_bytes(b"")  # empty: each fails
    wait_for(
        lambda: len(files_in(failed)) == 6, what="three files in failed/", process=agent.process
    )
    assert kompliant.documents() == []
    for name in ("a.pdf", "b.pdf", "c.pdf"):  # the user fixes them where they are
        (failed / name).write_bytes(b"%PDF-1.4 fixed \n%%EOF\n" + name.encode())

    (failed / "a.pdf").rename(bank / "a.pdf")  # by hand
    assert wait_outcome(agent, bank, "a.pdf").kind == "done"
    assert [d.file_name for d in kompliant.documents()] == ["a.pdf"]

    retried = agent_home.cli("retry")  # the command, for every failed file

    assert retried.returncode == 0, retried.stderr
    assert "2 failed file(s) moved back" in retried.stdout
    wait_for(
        lambda: documents_in(bank / "done") == ["a.pdf", "b.pdf", "c.pdf"],
        what="b.pdf and c.pdf in done/",
        process=agent.process,
    )
    assert files_in(failed) == []  # the notes of retried files are put aside
    assert sorted(d.file_name for d in kompliant.documents()) == ["a.pdf", "b.pdf", "c.pdf"]
    assert len(kompliant.fulfillments(RD_BANK)) == 3
    assert agent.stop() == 0


def test_pause_holds_new_files_and_resume_lets_them_go(
    agent_home: AgentHome, kompliant: Kompliant
) -> None:
    agent_home.write_config()
    agent_home.add_workflow()
    bank = agent_home.folder("Bank statements")
    agent = agent_home.start()

    paused = agent_home.cli("pause")
    assert paused.returncode == 0, paused.stderr
    wait_for(
        lambda: agent_home.status_file().get("state") == "paused",
        what="the agent to say it is paused",
        process=agent.process,
    )
    (bank / "held.pdf").write_bytes(b"%PDF-1.4 held\n%%EOF\n")
    wait_for(
        lambda: (
            agent_home.status_file().get("checking") == 1
            and agent_home.status_file().get("state") == "paused"
        ),
        what="the file to be held",
        process=agent.process,
    )
    status = agent_home.status()
    assert status["state"] == "paused" and status["running"] is True
    assert documents_in(bank) == ["held.pdf"]  # it stays put, not claimed
    assert kompliant.documents() == []

    resumed = agent_home.cli("resume")

    assert resumed.returncode == 0, resumed.stderr
    assert wait_outcome(agent, bank, "held.pdf").kind == "done"
    assert [d.file_name for d in kompliant.documents()] == ["held.pdf"]
    assert agent.stop() == 0


def test_a_copy_that_keeps_its_times_goes_without_the_maximum_wait(
    agent_home: AgentHome, kompliant: Kompliant
) -> None:
    agent_home.write_config(max_wait_seconds=60.0)
    agent_home.add_workflow()
    bank = agent_home.folder("Bank statements")
    source = agent_home.home / "kept.pdf"
    source.write_bytes(b"%PDF-1.4 kept times\n%%EOF\n")
    agent = agent_home.start()

    shutil.copy2(source, bank / "kept.pdf")  # like cp -p: the times are set after the close

    assert wait_outcome(agent, bank, "kept.pdf", timeout=15).kind == "done"
    assert [d.file_name for d in kompliant.documents()] == ["kept.pdf"]
    assert agent.stop() == 0


def test_a_folder_is_readied_for_claims_when_a_file_arrives(
    agent_home: AgentHome, kompliant: Kompliant
) -> None:
    """``.processing/`` is made when the first file arrives, while it is still written, so
    the watcher watches it before the claim's rename lands there: a rename into a folder
    the claim itself made reached the watcher as half a move, which held every later
    event back for half a second."""
    agent_home.write_config()
    agent_home.add_workflow()
    bank = agent_home.folder("Bank statements")
    processing = bank / ".processing"
    agent = agent_home.start()
    assert not processing.exists()

    with (bank / "statement.pdf").open("wb") as handle:
        handle.write(b"%PDF-1.4 first page\n")
        handle.flush()
        wait_for(
            processing.is_dir,
            what=".processing/ made while statement.pdf is still being written",
            process=agent.process,
        )
        assert documents_in(bank) == ["statement.pdf"]  # still open: not claimed
        handle.write(b"%%EOF\n")

    text = wait_for(
        lambda: _read(bank / "done" / "statement.pdf.receipt.txt"),
        what="statement.pdf's receipt in done/",
        process=agent.process,
    )
    assert [d.document_id for d in kompliant.documents()] == [uploaded_id(text)]
    assert agent.stop() == 0
