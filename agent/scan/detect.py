"""Finding cover pages in a PDF: each page looked at small, then larger, for a cover's code.

A page is first looked at around :data:`FIRST_DPI`; only when no cover code is found
there, again around :data:`RETRY_DPI`, before it is judged "no cover". Two ways to get a
page's picture:

- a scanner's page is one JPEG drawn over the page: the JPEG is decoded straight at a
  fraction of its size (libjpeg's DCT scaling, through Pillow's ``draft``), which costs
  a few milliseconds instead of decoding millions of pixels;
- any other page is rendered by PDFium (pypdfium2).

Pages are read one at a time and nothing of a page is kept: memory does not grow with
the number of pages. PDFium is not thread-safe, so its use is serialised here.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pikepdf
import pypdfium2 as pdfium
import zxingcpp
from PIL import Image

from agent.errors import FileProblem
from agent.scan.code import CoverCode, read_code

log = logging.getLogger(__name__)

FIRST_DPI = 75.0
RETRY_DPI = 150.0
POINTS_PER_INCH = 72.0
# Operators a scanner's page uses to draw its one image (anything else: render the page).
_IMAGE_ONLY_OPERATORS = frozenset({"q", "Q", "cm", "Do", "gs"})

_PDFIUM = threading.Lock()


class StackUnreadable(FileProblem):
    """The stack's pages cannot be read (a password, damage beyond repair)."""


@dataclass(frozen=True)
class PageFinding:
    """What one page (``number``, from 1) showed: a cover's code, or none.

    ``others`` are QR texts that are not a cover's (a payment code on an invoice).
    ``conflict`` is set when the page shows two different covers' codes.
    """

    number: int
    code: CoverCode | None
    others: tuple[str, ...] = ()
    conflict: bool = False
    seconds: float = 0.0

    @property
    def is_cover(self) -> bool:
        return self.code is not None


def classify(number: int, texts: list[str], seconds: float = 0.0) -> PageFinding:
    """A page's finding from the QR texts decoded on it (pure)."""
    codes: list[CoverCode] = []
    others: list[str] = []
    for text in texts:
        code = read_code(text)
        if code is None:
            others.append(text)
        elif code not in codes:
            codes.append(code)
    return PageFinding(
        number,
        codes[0] if codes else None,
        tuple(others),
        conflict=len(codes) > 1,
        seconds=seconds,
    )


def decode_texts(image: Image.Image) -> list[str]:
    """Every QR code's text in ``image``."""
    gray = image if image.mode == "L" else image.convert("L")
    found = zxingcpp.read_barcodes(
        gray, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    )
    return [barcode.text for barcode in found if barcode.valid]


def _page_inches(page: pikepdf.Page) -> float:
    """The page's longer side, in inches."""
    box = page.mediabox
    width = abs(float(box[2]) - float(box[0]))
    height = abs(float(box[3]) - float(box[1]))
    return max(width, height, 1.0) / POINTS_PER_INCH


def _scanned_jpeg(page: pikepdf.Page) -> bytes | None:
    """The bytes of the page's one JPEG image when the page is nothing but that (a
    scanner's page)."""
    try:
        resources = page.obj.get("/Resources")
        xobjects = resources.get("/XObject") if resources is not None else None
        if xobjects is None or len(xobjects.keys()) != 1:
            return None
        image = xobjects[next(iter(xobjects.keys()))]
        if image.get("/Subtype") != pikepdf.Name.Image:
            return None
        filters = image.get("/Filter")
        if isinstance(filters, pikepdf.Array) and len(filters) == 1:
            filters = filters[0]
        if filters != pikepdf.Name.DCTDecode:
            return None
        for instruction in pikepdf.parse_content_stream(page):
            if str(instruction.operator) not in _IMAGE_ONLY_OPERATORS:
                return None
        return image.read_raw_bytes() if isinstance(image, pikepdf.Stream) else None
    except (pikepdf.PdfError, KeyError, TypeError, ValueError, StopIteration):
        return None


def _jpeg_at(jpeg: bytes, page_inches: float, dpi: float) -> Image.Image | None:
    """The JPEG decoded at about ``dpi`` (``page_inches``: the page's longer side)."""
    try:
        image = Image.open(io.BytesIO(jpeg))
        scale = min(1.0, dpi * page_inches / max(image.width, image.height))
        image.draft("L", (max(1, round(image.width * scale)), max(1, round(image.height * scale))))
        image.load()
        return image if image.mode == "L" else image.convert("L")
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        log.debug("page JPEG not decoded directly (%s); rendering the page instead", error)
        return None


def _open_pdfium(path: Path) -> pdfium.PdfDocument:
    try:
        with _PDFIUM:
            return pdfium.PdfDocument(path)
    except pdfium.PdfiumError as error:
        raise StackUnreadable(
            f"{path.name} cannot be rendered ({error}); nothing of it was uploaded.",
            hint="Scan the pages again and put the new file into the folder.",
        ) from None


def _render(document: pdfium.PdfDocument, index: int, dpi: float) -> Image.Image:
    with _PDFIUM:
        try:
            page = document[index]
        except pdfium.PdfiumError as error:
            raise StackUnreadable(
                f"page {index + 1} cannot be read ({error}); nothing of the file was uploaded.",
                hint="Scan the pages again and put the new file into the folder.",
            ) from None
        try:
            bitmap = page.render(scale=dpi / POINTS_PER_INCH, grayscale=True)
            image: Image.Image = bitmap.to_pil().copy()
            bitmap.close()
        finally:
            page.close()
    return image


def find_covers(
    pdf: pikepdf.Pdf,
    rendered_from: Path,
    *,
    first_dpi: float = FIRST_DPI,
    retry_dpi: float = RETRY_DPI,
) -> Iterator[PageFinding]:
    """One finding per page of ``pdf`` (opened from ``rendered_from``), in page order."""
    document: pdfium.PdfDocument | None = None
    try:
        for index, page in enumerate(pdf.pages):
            started = time.perf_counter()
            jpeg = _scanned_jpeg(page)
            inches = _page_inches(page)
            finding = PageFinding(index + 1, None)
            for dpi in (first_dpi, retry_dpi):
                image = _jpeg_at(jpeg, inches, dpi) if jpeg is not None else None
                if image is None:
                    if document is None:
                        document = _open_pdfium(rendered_from)
                    image = _render(document, index, dpi)
                finding = classify(index + 1, decode_texts(image))
                image.close()
                if finding.is_cover:
                    break
            yield PageFinding(
                finding.number,
                finding.code,
                finding.others,
                finding.conflict,
                time.perf_counter() - started,
            )
    finally:
        if document is not None:
            with _PDFIUM:
                document.close()
