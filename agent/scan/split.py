"""A stack cut at its cover pages: the plan (pure) and the parts written as PDFs.

Pages after a cover, up to the next cover, are one part for the requirement that cover
names; the cover pages themselves are dropped. Pages before the first cover are a part
of their own with no cover (they follow the folder's usual rule). A cover followed
directly by another cover, or ending the stack, makes an empty part: it cannot be
uploaded, and it is reported rather than silently dropped.

A part is written by opening the stack again, dropping every page outside the part and
saving what is left (pikepdf/qpdf): the scanned images' streams are copied byte for byte,
never decoded or compressed again, and straight from file to file, so memory does not grow
with the part's size (copying the pages into a new PDF would hold their images in memory).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pikepdf

from agent.scan.code import CoverCode
from agent.scan.detect import PageFinding


@dataclass(frozen=True)
class Part:
    """Pages ``first_page``–``last_page`` (from 1) of the stack; none when ``last_page`` is
    below ``first_page``. ``cover`` is the code of the cover before them (None: the pages
    before the first cover), on page ``cover_page``."""

    number: int
    first_page: int
    last_page: int
    cover: CoverCode | None = None
    cover_page: int | None = None
    conflict: bool = False

    @property
    def page_count(self) -> int:
        return max(0, self.last_page - self.first_page + 1)

    @property
    def empty(self) -> bool:
        return self.page_count == 0

    def pages_words(self) -> str:
        if self.empty:
            return "no pages"
        if self.page_count == 1:
            return f"page {self.first_page}"
        return f"pages {self.first_page}-{self.last_page}"


def plan_parts(findings: Sequence[PageFinding]) -> list[Part]:
    """The parts of a stack whose pages showed ``findings`` (in page order).

    No cover at all: [] (the stack is an ordinary file).
    """
    covers = [f for f in findings if f.is_cover]
    if not covers:
        return []
    parts: list[Part] = []
    total = len(findings)
    if covers[0].number > 1:
        parts.append(Part(1, 1, covers[0].number - 1))
    for index, cover in enumerate(covers):
        end = covers[index + 1].number - 1 if index + 1 < len(covers) else total
        parts.append(
            Part(
                len(parts) + 1,
                cover.number + 1,
                end,
                cover=cover.code,
                cover_page=cover.number,
                conflict=cover.conflict,
            )
        )
    return parts


# What could still point at dropped pages (scans have none of these, other PDFs might).
_PAGE_REFERENCES = ("/Outlines", "/PageLabels", "/StructTreeRoot", "/Names", "/Dests")


def write_pages(source: Path, first_page: int, last_page: int, target: Path) -> None:
    """Pages ``first_page``–``last_page`` (from 1) of the PDF ``source`` as a new PDF at
    ``target``.

    Streams are kept as they are (no decoding, no compressing again), and the file's id
    is derived from its content, so writing the same part twice gives the same bytes.
    """
    if last_page < first_page:
        raise ValueError(f"no pages from {first_page} to {last_page}")
    with pikepdf.open(source, access_mode=pikepdf.AccessMode.stream) as out:
        if last_page > len(out.pages):
            raise ValueError(f"{source.name} has {len(out.pages)} pages, not {last_page}")
        del out.pages[last_page:]
        del out.pages[: first_page - 1]
        for key in _PAGE_REFERENCES:
            if key in out.Root:
                del out.Root[key]
        if "/AcroForm" in out.Root:
            del out.Root["/AcroForm"]
        out.save(
            target,
            static_id=False,
            deterministic_id=True,
            compress_streams=False,
            stream_decode_level=pikepdf.StreamDecodeLevel.none,
            object_stream_mode=pikepdf.ObjectStreamMode.preserve,
            normalize_content=False,
            linearize=False,
        )
