"""Page images made into one PDF, without loss (img2pdf).

- JPEG pages go into the PDF as they are (the JPEG's own bytes); PNG, TIFF (every page of
  a multi-page TIFF, CCITT fax pages as they are) and BMP are stored losslessly.
- HEIC/HEIF photos (phones) cannot be carried by a PDF as they are: they are decoded
  (pillow-heif) and stored as JPEG at quality :data:`HEIC_JPEG_QUALITY`; the receipt says so.

:func:`needs_conversion` names the formats a requirement does not take as they are
(Kompliant's examples are PDF, JPG and PNG): they are made a PDF before upload.
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import img2pdf
from PIL import Image

from agent.errors import FileProblem

log = logging.getLogger(__name__)

TIFF_SUFFIXES = frozenset({".tif", ".tiff"})
HEIC_SUFFIXES = frozenset({".heic", ".heif"})
CONVERT_SUFFIXES = frozenset({*TIFF_SUFFIXES, *HEIC_SUFFIXES, ".bmp"})
JOIN_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", *TIFF_SUFFIXES})
HEIC_JPEG_QUALITY = 95

_heif_lock = threading.Lock()
_heif_ready = False


class ConversionFailed(FileProblem):
    """Images that could not be made into a PDF."""


@dataclass(frozen=True)
class Conversion:
    """What was made into a PDF: the source files' formats and the pages written."""

    sources: tuple[str, ...]
    formats: tuple[str, ...]
    pages: int
    reencoded: bool = False  # HEIC photos stored as JPEG

    def words(self) -> str:
        """A receipt line: what was converted, and how."""
        kinds = ", ".join(sorted(set(self.formats)))
        what = (
            f"{len(self.sources)} page images ({kinds}: {', '.join(self.sources)})"
            if len(self.sources) > 1
            else f"{self.sources[0]} ({kinds})"
        )
        how = (
            f"HEIC photos re-encoded as JPEG at quality {HEIC_JPEG_QUALITY}"
            if self.reencoded
            else "without loss"
        )
        return f"converted {what} into one PDF of {self.pages} page(s), {how}"


def needs_conversion(path: Path) -> bool:
    return path.suffix.lower() in CONVERT_SUFFIXES


def _format_name(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    return {"tif": "TIFF", "jpg": "JPEG", "heif": "HEIC"}.get(suffix, suffix.upper())


def _register_heif() -> None:
    global _heif_ready
    with _heif_lock:
        if not _heif_ready:
            import pillow_heif

            pillow_heif.register_heif_opener()
            _heif_ready = True


def _heic_as_jpeg(path: Path) -> bytes:
    _register_heif()
    with Image.open(path) as image:
        rgb = image.convert("RGB")
        out = io.BytesIO()
        dpi = image.info.get("dpi")
        rgb.save(out, "JPEG", quality=HEIC_JPEG_QUALITY, **({"dpi": dpi} if dpi else {}))
        return out.getvalue()


def images_to_pdf(paths: Sequence[Path], target: Path) -> Conversion:
    """Every page of ``paths`` (in order) into one PDF at ``target``."""
    if not paths:
        raise ValueError("no images to convert")
    inputs: list[str | bytes] = []
    reencoded = False
    for path in paths:
        if path.suffix.lower() in HEIC_SUFFIXES:
            try:
                inputs.append(_heic_as_jpeg(path))
            except (OSError, ValueError) as error:
                raise _failed(path, error) from None
            reencoded = True
        else:
            inputs.append(str(path))
    try:
        with target.open("wb") as out:
            img2pdf.convert(*inputs, outputstream=out, nodate=True)
    except (OSError, ValueError, img2pdf.ImageOpenError, img2pdf.PdfTooLargeError) as error:
        target.unlink(missing_ok=True)
        raise _failed(paths[0] if len(paths) == 1 else target, error) from None
    except Exception as error:  # img2pdf raises plain exceptions for images it cannot take
        target.unlink(missing_ok=True)
        raise _failed(paths[0] if len(paths) == 1 else target, error) from None
    pages = _page_count(target)
    return Conversion(
        sources=tuple(p.name for p in paths),
        formats=tuple(_format_name(p) for p in paths),
        pages=pages,
        reencoded=reencoded,
    )


def _page_count(pdf_path: Path) -> int:
    import pikepdf

    with pikepdf.open(pdf_path) as pdf:
        return len(pdf.pages)


def _failed(path: Path, error: BaseException) -> ConversionFailed:
    return ConversionFailed(
        f"{path.name} could not be made into a PDF ({type(error).__name__}: {error}); "
        "nothing of it was uploaded.",
        hint="Open it in an image program to check it is not damaged, save it as PDF, JPG "
        "or PNG, and put that file into the folder.",
    )
