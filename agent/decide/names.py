"""Folder names that are valid on Windows, macOS and Linux, and free of collisions."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

MAX_NAME = 100
_FORBIDDEN = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
_SPACES = re.compile(r"\s+")
# Windows refuses these as a name or as the part before the first dot ("CON.txt").
_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL"}
    | {f"COM{i}" for i in range(1, 10)}
    | {f"LPT{i}" for i in range(1, 10)}
)


def safe_name(text: str, fallback: str = "Folder") -> str:
    """``text`` as one folder name every desktop system accepts.

    Characters Windows forbids become spaces, runs of spaces shrink to one, leading dots
    (hidden on macOS/Linux) and trailing dots/spaces (dropped by Windows) go, reserved
    device names get an underscore, and the name is cut to :data:`MAX_NAME` characters.
    """
    name = _SPACES.sub(" ", _FORBIDDEN.sub(" ", text)).strip().lstrip(".").strip()
    name = name[:MAX_NAME].rstrip(". ")
    if not name:
        name = fallback
    if name.split(".", 1)[0].rstrip(" ").upper() in _RESERVED:
        name = f"{name}_"
    return name


def type_in_words(code: str) -> str:
    """``BUSINESS_APPLICATION`` → ``Business application``."""
    words = code.replace("_", " ").strip().lower()
    return words[:1].upper() + words[1:]


def unique_names(choices: Sequence[Sequence[str]], taken: Iterable[str]) -> list[str]:
    """One name per item, none equal (ignoring case) to another or to a ``taken`` name.

    Each item lists its candidate names, most readable first (``Bank statements``,
    ``Bank statements (BANK_STATEMENTS)``, ``Bank statements (rd_…)``). Items whose
    candidate collides move on to their next candidate together, so two items with the
    same name both show what tells them apart. After the last candidate a number is added.
    """
    used = {name.casefold() for name in taken}
    chosen: list[str | None] = [None] * len(choices)
    pending = list(range(len(choices)))
    level = 0
    while pending:
        names = {i: _candidate(choices[i], level) for i in pending}
        counts: dict[str, int] = {}
        for name in names.values():
            counts[name.casefold()] = counts.get(name.casefold(), 0) + 1
        still = []
        for i in pending:
            key = names[i].casefold()
            if counts[key] == 1 and key not in used:
                chosen[i] = names[i]
                used.add(key)
            else:
                still.append(i)
        pending = still
        level += 1
    return [name for name in chosen if name is not None]


def _candidate(options: Sequence[str], level: int) -> str:
    if level < len(options):
        return options[level]
    return f"{options[-1]} {level - len(options) + 2}"
