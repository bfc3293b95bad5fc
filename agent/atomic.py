"""Writing a file whole: a temporary file beside it, then a rename.

Readers see the old file or the new one, never half of either; a crash, a kill or a full
disk leaves at most a hidden ``.tmp-…`` file (:data:`agent.owned_names.AGENT_OWNED`'s
``temp_prefix``), which the watcher ignores. ``durable`` flushes the data to disk before
the rename (config, credentials, records a restart relies on); without it the write is
cheaper and only atomic (the status file, rewritten often).

The temporary file is created by :func:`tempfile.mkstemp` (exclusively, not through a
link, readable by the owner only: what the credentials file needs, and no harm to any
other file the agent writes), and written with plain ``os.write`` calls: an owner record
is written for every claimed file, and a file object's buffers were most of the cost of
a write that small.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from agent.owned_names import AGENT_OWNED


def write_temp(
    folder: Path, data: bytes | str, *, durable: bool = True, make_folder: bool = True
) -> Path:
    """``data`` (text as UTF-8, ``\\n`` line ends) in a new hidden temporary file in
    ``folder``, made if missing (unless ``make_folder`` is false: a folder the user may have
    renamed or deleted is never made again). On an OSError (for example ENOSPC) no partial
    file is left behind."""
    try:
        fd, name = tempfile.mkstemp(prefix=AGENT_OWNED.temp_prefix, dir=folder)
    except FileNotFoundError:
        if not make_folder:
            raise
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=AGENT_OWNED.temp_prefix, dir=folder)
    raw = memoryview(data.encode("utf-8") if isinstance(data, str) else data)
    try:
        try:
            while raw:
                raw = raw[os.write(fd, raw) :]
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise
    return Path(name)


def write_atomically(
    path: Path, data: bytes | str, *, durable: bool = True, make_folder: bool = True
) -> None:
    """Replace ``path`` with ``data`` so that readers see the old or the new file, never a
    mix. The folder is made if missing (unless ``make_folder`` is false)."""
    temp = write_temp(path.parent, data, durable=durable, make_folder=make_folder)
    try:
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
