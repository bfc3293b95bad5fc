from __future__ import annotations

import io

import pikepdf
import pytest

from agent.scan.code import CoverCode
from agent.scan.detect import classify, decode_texts
from agent.scan.sheet import (
    INSTRUCTION,
    Paper,
    SheetContent,
    cover_sheets_pdf,
    paper_for_locale,
    printable,
)
from tests.conftest import DEMO_WORKFLOW, RD_BANK
from tests.scan.conftest import ADDRESS, BANK
from tests.scan.scans import rasterise


def _text(pdf: bytes, page: int) -> str:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(pdf)
    try:
        text: str = document[page].get_textpage().get_text_range()
        return text
    finally:
        document.close()


def test_one_page_per_sheet_with_its_code_and_large_print(covers_pdf: bytes) -> None:
    with pikepdf.open(io.BytesIO(covers_pdf)) as pdf:
        assert len(pdf.pages) == 2
        assert [round(float(v)) for v in pdf.pages[0].mediabox] == [0, 0, 595, 842]
    for page, code, name in ((0, BANK, "Bank statements"), (1, ADDRESS, "Proof of address")):
        finding = classify(page + 1, decode_texts(rasterise(covers_pdf, page, 100)))
        assert finding.code == code
        text = " ".join(_text(covers_pdf, page).split())
        assert name in text and "Demo Ltd" in text
        assert INSTRUCTION in text
        assert code.required_document_id in text


def test_the_sheet_carries_no_secret(covers_pdf: bytes, demo_credentials: object) -> None:
    from agent.kompliant.auth import Credentials

    assert isinstance(demo_credentials, Credentials)
    for secret in (demo_credentials.secret_key, demo_credentials.auth_token):
        assert secret.encode() not in covers_pdf
        assert secret not in _text(covers_pdf, 0) + _text(covers_pdf, 1)


def test_letter_paper_and_a_long_text_cut_to_the_page() -> None:
    sheet = SheetContent(
        CoverCode(DEMO_WORKFLOW, RD_BANK),
        "A label – with “quotes”",
        "Statements",
        "word " * 600,
    )
    data = cover_sheets_pdf([sheet], Paper.LETTER)
    with pikepdf.open(io.BytesIO(data)) as pdf:
        assert len(pdf.pages) == 1
        assert [round(float(v)) for v in pdf.pages[0].mediabox] == [0, 0, 612, 792]
    text = _text(data, 0)
    assert "..." in text and 'A label - with "quotes"' in text


@pytest.mark.parametrize(
    ("name", "paper"),
    [
        ("en_US.UTF-8", Paper.LETTER),
        ("en_CA", Paper.LETTER),
        ("English_United States", Paper.LETTER),
        ("de_DE.UTF-8", Paper.A4),
        ("en_GB.UTF-8", Paper.A4),
        ("C", Paper.A4),
        ("", Paper.A4),
        (None, Paper.A4),
    ],
)
def test_paper_from_the_locale(name: str | None, paper: Paper) -> None:
    assert paper_for_locale(name) is paper


def test_printable_keeps_latin1_and_finds_the_nearest_form_of_the_rest() -> None:
    assert printable("Nachweis über – “Zahlung” ś €") == 'Nachweis über - "Zahlung" s EUR'
    assert printable("身份证") == "???"


def test_no_sheets_is_a_mistake() -> None:
    with pytest.raises(ValueError):
        cover_sheets_pdf([])
