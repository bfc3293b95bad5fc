"""Page images end to end: a scanner's numbered pages joined into one PDF (SANE's
``scanimage`` test backend writing them), multi-page TIFFs, HEIC and BMP made into PDFs."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from pathlib import Path

import pikepdf
import pypdfium2 as pdfium
import pytest
from PIL import Image

from tests.conftest import RD_ADDRESS, RD_BANK, RD_ID
from tests.engine.conftest import DEMO_FOLDER, AgentHome, Kompliant, documents_in, wait_for
from tests.engine.scankit import DPI, print_sheets, stored
from tests.kit.notes import failure_notes
from tests.scan.scans import document_page, page_count, rasterise


def scanimage() -> str:
    found = shutil.which("scanimage")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("scanimage (sane-utils) is missing: scripts/dev.py installs it")
        pytest.skip("scanimage (sane-utils) is not installed")
    return found


def join_config(folder: str, window: float = 1.0) -> str:
    return (
        f'[[folders]]\npath = "{DEMO_FOLDER}/{folder}"\njoin_images = true\n'
        f"join_window = {window}\n"
    )


def pixels(pdf: bytes) -> list[Image.Image]:
    """Each page's image as stored in the PDF, decoded."""
    document = pdfium.PdfDocument(pdf)
    try:
        found = []
        for page in document:
            (image,) = [o for o in page.get_objects() if isinstance(o, pdfium.PdfImage)]
            found.append(image.get_bitmap().to_pil().copy())
        return found
    finally:
        document.close()


