"""Realistic scans for the tests and the benchmark, made from printed cover sheets.

A cover sheet PDF (as ``cover-sheets`` writes it) is rasterised as a scanner would see
the paper; then, as a scanner and its paper add: speckle noise, a few degrees of skew, a
page put in upside down or sideways, JPEG compression; document pages of their own
(each with a big page mark, so a test can tell which page ended where); and finally an
image-only PDF, one JPEG per page, the way scanners write them (img2pdf).
"""

from __future__ import annotations

import io
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import img2pdf
import pikepdf
import pypdfium2 as pdfium
import segno
from PIL import Image, ImageDraw, ImageFont

A4_INCHES = (8.27, 11.69)


@dataclass(frozen=True)
class ScanStyle:
    """How one page goes through the scanner."""

    dpi: int = 300
    skew: float = 0.0  # degrees, positive counter-clockwise
    turn: int = 0  # 0, 90, 180 or 270: the sheet put in sideways or upside down
    noise: float = 0.0  # share of pixels flipped to black or white (speckle)
    quality: int = 75  # JPEG quality
    grey: bool = True


def rasterise(pdf: bytes, page: int, dpi: int) -> Image.Image:
    """Page ``page`` (from 0) of ``pdf`` as the paper would look at ``dpi``."""
    document = pdfium.PdfDocument(pdf)
    try:
        rendered: Image.Image = document[page].render(scale=dpi / 72, grayscale=True).to_pil()
        return rendered.convert("L").copy()
    finally:
        document.close()


def scanned(image: Image.Image, style: ScanStyle, seed: int = 0) -> bytes:
    """``image`` (a page at ``style.dpi``) through a scanner: its JPEG bytes."""
    page = image.convert("L")
    if style.turn:
        page = page.rotate(style.turn, expand=True)
    if style.skew:
        page = page.rotate(style.skew, resample=Image.Resampling.BILINEAR, fillcolor=255)
    if style.noise:
        page = speckle(page, style.noise, seed)
    if not style.grey:
        page = page.convert("RGB")
    out = io.BytesIO()
    page.save(out, "JPEG", quality=style.quality, dpi=(style.dpi, style.dpi))
    return out.getvalue()


def speckle(image: Image.Image, share: float, seed: int = 0) -> Image.Image:
    """Salt-and-pepper noise: ``share`` of the pixels set black or white, in small clumps."""
    noisy = image.copy()
    draw = ImageDraw.Draw(noisy)
    rng = random.Random(seed)
    width, height = noisy.size
    for _ in range(int(width * height * share / 4)):
        x, y = rng.randrange(width - 2), rng.randrange(height - 2)
        draw.rectangle((x, y, x + 1, y + 1), fill=rng.choice((0, 255)))
    return noisy


def document_page(mark: str, dpi: int = 300, seed: int = 0) -> Image.Image:
    """A document page: a big ``mark`` (e.g. "D7") at the top and lines of text."""
    width, height = round(A4_INCHES[0] * dpi), round(A4_INCHES[1] * dpi)
    page = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(page)
    big = ImageFont.load_default(size=dpi // 2)
    small = ImageFont.load_default(size=max(8, dpi // 12))
    draw.text((dpi // 2, dpi // 2), mark, fill=0, font=big)
    rng = random.Random(seed)
    y = dpi * 3 // 2
    while y < height - dpi:
        words = " ".join(rng.choice(_WORDS) for _ in range(rng.randrange(6, 12)))
        draw.text(
            (dpi // 2, y),
            f"{words} {rng.randrange(10, 9999)}.{rng.randrange(10, 99)}",
            fill=0,
            font=small,
        )
        y += dpi // 6
    return page


_WORDS = (
    "statement",
    "balance",
    "transfer",
    "account",
    "payment",
    "invoice",
    "total",
    "opening",
    "closing",
    "direct",
    "debit",
    "credit",
    "reference",
    "date",
)


def qr_page(text: str, dpi: int = 300) -> Image.Image:
    """A document page carrying a QR code that is not a cover's (an invoice's payment code)."""
    page = document_page("QR", dpi)
    symbol = segno.make(text, error="m")
    scale = max(1, round(dpi * 0.06))
    out = io.BytesIO()
    symbol.save(out, kind="png", scale=scale, border=4)
    code = Image.open(io.BytesIO(out.getvalue())).convert("L")
    page.paste(code, (page.width - code.width - dpi // 2, dpi // 2))
    return page


def lookalike_page(dpi: int = 300, seed: int = 1) -> Image.Image:
    """A page with a pattern that only looks like a QR code: finder squares and random
    modules that encode nothing."""
    page = document_page("LOOK", dpi, seed)
    rng = random.Random(seed)
    module = max(3, round(dpi * 0.05))
    size = 29
    left, top = page.width - (size + 8) * module, dpi // 2
    draw = ImageDraw.Draw(page)
    for row in range(size):
        for col in range(size):
            if rng.random() < 0.5:
                x, y = left + col * module, top + row * module
                draw.rectangle((x, y, x + module - 1, y + module - 1), fill=0)
    for fx, fy in ((0, 0), (size - 7, 0), (0, size - 7)):
        x, y = left + fx * module, top + fy * module
        draw.rectangle((x, y, x + 7 * module - 1, y + 7 * module - 1), fill=0)
        draw.rectangle((x + module, y + module, x + 6 * module - 1, y + 6 * module - 1), fill=255)
        draw.rectangle(
            (x + 2 * module, y + 2 * module, x + 5 * module - 1, y + 5 * module - 1), fill=0
        )
    return page


def image_pdf(pages: Sequence[bytes], dpi: int = 300) -> bytes:
    """An image-only PDF, one JPEG per page, as a scanner writes it."""
    layout = img2pdf.get_fixed_dpi_layout_fun((dpi, dpi))
    return bytes(img2pdf.convert(list(pages), layout_fun=layout))


def page_images(pdf: bytes) -> list[bytes]:
    """The raw (still encoded) bytes of each page's image, in page order."""
    found: list[bytes] = []
    with pikepdf.open(io.BytesIO(pdf)) as document:
        for page in document.pages:
            images = list(images_of(page).values())
            assert len(images) == 1, f"a page with {len(images)} images"
            found.append(images[0].read_raw_bytes())
    return found


def images_of(page: pikepdf.Page) -> Mapping[str, pikepdf.Object]:
    """The page's images (``get_images`` in newer pikepdf, ``images`` before)."""
    getter: Any = getattr(page, "get_images", None)
    found: Mapping[str, pikepdf.Object] = getter() if getter else dict(page.images)
    return found


def page_count(pdf: bytes) -> int:
    with pikepdf.open(io.BytesIO(pdf)) as document:
        return len(document.pages)
