"""Moving and writing files without ever replacing one that is already there.

``os.rename`` silently replaces an existing target on POSIX, so the agent never uses it
to a name that might be taken. :func:`rename_no_clobber` uses, in order:

1. Linux ``renameat2(RENAME_NOREPLACE)`` and macOS ``renamex_np(RENAME_EXCL)``: one
   atomic call that fails with EEXIST when the target exists.
2. On Windows ``os.rename`` itself, which never replaces a target.
3. Elsewhere, or on filesystems without the flag (some network shares):
   ``os.link`` (fails with EEXIST) then ``os.unlink`` of the source. Only one of two
   racing processes can unlink the source; the other removes its link and sees the
   source gone, so two agents still cannot both take a file.

Either way: the target is never replaced, and a missing source raises
FileNotFoundError (someone else took the file).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import hashlib
import logging
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from agent.errors import RetryLater

log = logging.getLogger(__name__)

_AT_FDCWD = -100
_RENAME_NOREPLACE = 1  # Linux
_RENAME_EXCL = 0x4  # macOS

NAME_TRIES = 10_000


class MoveFailed(RetryLater):
    """The disk refused a move or a write (full, read-only, no permission).

    The file stays where it was (claimed in ``.processing/``), so nothing is lost; the
    agent tries again later. ``errno`` is the refusal's (ENOSPC: the disk is full).
    """

    errno: int | None = None


def _native_rename() -> Callable[[bytes, bytes], int] | None:
    if sys.platform not in ("linux", "darwin"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    except OSError:
        return None
    if sys.platform == "linux" and hasattr(libc, "renameat2"):
        fn = libc.renameat2

        def linux(src: bytes, dst: bytes) -> int:
            return int(fn(_AT_FDCWD, src, _AT_FDCWD, dst, _RENAME_NOREPLACE))

        return linux
    if sys.platform == "darwin" and hasattr(libc, "renamex_np"):
        fn = libc.renamex_np

        def mac(src: bytes, dst: bytes) -> int:
            return int(fn(src, dst, _RENAME_EXCL))

        return mac
    return None


_NATIVE = _native_rename()
_NO_NATIVE = {errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP}


def _link_unlink(src: Path, dst: Path) -> None:
    os.link(src, dst)  # FileExistsError if taken, FileNotFoundError if src gone
    try:
        os.unlink(src)
    except FileNotFoundError:
        # another process took the source between our link and unlink: it wins
        os.unlink(dst)
        raise


def rename_no_clobber(src: Path, dst: Path) -> None:
    """Rename ``src`` to ``dst`` (same filesystem); FileExistsError if ``dst`` exists."""
    if sys.platform == "win32":
        os.rename(src, dst)
        return
    if _NATIVE is not None:
        if _NATIVE(os.fsencode(src), os.fsencode(dst)) == 0:
            return
        code = ctypes.get_errno()
        if code not in _NO_NATIVE:
            raise OSError(code, os.strerror(code), str(src), None, str(dst))
    try:
        _link_unlink(src, dst)
    except OSError as error:
        if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
            raise
        # no hard links here (some network shares): check, then rename — not atomic
        if os.path.lexists(dst):
            raise FileExistsError(errno.EEXIST, "target exists", str(dst)) from None
        os.rename(src, dst)


#: The longest file name most file systems take, in bytes (ext4, APFS, NTFS: 255 units).
NAME_MAX = 255


def sidecar_name(name: str, suffix: str) -> str:
    """``name + suffix`` for a note or record that sits beside a file — shortened when that
    would be longer than a file system allows (pure).

    A document may use the whole 255 bytes itself; its receipt then keeps the start of the
    name and a short hash of the whole, so every file still gets its note.
    """
    whole = name + suffix
    if len(whole.encode("utf-8")) <= NAME_MAX:
        return whole
    tag = "~" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:10]
    room = NAME_MAX - len((tag + suffix).encode("utf-8"))
    stem = name.encode("utf-8")[:room].decode("utf-8", errors="ignore")
    return stem + tag + suffix


def numbered_names(name: str, suffix: str = "") -> Iterator[str]:
    """``report.pdf``, ``report (2).pdf``, ``report (3).pdf``, … (pure).

    With ``suffix`` (a name that ends with it), the number goes before it:
    ``a.pdf.error.txt`` → ``a.pdf (2).error.txt``.
    """
    yield name
    if suffix and name.endswith(suffix) and len(name) > len(suffix):
        stem, ext = name[: -len(suffix)], suffix
    else:
        dot = name.rfind(".")
        stem, ext = (name[:dot], name[dot:]) if dot > 0 else (name, "")
    for number in range(2, NAME_TRIES + 2):
        yield f"{stem} ({number}){ext}"


def move_to_free_name(
    src: Path,
    folder: Path,
    name: str,
    *,
    also_free: Callable[[str], list[str]] | None = None,
    suffix: str = "",
) -> Path:
    """Move ``src`` into ``folder`` as ``name`` or the first free numbered variant.

    ``also_free(candidate)`` lists sibling names (sidecars) that must be free too;
    ``suffix`` as in :func:`numbered_names`. FileNotFoundError when ``src`` is gone.
    """
    for candidate in numbered_names(name, suffix):
        siblings = also_free(candidate) if also_free else []
        if any(os.path.lexists(folder / sibling) for sibling in siblings):
            continue
        target = folder / candidate
        try:
            rename_no_clobber(src, target)
        except FileExistsError:
            continue
        return target
    raise FileExistsError(errno.EEXIST, f"no free name for {name}", str(folder))


def fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX; a no-op where folders cannot be opened)."""
    if sys.platform == "win32":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def move_failed(error: OSError, what: str, folder: Path, where_it_stays: Path) -> MoveFailed:
    """A readable :class:`MoveFailed` for an OSError met while moving or writing."""
    reason = os.strerror(error.errno) if error.errno else str(error)
    if error.errno == errno.ENOSPC or error.errno == getattr(errno, "EDQUOT", -1):
        action = f"Free some space on the disk of {folder}"
    elif error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        action = f"Let the agent write to {folder} (permissions, read-only disk)"
    else:
        action = f"Check that {folder} is reachable and writable"
    failed = MoveFailed(
        f"Could not {what}: {reason}. The file is safe in {where_it_stays}",
        hint=f"{action}; the agent tries again by itself.",
    )
    failed.errno = error.errno
    return failed
