"""The ways programs put a file into a folder, each as one function.

Every pattern writes ``content`` so that it ends up as ``folder / name`` and returns the
``time.monotonic()`` at which its writer finished (its last close, rename or attribute
change): the moment a person would say the file is there. Where a real program does it
(``cp``, ``mv``, ``rsync``), the real program is run. ``staging`` is a folder outside the
watched tree on the same file system (for ``mv``) where sources are prepared.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

#: ``(staging, folder, name, content) -> finished_at``
Pattern = Callable[[Path, Path, str, bytes], float]


def _run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True, timeout=120)


def _stage(staging: Path, name: str, content: bytes) -> Path:
    staging.mkdir(parents=True, exist_ok=True)
    source = staging / f"{secrets.token_hex(4)}-{name}"
    source.write_bytes(content)
    return source


def write_close(staging: Path, folder: Path, name: str, content: bytes) -> float:
    """Open, write everything, close: a program saving in one go."""
    with (folder / name).open("wb") as handle:
        handle.write(content)
    return time.monotonic()


def cp(staging: Path, folder: Path, name: str, content: bytes) -> float:
    """``cp`` from outside the watched tree: create, write, close under the final name."""
    source = _stage(staging, name, content)
    _run("cp", str(source), str(folder / name))
    return time.monotonic()


def cp_preserve(staging: Path, folder: Path, name: str, content: bytes) -> float:
    """``cp -p``: as ``cp``, then the times and mode are set after the close."""
    source = _stage(staging, name, content)
    _run("cp", "-p", str(source), str(folder / name))
    return time.monotonic()


def mv(staging: Path, folder: Path, name: str, content: bytes) -> float:
    """``mv`` within one file system: the whole file appears at once under its name."""
    source = _stage(staging, name, content)
    _run("mv", str(source), str(folder / name))
    return time.monotonic()


def rename_over(
    staging: Path,
    folder: Path,
    name: str,
    content: bytes,
    *,
    placeholder_for: float = 0.2,
    attributes: bool = False,
) -> float:
    """Firefox's download: the final name first as a 0-byte placeholder, the data into
    ``<name>.<random>.part``, the .part renamed over the placeholder ``placeholder_for``
    seconds later, then (``attributes``) its times and mode changed."""
    final = folder / name
    final.write_bytes(b"")
    started = time.monotonic()
    part = folder / f"{name}.{secrets.token_hex(3)}.part"
    with part.open("wb") as handle:
        handle.write(content)
    time.sleep(max(0.0, placeholder_for - (time.monotonic() - started)))
    os.replace(part, final)
    if attributes:
        _change_attributes(final)
    return time.monotonic()


def rsync(staging: Path, folder: Path, name: str, content: bytes) -> float:
    """``rsync`` as it copies by default: a hidden temporary file, its times set, renamed."""
    source = _stage(staging, name, content)
    _run("rsync", "--times", str(source), str(folder / name))
    return time.monotonic()


def rsync_inplace(staging: Path, folder: Path, name: str, content: bytes) -> float:
    """``rsync --inplace``: written under the final name, its times set after the close."""
    source = _stage(staging, name, content)
    _run("rsync", "--inplace", "--times", str(source), str(folder / name))
    return time.monotonic()


def browser(staging: Path, folder: Path, name: str, content: bytes) -> float:
    """Chromium's download: ``<name>.crdownload``, renamed to the name once complete,
    then its attributes changed (mode, times, the origin in an extended attribute)."""
    temporary = folder / f"{name}.crdownload"
    with temporary.open("wb") as handle:
        handle.write(content)
    os.replace(temporary, folder / name)
    _change_attributes(folder / name)
    return time.monotonic()


def _change_attributes(path: Path) -> None:
    os.chmod(path, 0o644)
    os.utime(path)
    setxattr = getattr(os, "setxattr", None)
    if setxattr is not None:
        with contextlib.suppress(OSError):  # a file system without user attributes
            setxattr(path, "user.xdg.origin.url", b"http://127.0.0.1/statement.pdf")


def append_in_passes(
    staging: Path,
    folder: Path,
    name: str,
    content: bytes,
    *,
    gaps: Sequence[float] = (0.5, 1.0, 2.0),
) -> float:
    """A program that saves in passes: write, close, then reopen to append and close again
    after each gap, so the file is whole only after the last pass."""
    passes = len(gaps) + 1
    cuts = [len(content) * i // passes for i in range(passes + 1)]
    path = folder / name
    with path.open("wb") as handle:
        handle.write(content[: cuts[1]])
    for index, gap in enumerate(gaps, start=1):
        time.sleep(gap)
        with path.open("ab") as handle:
            handle.write(content[cuts[index] : cuts[index + 1]])
    return time.monotonic()


def held_open(
    staging: Path,
    folder: Path,
    name: str,
    content: bytes,
    *,
    chunks: int = 4,
    pause: float = 3.0,
) -> float:
    """One open for the whole file, written in ``chunks`` with ``pause`` seconds between
    them (a scanner between pages, a slow network copy)."""
    step = -(-len(content) // chunks)
    with (folder / name).open("wb") as handle:
        for start in range(0, len(content), step):
            if start:
                time.sleep(pause)
            handle.write(content[start : start + step])
            handle.flush()
    return time.monotonic()


@dataclass(frozen=True)
class Writer:
    """A named pattern, for tables of results."""

    name: str
    write: Pattern
    program: str | None = None  # the program it needs on the PATH, if any

    def available(self) -> bool:
        return self.program is None or shutil.which(self.program) is not None


def quick_passes(staging: Path, folder: Path, name: str, content: bytes) -> float:
    """Three passes 0.3 s apart: longer than the close confirmation, shorter than quiet."""
    return append_in_passes(staging, folder, name, content, gaps=(0.3, 0.3))


def placeholder_then_rename(staging: Path, folder: Path, name: str, content: bytes) -> float:
    """The 0-byte placeholder, and half a second later the whole file renamed over it."""
    return rename_over(staging, folder, name, content, placeholder_for=0.5)


#: The local writers the benchmark measures, in its table's order.
LOCAL_WRITERS: tuple[Writer, ...] = (
    Writer("cp", cp, "cp"),
    Writer("cp -p", cp_preserve, "cp"),
    Writer("mv", mv, "mv"),
    Writer("rename-over", placeholder_then_rename),
    Writer("rsync", rsync, "rsync"),
    Writer("rsync --inplace", rsync_inplace, "rsync"),
    Writer("browser", browser),
    Writer("append in passes", quick_passes),
)
