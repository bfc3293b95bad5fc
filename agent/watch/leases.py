"""Whether another program still has a file open for writing, where the system says so cheaply.

A writer that pauses longer than the quiet period (a scanner between pages, a copy over
a slow link) still holds the file open; claiming it then moves it away under its writer.
The system can tell:

- **Linux**: a read lease (``fcntl`` ``F_SETLEASE`` with ``F_RDLCK``) is refused with
  ``EAGAIN`` while any process has the file open for writing; granted, it is released at
  once. Only the file's owner (or a process with ``CAP_LEASE``) may take one, and network
  and FUSE file systems refuse leases: then the answer is "cannot tell".
- **Windows**: opening the file without write sharing fails with a sharing violation
  while another handle may write to it; the handle is closed at once.
- Elsewhere (macOS), "cannot tell".

"Cannot tell" is quiet: the other rules (end markers, quiet periods) decide alone.
"""

from __future__ import annotations

import errno
import logging
import os
import sys
from pathlib import Path

log = logging.getLogger(__name__)

#: ``fcntl`` commands Python does not name on every version (linux/fcntl.h).
F_SETLEASE = 1024
F_SETSIG = 10


def open_for_writing(path: Path) -> bool | None:
    """``True`` while some program has ``path`` open for writing, ``False`` when none has,
    ``None`` when this system or file system cannot tell (never an error)."""
    if sys.platform == "win32":
        return _windows_open_for_writing(path)
    if sys.platform.startswith("linux"):
        return _linux_open_for_writing(path)
    return None


if sys.platform == "win32":
    import ctypes
    from ctypes import wintypes

    _GENERIC_READ = 0x80000000
    _FILE_SHARE_READ = 0x1
    _FILE_SHARE_DELETE = 0x4
    _OPEN_EXISTING = 3
    _FILE_FLAG_OPEN_REPARSE_POINT = 0x00200000
    _ERROR_SHARING_VIOLATION = 32
    _INVALID_HANDLE = wintypes.HANDLE(-1).value

    _kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    _CreateFileW = _kernel32.CreateFileW
    _CreateFileW.restype = wintypes.HANDLE
    _CreateFileW.argtypes = [
        wintypes.LPCWSTR,
        wintypes.DWORD,
        wintypes.DWORD,
        wintypes.LPVOID,
        wintypes.DWORD,
        wintypes.DWORD,
        wintypes.HANDLE,
    ]
    _CloseHandle = _kernel32.CloseHandle
    _CloseHandle.argtypes = [wintypes.HANDLE]
    _CloseHandle.restype = wintypes.BOOL

    def _windows_open_for_writing(path: Path) -> bool | None:
        handle = _CreateFileW(
            str(path),
            _GENERIC_READ,
            _FILE_SHARE_READ | _FILE_SHARE_DELETE,  # no FILE_SHARE_WRITE: refused if written
            None,
            _OPEN_EXISTING,
            _FILE_FLAG_OPEN_REPARSE_POINT,
            None,
        )
        if handle is None or handle == _INVALID_HANDLE:
            if ctypes.get_last_error() == _ERROR_SHARING_VIOLATION:
                return True
            return None
        _CloseHandle(handle)
        return False

    def _linux_open_for_writing(path: Path) -> bool | None:
        return None

else:

    def _windows_open_for_writing(path: Path) -> bool | None:
        return None

    def _linux_open_for_writing(path: Path) -> bool | None:
        import fcntl
        import signal

        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK
        try:
            fd = os.open(path, flags)
        except OSError:
            return None
        try:
            # A writer opening the file while the lease is held would have the kernel
            # signal this process (SIGIO by default, which ends it). SIGURG is ignored by
            # default and has no handler here; the lease is released at once anyway.
            fcntl.fcntl(fd, F_SETSIG, signal.SIGURG)
            fcntl.fcntl(fd, F_SETLEASE, fcntl.F_RDLCK)
        except OSError as error:
            if error.errno in (errno.EAGAIN, errno.EBUSY):
                return True
            return None  # not the owner, or a file system without leases: cannot tell
        else:
            try:
                fcntl.fcntl(fd, F_SETLEASE, fcntl.F_UNLCK)
            except OSError:
                log.debug("could not release the lease on %s", path, exc_info=True)
            return False
        finally:
            os.close(fd)
