"""Sizes as people read them: "6.0 GiB; the limit is 5 GiB", never "6442450944 bytes".

Pure. Binary units (KiB = 1024 bytes), as file managers on Linux and Windows count. A
file's size has one decimal; a limit that is a whole number of its unit has none.
"""

from __future__ import annotations

import re

_UNITS = ("KiB", "MiB", "GiB", "TiB")


def human_size(size: int) -> str:
    """A file's size: ``980 bytes``, ``1.5 KiB``, ``6.0 GiB``."""
    return _human(size, whole_plain=False)


def human_limit(size: int) -> str:
    """A limit: as :func:`human_size`, but ``5 GiB`` for exactly 5 GiB."""
    return _human(size, whole_plain=True)


def _human(size: int, *, whole_plain: bool) -> str:
    if size < 1024:
        return f"{size} byte" if size == 1 else f"{size} bytes"
    value = float(size)
    unit = _UNITS[0]
    for unit in _UNITS:
        value /= 1024
        if value < 1024 or unit == _UNITS[-1]:
            break
    whole = size % (1024 ** (_UNITS.index(unit) + 1)) == 0
    return f"{value:.0f} {unit}" if whole and whole_plain else f"{value:.1f} {unit}"


#: "at most 5368709120 bytes", "limit: 5368709120 bytes", "maximum of 5368709120 bytes"
_LIMIT = re.compile(r"(?:at most|limit(?: is)?:?|maximum(?: of)?)\s+(\d[\d,]*)\s*bytes", re.I)
_BYTES = re.compile(r"\b(\d{4,})\s*bytes\b")
_SIZE_FIELD = re.compile(r"\bfile_size_in_bytes is (\d+)")


def size_refusal(file_name: str, size: int, message: str) -> str | None:
    """The sentence for a file Kompliant refused as too large, from its answer: "scan.pdf
    is 6.0 GiB; the limit is 5 GiB." None when ``message`` names no limit it exceeds."""
    found = _LIMIT.search(message)
    if found is None:
        return None
    limit = int(found.group(1).replace(",", ""))
    if size <= limit:
        return None
    return f"{file_name} is {human_size(size)}; the limit is {human_limit(limit)}."


def humanize_sizes(text: str) -> str:
    """``text`` with byte counts of 1 KiB and more written as human sizes."""
    text = _SIZE_FIELD.sub(lambda m: f"the file's size is {human_size(int(m.group(1)))}", text)
    return _BYTES.sub(lambda m: human_limit(int(m.group(1))), text)
