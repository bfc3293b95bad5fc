"""A scanner's numbered page images, gathered into groups to be joined into one PDF.

Scanners that write one image per page name them with a running number (``scan-1.png``,
``scan_002.jpg``, ``IMG 3.tif``); the pages of one scan arrive one after another. Images
of one base name and type that arrive within the folder's window of each other are one
group; a group is complete once no page has come for the window. Plain data and an
injected clock: no sleeps, no disk.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from agent.scan.convert import JOIN_SUFFIXES

_NUMBERED = re.compile(r"^(?P<base>.*?)(?P<number>\d{1,6})(?P<suffix>\.[A-Za-z]+)$")
_KINDS = {".jpeg": ".jpg", ".tiff": ".tif"}


@dataclass(frozen=True)
class PageName:
    """A numbered page image's name: base name, number and type."""

    base: str
    number: int
    suffix: str

    @property
    def joined_name(self) -> str:
        """The name of the PDF the group becomes (``scan-1.png`` → ``scan.pdf``)."""
        stem = self.base.rstrip(" _-.(") or "scan"
        return f"{stem}.pdf"


def page_name(name: str) -> PageName | None:
    """The parts of a numbered page image's name; None for any other name."""
    match = _NUMBERED.match(name)
    if match is None or match.group("suffix").lower() not in JOIN_SUFFIXES:
        return None
    suffix = match.group("suffix").lower()
    return PageName(match.group("base"), int(match.group("number")), _KINDS.get(suffix, suffix))


@dataclass
class _Group:
    window: float
    last: float
    pages: dict[Path, int] = field(default_factory=dict)


class JoinGroups:
    """Groups of page images waiting for their last page."""

    def __init__(self) -> None:
        self._groups: dict[tuple[Path, str, str], _Group] = {}

    def add(self, path: Path, window: float, now: float) -> bool:
        """Take ``path`` into its group; False when it is no numbered page image."""
        name = page_name(path.name)
        if name is None:
            return False
        key = (path.parent, name.base.casefold(), name.suffix)
        group = self._groups.setdefault(key, _Group(window, now))
        group.pages[path] = name.number
        group.last = now
        group.window = window
        return True

    def holds(self, path: Path) -> bool:
        return any(path in group.pages for group in self._groups.values())

    def forget(self, path: Path) -> None:
        """A page removed before its group was complete."""
        for key, group in list(self._groups.items()):
            group.pages.pop(path, None)
            if not group.pages:
                del self._groups[key]

    def due(self, now: float) -> list[list[Path]]:
        """The complete groups (taken out), each in page order."""
        done = []
        for key, group in list(self._groups.items()):
            if now - group.last >= group.window:
                del self._groups[key]
                done.append(sorted(group.pages, key=lambda p: (group.pages[p], p.name)))
        return done

    def pending(self) -> int:
        return sum(len(group.pages) for group in self._groups.values())

    def next_deadline(self) -> float | None:
        deadlines: Iterable[float] = (g.last + g.window for g in self._groups.values())
        return min(deadlines, default=None)
