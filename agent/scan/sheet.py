"""The printable cover sheets: one page per required document, laid out as plain data.

Each page carries the QR code of :mod:`agent.scan.code` twice (top right and bottom
right, so that a staple, a fold or a stain on one still leaves the other), and in large
print the workflow's label, the requirement's name and text, and the one instruction.
Nothing secret is printed: ids and names only.

The text is set in the PDF standard font Helvetica, which every viewer and printer has
without embedding a font; it holds Latin-1, so other characters are written as their
nearest Latin-1 form (``–`` as ``-``, ``ś`` as ``s``). The QR code carries the ids, which
is what the agent reads back.
"""

from __future__ import annotations

import enum
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import segno
from fpdf import FPDF

from agent.scan.code import FORMAT_TAG, CoverCode

INSTRUCTION = (
    "Put this sheet on top of the document and scan the whole stack into the Inbox folder."
)
MARGIN = 16.0  # mm
QR_SIZE = 46.0  # mm, the big code at the top; about 1.2 mm a module
QR_SIZE_SMALL = 34.0  # mm, the second code at the bottom
MAX_TEXT_LINES = 9

_PUNCTUATION = str.maketrans(
    {
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": ",",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2026": "...",
        "\u2022": "-",
        "\u00a0": " ",
        "\u20ac": "EUR",
    }
)


class Paper(enum.Enum):
    A4 = "a4"
    LETTER = "letter"

    @property
    def size_mm(self) -> tuple[float, float]:
        return (210.0, 297.0) if self is Paper.A4 else (215.9, 279.4)


# Countries whose offices print on US Letter (the rest of the world uses A4).
_LETTER_TERRITORIES = frozenset({"US", "CA", "MX", "PH", "CL", "CO", "VE", "CR", "GT", "PA", "SV"})
_LETTER_WORDS = ("united states", "canada", "mexico", "philippines", "chile", "colombia")


def paper_for_locale(name: str | None) -> Paper:
    """Letter for a locale of a Letter country (``en_US.UTF-8``, Windows' ``English_United
    States``), A4 for every other and for none."""
    if not name:
        return Paper.A4
    head = name.split(".")[0].split("@")[0]
    territory = head.rpartition("_")[2] if "_" in head else ""
    if territory.upper() in _LETTER_TERRITORIES:
        return Paper.LETTER
    return Paper.LETTER if any(w in head.casefold() for w in _LETTER_WORDS) else Paper.A4


@dataclass(frozen=True)
class SheetContent:
    """What one cover sheet says."""

    code: CoverCode
    workflow_label: str
    requirement_name: str
    requirement_text: str = ""


def printable(text: str) -> str:
    """``text`` in the characters the standard font has (Latin-1), nearest form first."""
    text = text.translate(_PUNCTUATION)
    out = []
    for char in text:
        if ord(char) < 256 and (char.isprintable() or char == "\n"):
            out.append(char)
            continue
        base = "".join(
            c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
        )
        out.append(base if base and all(ord(c) < 256 for c in base) else "?")
    return "".join(out)


def _qr(pdf: FPDF, code: CoverCode, x: float, y: float, size: float) -> None:
    """The code as filled rectangles (vector: sharp at any printer resolution)."""
    symbol = segno.make(code.payload(), error="m", mode="byte", micro=False)
    matrix = [list(row) for row in symbol.matrix]
    module = size / len(matrix)
    pdf.set_fill_color(0, 0, 0)
    for row_index, row in enumerate(matrix):
        start: int | None = None
        for col, dark in enumerate([*row, 0]):
            if dark and start is None:
                start = col
            elif not dark and start is not None:
                pdf.rect(
                    x + start * module,
                    y + row_index * module,
                    (col - start) * module,
                    module,
                    style="F",
                )
                start = None