def test_scanner_pages_are_joined_into_one_pdf(
    agent_home: AgentHome, kompliant: Kompliant, tmp_path: Path
) -> None:
    scanner = scanimage()
    agent_home.write_config(workflows=join_config("Proof of address"))
    agent_home.add_workflow()
    folder = agent_home.folder("Proof of address")
    agent = agent_home.start()
    # the way a scanner with a feeder writes them: one file per page, .part then renamed
    for start, options in (
        (1, ["--test-picture", "Grid"]),
        (2, ["--mode", "Color", "--test-picture", "Color pattern"]),
        (3, ["--test-picture", "Solid white"]),
    ):
        done = subprocess.run(
            [
                scanner,
                "-d",
                "test",
                "--format=png",
                "--resolution",
                "75",
                "--batch=scan-%d.png",
                f"--batch-start={start}",
                "--batch-count=1",
                *options,
            ],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
    originals = [Image.open(folder / f"scan-{n}.png").copy() for n in (1, 2, 3)]

    wait_for(
        lambda: (folder / "done" / "scan-1.png.receipt.txt").exists(),
        timeout=60,
        what="the joined scan's receipt",
        process=agent.process,
    )
    agent.stop()

    assert documents_in(folder / "done") == ["scan-1.png", "scan-2.png", "scan-3.png"]
    receipt = (folder / "done" / "scan-1.png.receipt.txt").read_text(encoding="utf-8")
    assert "converted 3 page images (PNG: scan-1.png, scan-2.png, scan-3.png)" in receipt
    assert "without loss; uploaded as scan.pdf" in receipt
    (document,) = kompliant.documents()
    assert document.file_name == "scan.pdf"
    assert [f.document_id for f in kompliant.fulfillments(RD_ADDRESS)] == [document.document_id]
    content = stored(agent_home.sandbox, document)
    assert page_count(content) == 3
    for stored_page, original in zip(pixels(content), originals, strict=True):
        assert stored_page.convert(original.mode).tobytes() == original.tobytes()


def test_page_images_with_covers_in_the_inbox_are_joined_then_cut(
    agent_home: AgentHome, kompliant: Kompliant, tmp_path: Path
) -> None:
    agent_home.write_config(workflows=join_config("Inbox"))
    agent_home.add_workflow()
    sheets = print_sheets(agent_home, tmp_path / "sheets.pdf")
    pages = [
        rasterise(sheets, 0, DPI),
        document_page("B1", DPI),
        rasterise(sheets, 2, DPI),
        document_page("I1", DPI),
        document_page("I2", DPI),
    ]
    inbox = agent_home.folder("Inbox")
    for number, page in enumerate(pages, start=1):
        page.save(inbox / f"page_{number:03d}.png", dpi=(DPI, DPI))

    run = agent_home.run_once()
    assert run.returncode == 0, run.stderr

    receipt = (inbox / "done" / "page_001.png.receipt.txt").read_text(encoding="utf-8")
    assert "cut into 2 part(s)" in receipt and "converted 5 page images" in receipt
    assert len(documents_in(inbox / "done")) == 5
    documents = {d.document_id: d for d in kompliant.documents()}
    (bank,) = [f.document_id for f in kompliant.fulfillments(RD_BANK)]
    (gid,) = [f.document_id for f in kompliant.fulfillments(RD_ID)]
    assert page_count(stored(agent_home.sandbox, documents[bank])) == 1
    stored_id = stored(agent_home.sandbox, documents[gid])
    assert [p.convert("L").tobytes() for p in pixels(stored_id)] == [
        pages[3].tobytes(),
        pages[4].tobytes(),
    ]


def test_tiff_heic_and_bmp_are_made_pdfs(
    agent_home: AgentHome, kompliant: Kompliant, tmp_path: Path
) -> None:
    import pillow_heif

    pillow_heif.register_heif_opener()
    agent_home.write_config()
    agent_home.add_workflow()
    sheets = print_sheets(agent_home, tmp_path / "sheets.pdf")
    bank = agent_home.folder("Bank statements")
    inbox = agent_home.folder("Inbox")
    address = agent_home.folder("Proof of address")
    # a fax-style multi-page TIFF without covers: converted, uploaded whole
    docs = [document_page(f"T{n}", DPI).convert("1") for n in range(3)]
    docs[0].save(
        bank / "statement.tif",
        save_all=True,
        append_images=docs[1:],
        compression="group4",
        dpi=(DPI, DPI),
    )
    # a multi-page TIFF with a cover, in the Inbox: cut
    cover = rasterise(sheets, 2, DPI).convert("1")
    cover.save(
        inbox / "scan.tiff",
        save_all=True,
        append_images=[docs[0], docs[1]],
        compression="group4",
        dpi=(DPI, DPI),
    )
    Image.new("RGB", (400, 300), (10, 120, 200)).save(address / "bill.heic")
    Image.new("RGB", (64, 48), (200, 10, 10)).save(address / "old scan.bmp")

    run = agent_home.run_once()
    assert run.returncode == 0, run.stderr

    documents = {d.file_name: d for d in kompliant.documents()}
    assert sorted(documents) == [
        "bill.pdf",
        "old scan.pdf",
        "scan (pages 2-3) - Government ID.pdf",
        "statement.pdf",
    ], f"{failure_notes(agent_home.root)}\n{run.stderr}"
    assert page_count(stored(agent_home.sandbox, documents["statement.pdf"])) == 3
    with pikepdf.open(io.BytesIO(stored(agent_home.sandbox, documents["statement.pdf"]))) as pdf:
        image = next(iter(pdf.pages[0].images.values()))
        assert "/CCITTFaxDecode" in str(image.Filter)  # the fax pages, not re-encoded
    assert documents_in(bank / "done") == ["statement.tif"]
    receipt = (bank / "done" / "statement.tif.receipt.txt").read_text(encoding="utf-8")
    assert "Converted before upload: converted statement.tif (TIFF)" in receipt
    heic = (address / "done" / "bill.heic.receipt.txt").read_text(encoding="utf-8")
    assert "HEIC photos re-encoded as JPEG at quality 95" in heic
    assert documents_in(address / "done") == ["bill.heic", "old scan.bmp"]
    assert documents_in(inbox / "done") == ["scan.tiff"]
    linked = {f.document_id for f in kompliant.fulfillments(RD_ADDRESS)}
    assert linked == {documents["bill.pdf"].document_id, documents["old scan.pdf"].document_id}
