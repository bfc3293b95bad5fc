"""Opening stacks: passwords, damage, TIFF, and the whole look at a stack."""

from __future__ import annotations

import io
from pathlib import Path

import pikepdf
import pytest
from PIL import Image

from agent.scan.stack import StackUnreadable, examine, write_parts
from tests.scan.conftest import ADDRESS, BANK
from tests.scan.scans import (
    ScanStyle,
    document_page,
    image_pdf,
    images_of,
    page_images,
    rasterise,
    scanned,
)


def _stack(covers_pdf: bytes) -> tuple[bytes, list[bytes]]:
    cover_bank = scanned(rasterise(covers_pdf, 0, 150), ScanStyle(dpi=150, skew=1.5))
    cover_address = scanned(rasterise(covers_pdf, 1, 150), ScanStyle(dpi=150, turn=180))
    docs = [scanned(document_page(f"D{n}", dpi=150), ScanStyle(dpi=150)) for n in range(4)]
    pages = [docs[0], cover_bank, docs[1], docs[2], cover_address, docs[3]]
    return image_pdf(pages, dpi=150), pages


def test_a_stack_is_planned_and_cut(tmp_path: Path, covers_pdf: bytes) -> None:
    stack, pages = _stack(covers_pdf)
    path = tmp_path / "scan.pdf"
    path.write_bytes(stack)
    plan = examine(path, tmp_path)
    assert plan.page_count == 6 and not plan.repaired and plan.has_covers
    assert [(p.cover, p.first_page, p.last_page) for p in plan.parts] == [
        (None, 1, 1),
        (BANK, 3, 4),
        (ADDRESS, 6, 6),
    ]
    targets = {n: tmp_path / f"part{n}.pdf" for n in (1, 2, 3)}
    write_parts(path, plan.parts, targets, tmp_path)
    assert page_images(targets[1].read_bytes()) == [pages[0]]
    assert page_images(targets[2].read_bytes()) == pages[2:4]
    assert page_images(targets[3].read_bytes()) == [pages[5]]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "part1.pdf",
        "part2.pdf",
        "part3.pdf",
        "scan.pdf",
    ]


def test_a_password_protected_stack_is_refused(tmp_path: Path, covers_pdf: bytes) -> None:
    stack, _ = _stack(covers_pdf)
    path = tmp_path / "locked.pdf"
    with pikepdf.open(io.BytesIO(stack)) as pdf:
        pdf.save(path, encryption=pikepdf.Encryption(user="secret", owner="owner"))
    with pytest.raises(StackUnreadable, match="password") as caught:
        examine(path, tmp_path)
    assert "without a password" in caught.value.hint


def test_a_damaged_stack_is_repaired(tmp_path: Path, covers_pdf: bytes) -> None:
    stack, pages = _stack(covers_pdf)
    start = stack.rindex(b"xref")
    damaged = stack[:start] + b"garbage" + stack[start + 20 :]  # a broken cross-reference table
    path = tmp_path / "damaged.pdf"
    path.write_bytes(damaged)
    plan = examine(path, tmp_path)
    assert plan.repaired and plan.page_count == 6
    assert [p.cover for p in plan.parts] == [None, BANK, ADDRESS]
    write_parts(path, plan.parts, {2: tmp_path / "p.pdf"}, tmp_path)
    assert page_images((tmp_path / "p.pdf").read_bytes()) == pages[2:4]
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())


@pytest.mark.parametrize(
    "content", [b"%PDF-1.4\nnot a pdf at all", b"\x00" * 4096, b"%PDF-1.7\n%%EOF\n"]
)
def test_a_stack_beyond_repair_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(content)
    with pytest.raises(StackUnreadable, match=r"broken\.pdf"):
        examine(path, tmp_path)


def test_a_multi_page_tiff_is_read_as_a_stack(tmp_path: Path, covers_pdf: bytes) -> None:
    cover = rasterise(covers_pdf, 1, 150).convert("1")
    docs = [document_page(f"D{n}", dpi=150).convert("1") for n in range(3)]
    path = tmp_path / "scan.tif"
    docs[0].save(
        path,
        save_all=True,
        append_images=[cover, docs[1], docs[2]],
        compression="group4",
        dpi=(150, 150),
    )
    plan = examine(path, tmp_path)
    assert plan.converted_from == "TIFF" and plan.page_count == 4
    assert [(p.cover, p.first_page, p.last_page) for p in plan.parts] == [
        (None, 1, 1),
        (ADDRESS, 3, 4),
    ]
    write_parts(path, plan.parts, {2: tmp_path / "p.pdf"}, tmp_path)
    with pikepdf.open(tmp_path / "p.pdf") as pdf:
        assert len(pdf.pages) == 2
        image = next(iter(images_of(pdf.pages[0]).values()))
        assert "/CCITTFaxDecode" in str(image.Filter)  # the fax pages as they were
    with Image.open(path) as original:
        assert getattr(original, "n_frames", 1) == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.pdf", "scan.tif"]


def test_a_printout_of_the_sheets_is_only_covers(tmp_path: Path, covers_pdf: bytes) -> None:
    path = tmp_path / "covers.pdf"
    path.write_bytes(covers_pdf)
    plan = examine(path, tmp_path)
    assert plan.only_covers and all(p.empty for p in plan.parts)
