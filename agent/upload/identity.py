"""What a local file is, at the moment it is read: size, mtime and SHA-256.

The identity is taken once, before ``document.create`` (Kompliant needs the exact size),
and checked again after the presigned upload: a file whose size or mtime moved in between
was being written while it was sent and is never reported as uploaded.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from agent.errors import FileChanged, FileProblem

log = logging.getLogger(__name__)

CHUNK_SIZE = 1024 * 1024


@dataclass(frozen=True)
class FileIdentity:
    """A file's size in bytes, modification time in ns and hex SHA-256 of its content.

    ``ctime_ns`` and ``inode`` are known when the file was read in this run (an identity
    rebuilt from the journal has none): with them, any change after the read shows in
    the stat, also a rewrite that kept the size and set the old modification time back.
    """

    size: int
    mtime_ns: int
    sha256: str
    ctime_ns: int | None = None
    inode: int | None = None

    def same_stat(self, st: os.stat_result) -> bool:
        return st.st_size == self.size and st.st_mtime_ns == self.mtime_ns

    def unchanged(self, st: os.stat_result) -> bool:
        """Whether ``st`` is the file exactly as it was read: size, mtime, ctime, inode.
        ``False`` when this identity does not know its ctime and inode (then only reading
        the file again can tell)."""
        if self.ctime_ns is None or self.inode is None:
            return False
        return self.same_stat(st) and st.st_ctime_ns == self.ctime_ns and st.st_ino == self.inode


def open_regular(path: Path) -> tuple[int, os.stat_result]:
    """Open ``path`` for reading and return the descriptor and its stat.

    Refuses, with a message a person understands, a file that vanished, is unreadable or
    is not a regular file. ``O_NONBLOCK`` keeps a named pipe from blocking the open; it
    changes nothing for regular files.
    """
    flags = (
        os.O_RDONLY
        | getattr(os, "O_NONBLOCK", 0)
        | getattr(os, "O_BINARY", 0)
        # Never through a link: it could point at any file outside the agent's folders.
        | getattr(os, "O_NOFOLLOW", 0)
    )
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise FileProblem(
            f"The file {path} is not there",
            code="FILE_VANISHED",
            hint="Check the path; if the file was moved or deleted, nothing was uploaded.",
        ) from None
    except IsADirectoryError:
        raise _not_regular(path, "a folder") from None
    except PermissionError:
        raise FileProblem(
            f"The file {path} cannot be read (permission denied)",
            code="FILE_UNREADABLE",
            hint="Give the agent's user read permission on the file, then try again.",
        ) from None
    except OSError as error:
        if error.errno == errno.ELOOP or path.is_symlink():
            raise FileProblem(
                f"{path.name} is a link (shortcut) to another file, not the document itself",
                code="FILE_IS_LINK",
                hint="Copy the document itself into the folder: the agent never follows "
                "links, so that it never uploads a file from outside its folders.",
            ) from None
        raise FileProblem(
            f"The file {path} cannot be opened: {error.strerror}",
            code="FILE_UNREADABLE",
            hint="Check that the file is readable and on a reachable disk, then try again.",
        ) from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        kind = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        raise _not_regular(path, kind)
    return fd, st


def _not_regular(path: Path, kind: str) -> FileProblem:
    return FileProblem(
        f"{path} is {kind}",
        code="FILE_NOT_REGULAR",
        hint="Only regular files can be uploaded; put the document itself in the folder.",
    )


def refuse_empty(path: Path, size: int) -> None:
    if size == 0:
        raise FileProblem(
            f"The file {path.name} is empty (0 bytes)",
            code="FILE_EMPTY",
            hint="Kompliant cannot store an empty document. Save or scan it again, "
            "check it opens, then put it back.",
        )


def identify(path: Path | str, *, chunk_size: int = CHUNK_SIZE) -> FileIdentity:
    """Stat and hash ``path`` in chunks (memory does not grow with the file's size).

    Raises :class:`FileProblem` for an empty, vanished, unreadable or non-regular file and
    :class:`FileChanged` when the file changed while it was read.
    """
    path = Path(path)
    fd, before = open_regular(path)
    refuse_empty(path, before.st_size)
    digest = hashlib.sha256()
    read = 0
    with os.fdopen(fd, "rb", buffering=0) as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
            read += len(chunk)
        after = os.fstat(handle.fileno())
    if read != before.st_size or (after.st_size, after.st_mtime_ns) != (
        before.st_size,
        before.st_mtime_ns,
    ):
        raise FileChanged(
            f"The file {path.name} changed while it was being read",
            code="FILE_CHANGED",
        )
    identity = FileIdentity(
        before.st_size,
        before.st_mtime_ns,
        digest.hexdigest(),
        ctime_ns=after.st_ctime_ns,
        inode=after.st_ino,
    )
    log.debug("identified %s: %d bytes, sha256 %s", path.name, identity.size, identity.sha256)
    return identity
