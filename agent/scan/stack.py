"""Opening a scanned stack (a PDF or a multi-page TIFF) and finding its parts.

- A PDF that needs a password cannot be read: :class:`StackUnreadable` says so, and
  nothing of it is uploaded.
- A damaged PDF is repaired when qpdf can (pikepdf opens it with its recovery); the
  repaired copy is what is looked at and cut. When it cannot be repaired, the stack is
  :class:`StackUnreadable`.
- A TIFF is first made a PDF without loss (:mod:`agent.scan.convert`), then read like one.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pikepdf
import pypdfium2 as pdfium

from agent.scan.convert import TIFF_SUFFIXES, ConversionFailed, images_to_pdf
from agent.scan.detect import PageFinding, StackUnreadable, find_covers
from agent.scan.split import Part, plan_parts, write_pages

log = logging.getLogger(__name__)

STACK_SUFFIXES = frozenset({".pdf", *TIFF_SUFFIXES})

__all__ = ["STACK_SUFFIXES", "StackPlan", "StackUnreadable", "examine", "open_stack"]


@dataclass(frozen=True)
class StackPlan:
    """What a look at a stack found. ``parts`` is empty when it holds no cover."""

    page_count: int
    parts: tuple[Part, ...]
    findings: tuple[PageFinding, ...]
    repaired: bool = False
    converted_from: str = ""  # "TIFF" when the stack was a TIFF made into a PDF first
    seconds: float = 0.0

    @property
    def has_covers(self) -> bool:
        return bool(self.parts)

    @property
    def only_covers(self) -> bool:
        """Every page is a cover: a printout of the sheets, not a scan of documents."""
        return bool(self.findings) and all(f.is_cover for f in self.findings)


def is_stack_candidate(path: Path) -> bool:
    return path.suffix.lower() in STACK_SUFFIXES


@contextlib.contextmanager
def open_stack(path: Path, work_dir: Path) -> Iterator[tuple[pikepdf.Pdf, Path, bool, str]]:
    """``(pdf, the file it was read from, repaired, converted_from)`` for ``path``.

    ``work_dir`` takes the PDF made from a TIFF and a repaired copy; they are removed at
    the end.
    """
    made: list[Path] = []
    source = path
    converted = ""
    try:
        if path.suffix.lower() in TIFF_SUFFIXES:
            source = work_dir / f".{path.name}.pdf"
            made.append(source)
            try:
                images_to_pdf([path], source)
            except ConversionFailed as error:
                raise StackUnreadable(error.message, hint=error.hint) from error
            converted = "TIFF"
        pdf, repaired = _open_pdf(source, path.name)
        try:
            if repaired:
                fixed = work_dir / f".{path.name}.repaired.pdf"
                made.append(fixed)
                pdf.save(fixed, stream_decode_level=pikepdf.StreamDecodeLevel.none)
                pdf.close()
                pdf, _ = _open_pdf(fixed, path.name)
                source = fixed
            yield pdf, source, repaired, converted
        finally:
            pdf.close()
    finally:
        for file in made:
            file.unlink(missing_ok=True)


def _open_pdf(path: Path, name: str) -> tuple[pikepdf.Pdf, bool]:
    try:
        # Read as a stream, not memory-mapped: a mapped 300 MB stack would count in full
        # against the agent's memory as its pages are read.
        pdf = pikepdf.open(path, access_mode=pikepdf.AccessMode.stream)
    except pikepdf.PasswordError:
        raise StackUnreadable(
            f"{name} is protected by a password, so the agent cannot read its pages; "
            "nothing of it was uploaded.",
            hint="Scan the pages again, or save the PDF again without a password, and put "
            "it back into the folder.",
        ) from None
    except (pikepdf.PdfError, OSError, ValueError) as error:
        raise StackUnreadable(
            f"{name} is damaged beyond repair and cannot be read as a PDF ({error}); "
            "nothing of it was uploaded.",
            hint="Scan the pages again (or save the PDF again from the program that made it) "
            "and put the new file into the folder.",
        ) from None
    repaired = bool(pdf.get_warnings())
    if repaired:
        log.info("%s was damaged; read with repairs: %s", name, "; ".join(pdf.get_warnings()))
    if len(pdf.pages) == 0:
        pdf.close()
        raise StackUnreadable(
            f"{name} has no pages (or none that could be recovered); nothing was uploaded.",
            hint="Scan the pages again and put the new file into the folder.",
        )
    return pdf, repaired


def examine(path: Path, work_dir: Path) -> StackPlan:
    """Look at every page of the stack at ``path`` for covers."""
    started = time.perf_counter()
    try:
        with open_stack(path, work_dir) as (pdf, source, repaired, converted):
            findings = tuple(find_covers(pdf, source))
            page_count = len(pdf.pages)
    except (pikepdf.PdfError, pdfium.PdfiumError, OSError, ValueError) as error:
        # A structure qpdf opened but could not walk to the end (a page's stream cut off…)
        raise StackUnreadable(
            f"{path.name} cannot be read to its last page ({type(error).__name__}: {error}); "
            "nothing of it was uploaded.",
            hint="Scan the pages again and put the new file into the folder.",
        ) from None
    return StackPlan(
        page_count=page_count,
        parts=tuple(plan_parts(findings)),
        findings=findings,
        repaired=repaired,
        converted_from=converted,
        seconds=time.perf_counter() - started,
    )


def write_parts(
    path: Path, parts: tuple[Part, ...], targets: dict[int, Path], work_dir: Path
) -> None:
    """Write each non-empty part whose number is in ``targets`` to its target."""
    with open_stack(path, work_dir) as (_, source, _, _):
        for part in parts:
            target = targets.get(part.number)
            if target is None or part.empty:
                continue
            write_pages(source, part.first_page, part.last_page, target)


def write_cover(path: Path, part: Part, target: Path, work_dir: Path) -> None:
    """The cover page of ``part`` alone (for an empty part: what it was is kept)."""
    assert part.cover_page is not None
    with open_stack(path, work_dir) as (_, source, _, _):
        write_pages(source, part.cover_page, part.cover_page, target)
