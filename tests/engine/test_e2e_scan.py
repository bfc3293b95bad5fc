"""Scanned stacks end to end: sheets printed with `cover-sheets`, scanned, dropped into the
Inbox or a requirement folder, and what Kompliant stored checked page by page."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import RD_ADDRESS, RD_BANK, RD_ID
from tests.engine.conftest import AgentHome, Kompliant, documents_in, drop, files_in
from tests.engine.scankit import demo_stack, stored
from tests.scan.scans import ScanStyle, page_images

# --all prints the active requirements in the workflow's order
SHEET = {RD_BANK: 0, RD_ADDRESS: 1, RD_ID: 2}


def linked_documents(kompliant: Kompliant, rd: str) -> list[str]:
    return [f.document_id for f in kompliant.fulfillments(rd)]


def test_a_stack_in_the_inbox_is_cut_at_its_covers(
    agent_home: AgentHome, kompliant: Kompliant, tmp_path: Path
) -> None:
    stack = demo_stack(agent_home, tmp_path)
    stack.document("LOOSE")  # before the first cover: needs routing
    stack.cover(SHEET[RD_BANK]).document("B1").document("B2")
    stack.cover(SHEET[RD_ADDRESS], ScanStyle(dpi=150, turn=180)).document("A1")
    stack.cover(SHEET[RD_ID], ScanStyle(dpi=150, skew=-3, noise=0.02)).document("I1")
    pages = stack.pages
    inbox = agent_home.folder("Inbox")
    drop(inbox, "scan_0001.pdf", stack.pdf())

    run = agent_home.run_once()
    assert run.returncode == 0, run.stderr

    assert documents_in(inbox / "done") == ["scan_0001.pdf"]
    receipt = (inbox / "done" / "scan_0001.pdf.receipt.txt").read_text(encoding="utf-8")
    assert "A scanned stack of 8 pages with 3 cover sheet(s), cut into 4 part(s)" in receipt
    assert "Part 1, page 1 (before the first cover): saved as scan_0001 (page 1).pdf" in receipt
    assert "Part 2, pages 3-4 (after the cover on page 2): uploaded as document d_" in receipt
    assert f"linked to Bank statements ({RD_BANK})" in receipt

    # one document per part, each linked to the requirement its cover names
    documents = {d.document_id: d for d in kompliant.documents()}
    assert len(documents) == 3
    expected = {RD_BANK: pages[2:4], RD_ADDRESS: pages[5:6], RD_ID: pages[7:8]}
    for rd, images in expected.items():
        (document_id,) = linked_documents(kompliant, rd)
        content = stored(agent_home.sandbox, documents[document_id])
        # the scanned pages byte for byte, in order; no cover among them
        assert page_images(content) == images
        assert documents[document_id].file_name.startswith("scan_0001 (")
    # the loose first page waits in the Inbox, as its own file, for routing
    assert documents_in(inbox) == ["scan_0001 (page 1).pdf"]
    assert page_images((inbox / "scan_0001 (page 1).pdf").read_bytes()) == pages[0:1]
    status = agent_home.status()
    inbox_status = next(f for f in status["folders"] if f["key"].endswith("/inbox"))
    assert inbox_status["needs_routing"] == 1
    assert not files_in(inbox / ".processing" / ".scan")


def test_a_stack_in_a_requirement_folder(
    agent_home: AgentHome, kompliant: Kompliant, tmp_path: Path
) -> None:
    stack = demo_stack(agent_home, tmp_path)
    stack.document("B1").document("B2")  # before any cover: the folder's requirement
    stack.cover(SHEET[RD_ID], ScanStyle(dpi=150, turn=90)).document("I1")
    folder = agent_home.folder("Bank statements")
    drop(folder, "statements.pdf", stack.pdf())

    run = agent_home.run_once()
    assert run.returncode == 0, run.stderr

    assert documents_in(folder / "done") == ["statements.pdf"]
    documents = {d.document_id: d for d in kompliant.documents()}
    (bank,) = linked_documents(kompliant, RD_BANK)
    (government_id,) = linked_documents(kompliant, RD_ID)
    assert page_images(stored(agent_home.sandbox, documents[bank])) == stack.pages[0:2]
    assert page_images(stored(agent_home.sandbox, documents[government_id])) == stack.pages[3:4]
    assert linked_documents(kompliant, RD_ADDRESS) == []
