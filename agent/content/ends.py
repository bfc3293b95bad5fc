"""Whether a file has reached its end: the structural check of finished-file detection.

A close event or a quiet period says a writer paused, not that it is done: a program
that saves in passes closes between them, a copy stopped by a full disk closes a file
that will never grow again. Formats that end with a marker say it themselves:

- **PDF**: ``%%EOF`` in the last 1,024 bytes (after trailing whitespace and NULs);
- **JPEG**: the end-of-image marker ``FF D9`` last (trailing NULs and whitespace allowed);
- **PNG**: the ``IEND`` chunk last (trailing NULs allowed);
- **ZIP-based** (``.docx``, ``.xlsx``, ``.odt``, ``.zip`` …): the end-of-central-directory
  record, its comment reaching the end of the file (trailing NULs allowed).

The format is told from the content (:func:`~agent.content.filetype.sniff`), not from
the name. Other formats have no end to look for: :attr:`Completeness.NO_END`, and the
timing rules alone decide. A file of 0 bytes is :attr:`Completeness.EMPTY` (a placeholder
that browsers, Samba and scanners create before the data).
"""

from __future__ import annotations

import enum
from pathlib import Path

from agent.content.filetype import HEAD_SIZE, ZIP_BASED, Kind, read_ends, sniff, words
from agent.errors import WrongContent

#: Enough of the end for every rule: a ZIP comment may be 65,535 bytes.
TAIL_SIZE = 22 + 65_535 + 4096
PDF_EOF_WINDOW = 1024
_EOCD = b"PK\x05\x06"
_PNG_END = b"IEND\xaeB`\x82"
_PADDING = b"\x00"
_WHITESPACE = b" \t\r\n\f\x00"


class Completeness(enum.Enum):
    """What a file's end says about it."""

    WHOLE = "whole"  # a format with an end, and the end is there
    INCOMPLETE = "incomplete"  # a format with an end, and the end is missing
    EMPTY = "empty"  # 0 bytes
    NO_END = "no end"  # a format without an end marker (or not recognised)


def judge_ends(head: bytes, tail: bytes, size: int) -> Completeness:
    """Judge a file from its first bytes, its last :data:`TAIL_SIZE` bytes and its size."""
    if size == 0:
        return Completeness.EMPTY
    kind = sniff(head)
    if kind is Kind.PDF:
        whole = b"%%EOF" in tail.rstrip(_WHITESPACE)[-PDF_EOF_WINDOW:]
    elif kind is Kind.JPEG:
        whole = tail.rstrip(_WHITESPACE).endswith(b"\xff\xd9")
    elif kind is Kind.PNG:
        whole = tail.rstrip(_PADDING).endswith(_PNG_END)
    elif kind in ZIP_BASED:
        whole = _zip_ends(tail)
    else:
        return Completeness.NO_END
    return Completeness.WHOLE if whole else Completeness.INCOMPLETE


def _zip_ends(tail: bytes) -> bool:
    """An end-of-central-directory record whose comment reaches the end (NULs after it
    allowed). The last record is looked at first; a comment may itself hold ``PK\\5\\6``."""
    position = tail.rfind(_EOCD)
    while position >= 0:
        if len(tail) - position >= 22:
            comment = int.from_bytes(tail[position + 20 : position + 22], "little")
            end = position + 22 + comment
            if end <= len(tail) and not tail[end:].strip(_PADDING):
                return True
        position = tail.rfind(_EOCD, 0, position)
    return False


def completeness(path: Path) -> Completeness:
    """Judge the file at ``path`` (reads its first 8 KiB and last ~68 KiB).

    Raises :class:`OSError` when it cannot be read and ``ValueError`` for something that
    is not a regular file.
    """
    head, tail, size = read_ends(path, HEAD_SIZE, TAIL_SIZE)
    return judge_ends(head, tail, size)


def cut_short(name: str, kind: Kind | None, *, unchanged_for: float | None = None) -> WrongContent:
    """The refusal of ``name``, a file of ``kind`` without its end."""
    what = words(kind) if kind is not None else "a document"
    waited = ""
    if unchanged_for is not None:
        minutes = unchanged_for / 60
        waited = (
            f", and it has not changed for {minutes:.0f} minutes"
            if minutes >= 1
            else f", and it has not changed for {unchanged_for:.0f} seconds"
        )
    return WrongContent(
        f"{name} looks cut short: it is {what} without its end{waited} — a copy, download "
        "or scan that stopped part-way (a full disk, a lost connection)",
        code="FILE_CUT_SHORT",
        hint="Save, scan or download it again, check that it opens, then put it into this folder.",
    )


def refuse_cut_short(path: Path, name: str | None = None) -> None:
    """Refuse a file of a format with an end marker that does not have it."""
    try:
        head, tail, size = read_ends(path, HEAD_SIZE, TAIL_SIZE)
    except (OSError, ValueError):
        return  # the upload's own open says what is wrong
    if judge_ends(head, tail, size) is Completeness.INCOMPLETE:
        raise cut_short(name or path.name, sniff(head))
