"""One running agent per profile: an exclusive lock on a file in the profile's state folder.

The lock is an OS file lock (``fcntl.flock`` on POSIX, ``msvcrt.locking`` on Windows)
held on an open file for the life of the process. The OS drops it when the process
ends in any way — also after SIGKILL or a power cut — so a stale lock never blocks a
restart; the file left behind is harmless. The file's text names the holder (pid,
host, start time) so a second agent can tell the user which process runs.

Beside it the holder keeps a second file locked, ``agent.alive``: the liveness lock its
claims name (:mod:`agent.settle.liveness`). Other agents on this host try it with a
shared, non-blocking lock to learn whether the claim's owner still runs; a separate file,
so that such a look never makes a starting agent think the profile is taken.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from agent.errors import CannotSucceed

log = logging.getLogger(__name__)

LOCK_FILE = "agent.lock"
ALIVE_FILE = "agent.alive"
_WINDOWS_LOCK_OFFSET = 1 << 20  # lock a byte past the text, so others can still read it


class AlreadyRunning(CannotSucceed):
    """Another agent already runs for this profile."""

    def __init__(self, message: str, *, pid: int | None, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.pid = pid


def _try_lock(fd: int) -> bool:
    if sys.platform == "win32":
        import msvcrt

        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _read_holder(path: Path) -> dict[str, object]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return raw if isinstance(raw, dict) else {}


_held_alive: list[str] = []  # the liveness lock this process holds, if any


def held_alive_lock() -> str:
    """The liveness lock file this process holds ("" when it holds none)."""
    return _held_alive[-1] if _held_alive else ""


def _lock_alive(state_dir: Path) -> tuple[str, int | None]:
    """Hold ``agent.alive`` exclusively (waiting out a look by another agent)."""
    path = state_dir / ALIVE_FILE
    if sys.platform == "win32":
        return "", None
    import fcntl

    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        log.warning("cannot create the liveness lock %s: %s", path, error)
        return "", None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except OSError as error:
        os.close(fd)
        log.warning("cannot lock %s: %s", path, error)
        return "", None
    return str(path), fd


class ProfileLock:
    """The held lock; :meth:`release` (or leaving the ``with`` block) lets it go."""

    def __init__(self, path: Path, fd: int, alive: tuple[str, int | None] = ("", None)) -> None:
        self.path = path
        self._fd: int | None = fd
        self.alive_path, self._alive_fd = alive
        if self.alive_path:
            _held_alive.append(self.alive_path)

    @classmethod
    def acquire(cls, state_dir: Path, *, profile: str = "") -> ProfileLock:
        """Take the lock of the profile whose state folder is ``state_dir``.

        Raises :class:`AlreadyRunning` naming the other agent's pid when it is held.
        """
        state_dir.mkdir(parents=True, exist_ok=True)
        path = state_dir / LOCK_FILE
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        if not _try_lock(fd):
            os.close(fd)
            holder = _read_holder(path)
            pid = holder.get("pid")
            pid_int = pid if isinstance(pid, int) else None
            who = f"process {pid_int}" if pid_int is not None else "another process"
            host = holder.get("host")
            if isinstance(host, str) and host and host != socket.gethostname():
                who += f" on {host}"
            name = f" for profile {profile!r}" if profile else ""
            raise AlreadyRunning(
                f"kompliant-agent is already running{name} ({who})",
                pid=pid_int,
                hint=(
                    "Only one agent can run per profile. Use the running one "
                    "(`kompliant-agent status`, `pause`, `resume`), or stop it and start "
                    "again; to run a second agent, give it another --profile."
                ),
            )
        holder_text = json.dumps(
            {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "started_at": datetime.now(UTC).isoformat(),
            }
        )
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, holder_text.encode("utf-8"))
        os.fsync(fd)
        log.debug("holding the profile lock %s", path)
        return cls(path, fd, _lock_alive(state_dir))

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        """Let the lock go (closing the file drops the OS lock)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)
        if self._alive_fd is not None:
            os.close(self._alive_fd)
            self._alive_fd = None
        with contextlib.suppress(ValueError):
            _held_alive.remove(self.alive_path)

    def __enter__(self) -> ProfileLock:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
