"""Which names in a watched folder are never documents.

Three kinds of names are skipped before a file reaches finished-file detection:

- hidden names (a leading ``.``), which also covers macOS resource forks (``._*``),
  ``.DS_Store`` and LibreOffice locks (``.~lock*``);
- temporary and partial names that editors, browsers and copy tools write while a file is
  still being made (``~$*``, ``*.tmp``, ``*.part``, ``*.crdownload`` …) and the junk the
  operating system drops into folders (``Thumbs.db``, ``desktop.ini``);
- the agent's own folders, markers and sidecars (see :data:`AGENT_OWNED`), and the user's
  ignore patterns from the config.

The agent's own names live in :mod:`agent.owned_names`, so :mod:`agent.decide`,
:mod:`agent.settle` and :mod:`agent.review` create exactly the names this module skips.

Every event the watcher hears goes through :func:`ignore_under` — a burst of files makes
several events per file (and where watchdog's own observers watch the agent's ``done/``
and ``.processing/``, tens) — so the rules are compiled once (one regular expression,
sets of folded names) and a name's verdict is remembered: the folder names of a path
recur in every event below them.
"""

from __future__ import annotations

import fnmatch
import functools
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path, PurePath

from agent.owned_names import AGENT_OWNED

#: Whether file names compare without regard to case on this system (Windows, macOS).
OS_CASE_INSENSITIVE = sys.platform in ("win32", "darwin")

# Temporary and partial names. Compared case-insensitively everywhere: ``REPORT.TMP`` is a
# temporary file on any system, and no one names a real document ``THUMBS.DB``.
_TEMPORARY_PATTERNS: tuple[str, ...] = (
    "~$*",  # Microsoft Office owner files
    ".~lock*",  # LibreOffice locks (also hidden)
    "._*",  # macOS resource forks on non-Apple file systems (also hidden)
    "*.tmp",
    "*.temp",
    "*.part",  # Firefox, wget, many download tools
    "*.partial",  # older Edge / Internet Explorer
    "*.crdownload",  # Chrome, Edge, Brave
    "*.download",  # Safari
    "*.swp",
    "*~",  # editor backups
)
_OS_JUNK_NAMES = frozenset({".ds_store", "thumbs.db", "ehthumbs.db", "desktop.ini", "icon\r"})
_TEMPORARY = re.compile("|".join(fnmatch.translate(pattern) for pattern in _TEMPORARY_PATTERNS))
#: How many verdicts on single names are remembered (folder names recur in every path).
_REMEMBERED_NAMES = 4096


@functools.cache
def _owned(case_insensitive: bool) -> tuple[frozenset[str], str, tuple[str, ...]]:
    """The agent's own (whole names, marker prefix, sidecar suffixes), folded or not."""

    def fold(value: str) -> str:
        return value.casefold() if case_insensitive else value

    return (
        frozenset(fold(owned) for owned in AGENT_OWNED.folders | AGENT_OWNED.files),
        fold(AGENT_OWNED.marker_prefix),
        tuple(fold(suffix) for suffix in AGENT_OWNED.sidecar_suffixes),
    )


def is_agent_owned(name: str, *, case_insensitive: bool = OS_CASE_INSENSITIVE) -> bool:
    """Whether ``name`` is one of the agent's own folders, markers or sidecars."""
    folded = name.casefold() if case_insensitive else name
    names, marker_prefix, suffixes = _owned(case_insensitive)
    return folded in names or folded.startswith(marker_prefix) or folded.endswith(suffixes)


def is_temporary(name: str) -> bool:
    """Whether ``name`` is a temporary or partial file, or operating-system junk."""
    folded = name.casefold()
    return folded in _OS_JUNK_NAMES or _TEMPORARY.match(folded) is not None


def is_ignored(
    name: str,
    extra_patterns: Sequence[str] = (),
    *,
    case_insensitive: bool = OS_CASE_INSENSITIVE,
) -> bool:
    """Whether a file or folder called ``name`` (one path component) is never a document.

    ``extra_patterns`` are the user's ignore patterns (shell-style, as :mod:`fnmatch`); they
    compare without case where the system does (``case_insensitive``).
    """
    return _ignored_name(name, tuple(extra_patterns), case_insensitive)


@functools.lru_cache(maxsize=_REMEMBERED_NAMES)
def _ignored_name(name: str, extra_patterns: tuple[str, ...], case_insensitive: bool) -> bool:
    if not name or name.startswith("."):
        return True
    if is_temporary(name) or is_agent_owned(name, case_insensitive=case_insensitive):
        return True
    folded = name.casefold() if case_insensitive else name
    for pattern in extra_patterns:
        wanted = pattern.casefold() if case_insensitive else pattern
        if fnmatch.fnmatchcase(folded, wanted):
            return True
    return False


def is_ignored_path(
    path: PurePath,
    root: PurePath,
    extra_patterns: Sequence[str] = (),
    *,
    case_insensitive: bool = OS_CASE_INSENSITIVE,
) -> bool:
    """Whether ``path`` under ``root`` is ignored: any of its components below ``root`` is.

    So every file inside ``done/``, ``failed/`` or ``.processing/`` is ignored, at any depth.
    A path outside ``root`` is ignored too: it is not the watcher's business.
    """
    try:
        relative = path.relative_to(root)
    except ValueError:
        return True
    patterns = tuple(extra_patterns)
    return any(_ignored_name(part, patterns, case_insensitive) for part in relative.parts)


def ignore_under(
    roots: Sequence[Path], extra_patterns: Sequence[str] = ()
) -> Callable[[Path], bool]:
    """An ``ignore(path)`` callable for :class:`agent.watch.observer.FolderWatcher`.

    A path is judged against the root that holds it; a path under none of ``roots`` is ignored.
    """
    ordered = sorted(roots, key=lambda root: len(root.parts), reverse=True)
    patterns = tuple(extra_patterns)
    # Paths compared as the system compares them (os.path.normcase: case and separators on
    # Windows, as PurePath does), by string prefix rather than by walking path.parents.
    prefixes = [os.path.normcase(os.path.join(root, "")) for root in ordered]

    # A path's names below its root are the text after the root's prefix (a Path's text
    # has no empty or "." names), so no relative path is built for each event.
    sep = os.sep
    case_insensitive = OS_CASE_INSENSITIVE

    def ignore(path: Path) -> bool:
        text = os.path.normcase(path)
        for prefix in prefixes:
            if text == prefix or text + sep == prefix:
                return False  # the root itself
            if text.startswith(prefix):
                names = text[len(prefix) :].split(sep)
                return any(_ignored_name(name, patterns, case_insensitive) for name in names)
        return True

    return ignore