def _lines(pdf: FPDF, text: str, width: float, limit: int) -> list[str]:
    """``text`` wrapped to ``width`` at the current font; cut to ``limit`` lines."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        words = paragraph.split()
        line = ""
        for word in words:
            candidate = f"{line} {word}".strip()
            if pdf.get_string_width(candidate) <= width or not line:
                line = candidate
            else:
                lines.append(line)
                line = word
        lines.append(line)
    lines = [line for line in lines if line] or [""]
    if len(lines) > limit:
        lines = lines[:limit]
        last = lines[-1]
        while last and pdf.get_string_width(last + " ...") > width:
            last = last[:-1]
        lines[-1] = last.rstrip() + " ..."
    return lines


def _write_lines(
    pdf: FPDF, text: str, y: float, width: float, line_height: float, limit: int
) -> float:
    """``text`` in the current font from the left margin at ``y``, wrapped to ``width`` in
    at most ``limit`` lines; the ``y`` below it."""
    for line in _lines(pdf, printable(text), width, limit):
        pdf.set_xy(MARGIN, y)
        pdf.cell(width, line_height, line)
        y += line_height
    return y


def _page(pdf: FPDF, sheet: SheetContent, paper: Paper) -> None:
    width, height = paper.size_mm
    pdf.add_page()
    text_width = width - 2 * MARGIN - QR_SIZE - 8
    qr_x = width - MARGIN - QR_SIZE
    _qr(pdf, sheet.code, qr_x, MARGIN, QR_SIZE)

    y = MARGIN
    pdf.set_text_color(0, 0, 0)
    pdf.set_font("Helvetica", "B", 13)
    pdf.set_xy(MARGIN, y)
    pdf.cell(text_width, 6, "KOMPLIANT COVER SHEET")
    y += 12
    pdf.set_font("Helvetica", "", 12)
    pdf.set_xy(MARGIN, y)
    pdf.cell(text_width, 6, "Workflow")
    y += 6
    pdf.set_font("Helvetica", "B", 20)
    y = _write_lines(pdf, sheet.workflow_label, y, text_width, 9, 2)
    y = max(y + 6, MARGIN + QR_SIZE + 8)
    full_width = width - 2 * MARGIN
    pdf.set_font("Helvetica", "", 12)
    pdf.set_xy(MARGIN, y)
    pdf.cell(full_width, 6, "Required document")
    y += 7
    pdf.set_font("Helvetica", "B", 32)
    y = _write_lines(pdf, sheet.requirement_name, y, full_width, 14, 3)
    y += 4
    if sheet.requirement_text.strip():
        pdf.set_font("Helvetica", "", 15)
        y = _write_lines(pdf, sheet.requirement_text, y, full_width, 7.5, MAX_TEXT_LINES)
        y += 6

    # the one instruction, boxed
    pdf.set_font("Helvetica", "B", 18)
    box_lines = _lines(pdf, INSTRUCTION, full_width - 12, 4)
    box_height = 9.0 * len(box_lines) + 12
    box_y = max(y, height - MARGIN - QR_SIZE_SMALL - 14 - box_height)
    pdf.set_line_width(0.8)
    pdf.rect(MARGIN, box_y, full_width, box_height)
    for index, line in enumerate(box_lines):
        pdf.set_xy(MARGIN + 6, box_y + 6 + 9.0 * index)
        pdf.cell(full_width - 12, 9, line)

    small_y = height - MARGIN - QR_SIZE_SMALL
    _qr(pdf, sheet.code, width - MARGIN - QR_SIZE_SMALL, small_y, QR_SIZE_SMALL)
    pdf.set_font("Helvetica", "", 9)
    footer = [
        f"Workflow id: {sheet.code.workflow_id}",
        f"Required document id: {sheet.code.required_document_id}",
        f"Cover sheet format {FORMAT_TAG}, read by kompliant-agent. It carries ids only,",
        "no password or key. The agent removes this page before uploading.",
    ]
    for index, line in enumerate(footer):
        pdf.set_xy(MARGIN, small_y + 8 + 5 * index)
        pdf.cell(width - 2 * MARGIN - QR_SIZE_SMALL - 6, 5, printable(line))


def cover_sheets_pdf(sheets: Sequence[SheetContent], paper: Paper = Paper.A4) -> bytes:
    """One page per sheet, as PDF bytes."""
    if not sheets:
        raise ValueError("no cover sheets to print")
    pdf = FPDF(unit="mm", format=paper.size_mm)
    pdf.set_auto_page_break(False)
    pdf.set_margins(MARGIN, MARGIN)
    pdf.set_creator("kompliant-agent")
    pdf.set_title("Kompliant cover sheets")
    for sheet in sheets:
        _page(pdf, sheet, paper)
    return bytes(pdf.output())


def sheet_titles(sheets: Iterable[SheetContent]) -> list[str]:
    """One line per page, for the command's report."""
    return [
        f"page {n}: {s.workflow_label} - {s.requirement_name} ({s.code.required_document_id})"
        for n, s in enumerate(sheets, start=1)
    ]
