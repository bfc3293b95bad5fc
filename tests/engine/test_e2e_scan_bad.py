"""Scanned stacks that are not as they should be: each ends with a clear note, nothing lost."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pikepdf

from agent.scan.code import CoverCode
from agent.scan.sheet import SheetContent, cover_sheets_pdf
from tests.conftest import DEMO_WORKFLOW, OTHER_WORKFLOW, RD_BANK, RD_ID, RD_INACTIVE, RD_OTHER
from tests.engine.conftest import AgentHome, Kompliant, documents_in, drop, files_in, wait_for
from tests.engine.scankit import DPI, Stack, demo_stack, print_sheets, stored
from tests.scan.scans import ScanStyle, image_pdf, lookalike_page, page_images, qr_page, scanned


def note(failed: Path, name: str) -> str:
    return (failed / f"{name}.error.txt").read_text(encoding="utf-8")


def test_parts_that_cannot_go_through_fail_alone(
    agent_home: AgentHome, kompliant: Kompliant, tmp_path: Path
) -> None:
    agent_home.write_config()
    agent_home.add_workflow()
    ours = print_sheets(agent_home, tmp_path / "ours.pdf")
    other = print_sheets(agent_home, tmp_path / "other.pdf", OTHER_WORKFLOW)
    # printed while the tax return was still required
    old = cover_sheets_pdf(
        [SheetContent(CoverCode(DEMO_WORKFLOW, RD_INACTIVE), "Demo Ltd", "Tax return 2019")]
    )
    stack = Stack(ours).cover(0).document("B1")
    stack.sheets = other
    stack.cover(0).document("O1")  # another workflow's cover
    stack.sheets = old
    stack.cover(0).document("T1")  # an INACTIVE requirement
    stack.sheets = ours
    stack.cover(2)  # a cover with nothing behind it
    stack.cover(2).document("I1")
    inbox = agent_home.folder("Inbox")
    drop(inbox, "mixed.pdf", stack.pdf())

    run = agent_home.run_once()

    assert run.returncode == 0 and "2 done, 3 failed" in run.stderr, run.stderr
    assert documents_in(inbox / "done") == ["mixed.pdf"]
    failed = inbox / "failed"
    names = documents_in(failed)
    assert names == [
        "mixed (cover on page 7) - Government ID.pdf",
        "mixed (page 4) - rd_OtherBankStatement001.pdf",
        "mixed (page 6) - Tax return 2019.pdf",
    ]
    assert "belongs to another workflow" in note(failed, names[1])
    assert "INACTIVE" in note(failed, names[2])
    assert "No pages follow the cover sheet on page 7" in note(failed, names[0])
    # each failed file holds its pages (the empty part: its cover page)
    assert page_images((failed / names[1]).read_bytes()) == stack.pages[3:4]
    assert page_images((failed / names[2]).read_bytes()) == stack.pages[5:6]
    assert page_images((failed / names[0]).read_bytes()) == stack.pages[6:7]
    # the good parts went through
    (bank,) = [f.document_id for f in kompliant.fulfillments(RD_BANK)]
    (gid,) = [f.document_id for f in kompliant.fulfillments(RD_ID)]
    assert len(kompliant.documents()) == 2
    assert kompliant.fulfillments(RD_OTHER) == [] and kompliant.fulfillments(RD_INACTIVE) == []
    documents = {d.document_id: d for d in kompliant.documents()}
    assert page_images(stored(agent_home.sandbox, documents[gid])) == stack.pages[8:9]
    receipt = (inbox / "done" / "mixed.pdf.receipt.txt").read_text(encoding="utf-8")
    assert receipt.count("FAILED: ") == 3 and receipt.count("uploaded as document") == 2
    assert bank in receipt and gid in receipt


def test_unreadable_and_odd_stacks(
    agent_home: AgentHome, kompliant: Kompliant, tmp_path: Path
) -> None:
    stack = demo_stack(agent_home, tmp_path).document("B0").cover(2).document("I1")
    inbox = agent_home.folder("Inbox")
    bank = agent_home.folder("Bank statements")
    with pikepdf.open(io.BytesIO(stack.pdf())) as pdf:
        locked = io.BytesIO()
        pdf.save(locked, encryption=pikepdf.Encryption(user="pw", owner="pw"))
    drop(inbox, "locked.pdf", locked.getvalue())
    good = stack.pdf()
    start = good.rindex(b"startxref")
    # its cross-reference points nowhere, but it ends as a PDF does (without %%EOF it
    # would be a file cut short, which waits to be whole)
    drop(bank, "damaged.pdf", good[:start] + b"startxref\n999999\n%%EOF\n")
    drop(inbox, "broken.pdf", b"%PDF-1.4\n" + b"\x00" * 4000 + b"\n%%EOF\n")
    drop(inbox, "the sheets.pdf", stack.sheets)
    # a page that only looks like a QR code and an invoice's payment code: no covers
    plain = image_pdf(
        [
            scanned(lookalike_page(DPI), ScanStyle(dpi=DPI)),
            scanned(qr_page("https://pay.example/inv/1", DPI), ScanStyle(dpi=DPI)),
        ],
        DPI,
    )
    drop(bank, "invoice.pdf", plain)

    run = agent_home.run_once()
    assert run.returncode == 0, run.stderr

    failed = inbox / "failed"
    assert documents_in(failed) == ["broken.pdf", "locked.pdf", "the sheets.pdf"]
    assert "protected by a password" in note(failed, "locked.pdf")
    assert "damaged beyond repair" in note(failed, "broken.pdf")
    assert "holds only cover sheets" in note(failed, "the sheets.pdf")
    assert (failed / "locked.pdf").read_bytes() == locked.getvalue()  # nothing lost
    # the damaged one was repaired and cut; the invoice went as it was
    assert documents_in(bank / "done") == ["damaged.pdf", "invoice.pdf"]
    receipt = (bank / "done" / "damaged.pdf.receipt.txt").read_text(encoding="utf-8")
    assert "repairs" in receipt
    documents = {d.file_name: d for d in kompliant.documents()}
    assert sorted(documents) == [
        "damaged (page 1).pdf",
        "damaged (page 3) - Government ID.pdf",
        "invoice.pdf",
    ]
    assert stored(agent_home.sandbox, documents["invoice.pdf"]) == plain
    assert (
        page_images(stored(agent_home.sandbox, documents["damaged (page 1).pdf"]))
        == (stack.pages[0:1])
    )


def test_a_500_page_stack(agent_home: AgentHome, kompliant: Kompliant, tmp_path: Path) -> None:
    bodies = demo_stack(agent_home, tmp_path)
    for part in range(5):
        bodies.document(f"P{part}")
    cover = Stack(bodies.sheets).cover(0).pages[0]
    pages = [cover if n % 100 == 0 else bodies.pages[n // 100] for n in range(500)]
    drop(agent_home.folder("Inbox"), "big.pdf", image_pdf(pages, DPI))

    run = agent_home.run_once()
    assert run.returncode == 0, run.stderr

    documents = kompliant.documents()
    assert len(documents) == 5
    stored_pages = sorted(page_images(stored(agent_home.sandbox, d)) for d in documents)
    assert stored_pages == sorted([page] * 99 for page in bodies.pages)
    assert len(kompliant.fulfillments(RD_BANK)) == 5


def test_a_stack_still_being_written_is_cut_only_when_finished(
    agent_home: AgentHome, kompliant: Kompliant, tmp_path: Path
) -> None:
    stack = demo_stack(agent_home, tmp_path)
    stack.cover(0).document("B1").document("B2").cover(2).document("I1")
    content = stack.pdf()
    inbox = agent_home.folder("Inbox")
    agent = agent_home.start()
    with (inbox / "slow.pdf").open("wb") as handle:  # a scanner writing page by page
        for offset in range(0, len(content), len(content) // 8 + 1):
            handle.write(content[offset : offset + len(content) // 8 + 1])
            handle.flush()
            time.sleep(0.2)
    receipt = inbox / "done" / "slow.pdf.receipt.txt"
    wait_for(receipt.exists, timeout=60, what="the stack's receipt", process=agent.process)
    agent.stop()
    assert len(kompliant.documents()) == 2
    documents = {d.document_id: d for d in kompliant.documents()}
    (bank,) = [f.document_id for f in kompliant.fulfillments(RD_BANK)]
    assert page_images(stored(agent_home.sandbox, documents[bank])) == stack.pages[1:3]
    assert not files_in(inbox / "failed")
