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

from agent.content.filetype import HEAD_SIZE, ZIP_BASED, Kind, read_ends, sniff

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
