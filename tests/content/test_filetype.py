"""A file's real type from its first bytes, and the words when its name says otherwise."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import pytest

from agent.content.filetype import (
    Kind,
    check_type,
    expected_kind,
    fits,
    kind_for_media_type,
    kind_of,
    sniff,
)
from agent.errors import WrongContent
from tests.realwriters import documents


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        (documents.pdf("a"), Kind.PDF),
        (b"\r\n\x00junk before it\n%PDF-1.4\n...", Kind.PDF),
        (documents.jpeg("a"), Kind.JPEG),
        (documents.png("a"), Kind.PNG),
        (b"II*\x00" + bytes(20), Kind.TIFF),
        (b"MM\x00*" + bytes(20), Kind.TIFF),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", Kind.HEIC),
        (b"GIF89a" + bytes(10), Kind.GIF),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", Kind.WEBP),
        (b"BM" + bytes(12) + (40).to_bytes(4, "little") + bytes(8), Kind.BMP),
        (documents.docx("a"), Kind.ZIP),  # which office format: only kind_of looks inside
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(8), Kind.OLE),
        (documents.html_page(), Kind.HTML),
        (b"\xef\xbb\xbf  <HTML><body>x</body></HTML>", Kind.HTML),
        (b'<?xml version="1.0"?>\n<!DOCTYPE html><html/>', Kind.HTML),
        (b"Dear Sir or Madam,", None),
        (b"%PDF", None),  # too short to say
        (b"", None),
    ],
)
def test_sniff_tells_each_type_from_its_first_bytes(content: bytes, kind: Kind | None) -> None:
    assert sniff(content[:8192]) is kind


def test_an_opendocument_file_is_told_by_its_first_entry(tmp_path: Path) -> None:
    path = tmp_path / "minutes.odt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", "<office:document-content/>")
    assert sniff(path.read_bytes()) is Kind.ODT


def test_kind_of_looks_inside_a_zip_for_the_office_format(tmp_path: Path) -> None:
    letter = tmp_path / "letter.docx"
    letter.write_bytes(documents.docx("letter"))
    assert kind_of(letter) is Kind.DOCX
    sheet = tmp_path / "sheet.xlsx"
    with zipfile.ZipFile(sheet, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    assert kind_of(sheet) is Kind.XLSX
    cut = tmp_path / "cut.docx"
    cut.write_bytes(documents.docx("cut")[:200])
    assert kind_of(cut) is Kind.ZIP  # no central directory yet: not told, not refused


def test_extensions_and_media_types_name_kinds() -> None:
    assert expected_kind("Bank statement.PDF") is Kind.PDF
    assert expected_kind("photo.jpeg") is Kind.JPEG
    assert expected_kind("notes.txt") is None
    assert expected_kind("no extension") is None
    assert kind_for_media_type("application/pdf") is Kind.PDF
    assert kind_for_media_type("image/JPEG; charset=binary") is Kind.JPEG
    assert kind_for_media_type("text/plain") is None


def test_a_zip_fits_any_zip_based_name_but_office_formats_do_not_mix() -> None:
    assert fits(Kind.DOCX, Kind.ZIP)
    assert fits(Kind.ZIP, Kind.XLSX)
    assert not fits(Kind.DOCX, Kind.XLSX)
    assert not fits(Kind.PDF, None)


def _file(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def test_a_file_whose_content_matches_its_name_passes(tmp_path: Path) -> None:
    assert check_type(_file(tmp_path, "statement.pdf", documents.pdf("s"))) is Kind.PDF
    assert check_type(_file(tmp_path, "id.JPG", documents.jpeg("i"))) is Kind.JPEG
    assert check_type(_file(tmp_path, "notes.txt", b"anything")) is None


def test_a_jpeg_named_pdf_is_refused_saying_what_it_is_and_what_to_do(tmp_path: Path) -> None:
    path = _file(tmp_path, "Bank statement.pdf", documents.jpeg("scan"))
    with pytest.raises(WrongContent) as caught:
        check_type(path)
    error = caught.value
    assert error.message == "Bank statement.pdf is a JPEG image, not a PDF"
    assert error.hint.startswith("Save it as PDF, or rename it to .jpg if this requirement")
    assert "images" in error.hint
    assert "retry" not in error.describe().lower()
    assert not error.retryable


def test_an_html_page_named_pdf_gets_its_own_words(tmp_path: Path) -> None:
    path = _file(tmp_path, "statement.pdf", documents.html_page())
    with pytest.raises(WrongContent) as caught:
        check_type(path)
    error = caught.value
    assert error.code == "FILE_IS_WEB_PAGE"
    assert "web page (HTML), not a PDF" in error.message
    assert "sign-in" in error.message
    assert "download the document again" in error.hint
    assert "retry" not in error.describe().lower()


def test_unrecognised_content_under_a_known_name_is_refused(tmp_path: Path) -> None:
    path = _file(tmp_path, "passport.png", b"Dear Sir or Madam, please find attached")
    with pytest.raises(WrongContent, match=r"passport\.png is not a PNG image"):
        check_type(path)


def test_the_name_kompliant_gets_is_the_one_checked(tmp_path: Path) -> None:
    path = _file(tmp_path, "upload-1234", documents.png("p"))
    with pytest.raises(WrongContent, match=r"scan\.pdf is a PNG image, not a PDF"):
        check_type(path, "scan.pdf")


def test_a_password_protected_pdf_is_a_pdf(tmp_path: Path) -> None:
    qpdf = subprocess.run(["which", "qpdf"], capture_output=True, check=False)
    if qpdf.returncode != 0:
        pytest.skip("qpdf is not installed")
    plain = _file(tmp_path, "plain.pdf", documents.pdf("secret"))
    locked = tmp_path / "locked.pdf"
    subprocess.run(
        ["qpdf", "--encrypt", "user", "owner", "256", "--", str(plain), str(locked)],
        check=True,
    )
    assert b"/Encrypt" in locked.read_bytes()
    assert check_type(locked) is Kind.PDF
