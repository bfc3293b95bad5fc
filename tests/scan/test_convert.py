from __future__ import annotations

from pathlib import Path

import pikepdf
import pytest
from PIL import Image

from agent.scan.convert import ConversionFailed, images_to_pdf, needs_conversion
from tests.scan.scans import ScanStyle, document_page, images_of, page_images, scanned


def _pdf_pages(path: Path) -> int:
    with pikepdf.open(path) as pdf:
        return len(pdf.pages)


def test_jpeg_pages_go_in_as_they_are(tmp_path: Path) -> None:
    pages = [scanned(document_page(f"D{n}", dpi=100), ScanStyle(dpi=100)) for n in range(3)]
    paths = []
    for n, data in enumerate(pages):
        paths.append(tmp_path / f"scan-{n}.jpg")
        paths[-1].write_bytes(data)
    done = images_to_pdf(paths, tmp_path / "scan.pdf")
    assert page_images((tmp_path / "scan.pdf").read_bytes()) == pages
    assert done.pages == 3 and "without loss" in done.words()


def test_png_bmp_and_tiff_pages_are_kept_without_loss(tmp_path: Path) -> None:
    page = document_page("P", dpi=72)
    page.save(tmp_path / "a.png", dpi=(72, 72))
    page.save(tmp_path / "b.bmp")
    page.save(tmp_path / "c.tif", save_all=True, append_images=[page], compression="tiff_lzw")
    done = images_to_pdf(
        [tmp_path / "a.png", tmp_path / "b.bmp", tmp_path / "c.tif"], tmp_path / "out.pdf"
    )
    assert done.pages == 4 and _pdf_pages(tmp_path / "out.pdf") == 4
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(tmp_path / "out.pdf")
    try:
        for index in range(4):
            image = document[index].get_objects().__next__().get_bitmap().to_pil().convert("L")
            assert image.tobytes() == page.tobytes()
    finally:
        document.close()


def test_a_heic_photo_is_made_a_pdf_and_the_receipt_says_how(tmp_path: Path) -> None:
    import pillow_heif

    pillow_heif.register_heif_opener()
    Image.new("RGB", (320, 240), (200, 30, 30)).save(tmp_path / "IMG_0001.HEIC")
    done = images_to_pdf([tmp_path / "IMG_0001.HEIC"], tmp_path / "out.pdf")
    assert done.reencoded and "JPEG at quality 95" in done.words()
    with pikepdf.open(tmp_path / "out.pdf") as pdf:
        image = next(iter(images_of(pdf.pages[0]).values()))
        assert "/DCTDecode" in str(image.Filter) and int(image.Width) == 320


def test_an_image_that_is_not_one(tmp_path: Path) -> None:
    (tmp_path / "broken.tif").write_bytes(b"II*\x00" + b"\x00" * 100)
    with pytest.raises(ConversionFailed, match=r"broken\.tif"):
        images_to_pdf([tmp_path / "broken.tif"], tmp_path / "out.pdf")
    assert not (tmp_path / "out.pdf").exists()


@pytest.mark.parametrize(
    ("name", "convert"),
    [
        ("a.TIF", True),
        ("a.tiff", True),
        ("a.heic", True),
        ("a.bmp", True),
        ("a.pdf", False),
        ("a.jpg", False),
        ("a.png", False),
    ],
)
def test_which_formats_are_converted(name: str, convert: bool) -> None:
    assert needs_conversion(Path(name)) is convert
