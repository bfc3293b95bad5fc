from __future__ import annotations

from pathlib import Path

from agent.scan.detect import PageFinding
from agent.scan.split import Part, plan_parts, write_pages
from tests.scan.conftest import ADDRESS, BANK
from tests.scan.scans import ScanStyle, document_page, image_pdf, page_images, scanned


def _findings(*codes: object) -> list[PageFinding]:
    return [PageFinding(n, c) for n, c in enumerate(codes, start=1)]  # type: ignore[arg-type]


def test_no_cover_no_parts() -> None:
    assert plan_parts(_findings(None, None)) == []


def test_parts_between_covers_and_the_pages_before_the_first() -> None:
    parts = plan_parts(_findings(None, None, BANK, None, None, ADDRESS, None))
    assert parts == [
        Part(1, 1, 2),
        Part(2, 4, 5, cover=BANK, cover_page=3),
        Part(3, 7, 7, cover=ADDRESS, cover_page=6),
    ]
    assert [p.pages_words() for p in parts] == ["pages 1-2", "pages 4-5", "page 7"]


def test_empty_parts_are_kept_in_the_plan() -> None:
    parts = plan_parts(_findings(BANK, ADDRESS, None, BANK))
    assert [(p.cover, p.page_count) for p in parts] == [(BANK, 0), (ADDRESS, 1), (BANK, 0)]
    assert parts[0].empty and parts[0].pages_words() == "no pages"


def test_a_part_keeps_the_scanned_images_byte_for_byte(tmp_path: Path) -> None:
    pages = [scanned(document_page(f"D{n}", dpi=100), ScanStyle(dpi=100)) for n in range(1, 5)]
    (tmp_path / "stack.pdf").write_bytes(image_pdf(pages, dpi=100))
    write_pages(tmp_path / "stack.pdf", 2, 3, tmp_path / "part.pdf")
    write_pages(tmp_path / "stack.pdf", 2, 3, tmp_path / "again.pdf")
    part = (tmp_path / "part.pdf").read_bytes()
    assert page_images(part) == pages[1:3]
    assert part == (tmp_path / "again.pdf").read_bytes()  # the same part, the same bytes
