"""Walking a watched tree: the folders in it and the candidate files in each."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path

logger = logging.getLogger(__name__)


def walk_folders(top: Path, ignore: Callable[[Path], bool]) -> Iterator[tuple[Path, list[Path]]]:
    """Yield ``(folder, files)`` for ``top`` and every folder below it, parents first.

    Ignored folders are not entered and ignored files are left out. A symlink is listed as
    a file and never entered: the upload refuses it with a note, so it gets an outcome
    without its target ever being read. Named pipes, devices and sockets are listed too,
    so that they are reported ("not a regular file") instead of passed over in silence. A
    folder below ``top`` that cannot be read is logged and skipped; ``top`` itself raises
    :class:`OSError` (the caller decides whether a missing root is a problem — it is never
    "empty").
    """
    stack = [top]
    while stack:
        folder = stack.pop()
        files: list[Path] = []
        subfolders: list[Path] = []
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    path = Path(entry.path)
                    if ignore(path):
                        continue
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            subfolders.append(path)
                        else:
                            files.append(path)  # links and pipes too: each gets a note
                    except OSError:
                        continue
        except OSError as exc:
            if folder == top:
                raise
            if not isinstance(exc, FileNotFoundError):
                logger.warning(
                    "Cannot read the folder %s (%s); files in it are not seen until it can be "
                    "read. Check its permissions.",
                    folder,
                    exc.strerror,
                )
            continue
        files.sort()
        yield folder, files
        stack.extend(sorted(subfolders, reverse=True))
