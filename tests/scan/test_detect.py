"""Covers found on realistic scans, and nothing found where there is no cover."""

from __future__ import annotations

from pathlib import Path

import pikepdf
import pytest

from agent.scan.detect import FIRST_DPI, PageFinding, classify, find_covers
from tests.scan.conftest import ADDRESS, BANK
from tests.scan.scans import (
    ScanStyle,
    document_page,
    image_pdf,
    lookalike_page,
    qr_page,
    rasterise,
    scanned,
)


def _findings(tmp_path: Path, pdf: bytes) -> list[PageFinding]:
    path = tmp_path / "stack.pdf"
    path.write_bytes(pdf)
    with pikepdf.open(path) as document:
        return list(find_covers(document, path))


@pytest.mark.parametrize(
    "style",
    [
        ScanStyle(),
        ScanStyle(turn=90),
        ScanStyle(turn=180),
        ScanStyle(turn=270, grey=False),
        ScanStyle(skew=3.5),
        ScanStyle(skew=-4.0, quality=40),
        ScanStyle(dpi=150, noise=0.03, skew=2.0),
    ],
    ids=[
        "plain",
        "turned-90",
        "upside-down",
        "turned-270-colour",
        "skewed",
        "skewed-rough-jpeg",
        "150dpi-speckled",
    ],
)
def test_a_scanned_cover_is_found(tmp_path: Path, covers_pdf: bytes, style: ScanStyle) -> None:
    cover = scanned(rasterise(covers_pdf, 0, style.dpi), style, seed=3)
    found = _findings(tmp_path, image_pdf([cover], style.dpi))
    assert [f.code for f in found] == [BANK]


def test_a_cover_seen_only_at_the_higher_resolution(tmp_path: Path, covers_pdf: bytes) -> None:
    """Printed small (a cover reduced to a quarter on the copier): too fine at the first
    look, found at the second."""
    small = rasterise(covers_pdf, 1, 300).resize((620, 877))
    page = document_page("D1")
    page.paste(small, (900, 1200))
    found = _findings(tmp_path, image_pdf([scanned(page, ScanStyle(quality=90))]))
    assert found[0].code == ADDRESS
    assert FIRST_DPI < 150


def test_pages_that_are_not_covers(tmp_path: Path) -> None:
    pages = [
        scanned(document_page("D1"), ScanStyle()),
        scanned(lookalike_page(), ScanStyle()),
        scanned(qr_page("https://pay.example/invoice/123"), ScanStyle()),
        scanned(qr_page("KCS1 w_Bad-Id rd_x"), ScanStyle()),
    ]
    found = _findings(tmp_path, image_pdf(pages))
    assert [f.code for f in found] == [None, None, None, None]
    assert found[2].others == ("https://pay.example/invoice/123",)


def test_a_cover_printed_to_pdf_is_rendered_and_found(tmp_path: Path, covers_pdf: bytes) -> None:
    """Not a scan (vector drawing): the page is rendered by PDFium."""
    found = _findings(tmp_path, covers_pdf)
    assert [f.code for f in found] == [BANK, ADDRESS]


def test_two_different_cover_codes_on_one_page_are_a_conflict() -> None:
    finding = classify(3, [BANK.payload(), ADDRESS.payload(), BANK.payload(), "other"])
    assert finding.code == BANK and finding.conflict and finding.others == ("other",)
