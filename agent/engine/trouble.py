"""Trouble that is not "offline": each kind its own sentence, saying what to do (pure).

The status lists every problem on its own line; these are the ones besides a missing
folder, an unreachable Kompliant and rejected credentials:

- **server errors** — Kompliant answers, but with HTTP 5xx: "Kompliant answers errors
  (HTTP 500 from document.create for 4 min); retrying." (:class:`ServerTrouble`). Unlike
  an unreachable Kompliant this counts against each file's retry budget, so a server that
  keeps failing ends in a clear failure instead of a wait for ever;
- **disk full** — files uploaded but waiting for room to be moved to done/: "disk full: 2
  files wait for room on /media/share" (:class:`RoomWaits`), one line per volume;
- **not a regular file** — a FIFO, socket or device under a document's name;
- **internal error** — a bug in the agent: the log's path and a request to report it,
  never network advice (:func:`internal_error`).

And the failed/ note of a file whose retry budget is spent (:func:`gave_up`), in the
words of its last trouble.

Topics are the keys of :class:`agent.engine.problems.Problems`.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass, field
from pathlib import Path

from agent.errors import AgentError, AmbiguousRequest, RetryLater, ServerError, UnexpectedResponse
from agent.logfile import log_file

SERVER = "server"  # Kompliant answers with errors
INTERNAL = "internal"  # a bug in the agent


def disk_full_topic(volume: Path) -> str:
    return f"disk-full:{volume}"


def not_regular_topic(path: Path) -> str:
    return f"not-regular:{path}"


def failed_topic(path: Path) -> str:
    return f"failed:{path}"


def server_status(error: AgentError) -> int | None:
    """The HTTP status when Kompliant's API (or a gateway before it) answered a call with a
    5xx (the upload store's answers are another matter: they name no API call)."""
    status = error.http_status
    if status is None or status < 500 or not error.method:
        return None
    if isinstance(error, ServerError | AmbiguousRequest | UnexpectedResponse):
        return status
    return None


def duration(seconds: float) -> str:
    """``35 s``, ``4 min``, ``3 h`` — how long something has lasted, for a sentence."""
    if seconds < 60:
        return f"{max(1, int(seconds))} s"
    if seconds < 2 * 3600:
        return f"{int(seconds // 60)} min"
    return f"{int(seconds // 3600)} h"


@dataclass
class ServerTrouble:
    """Kompliant answering with errors: since when, and the latest call and status.

    Fed by every failed call (:meth:`seen`) and every call that worked (:meth:`cleared`);
    :meth:`sentence` is the status line while it lasts. Times are monotonic seconds.
    """

    since: float | None = None
    method: str = ""
    status: int = 0

    def seen(self, method: str, status: int, now: float) -> None:
        if self.since is None:
            self.since = now
        self.method = method or self.method
        self.status = status

    def cleared(self) -> bool:
        """Forget the trouble; whether there was any."""
        was = self.since is not None
        self.since = None
        return was

    def sentence(self, now: float) -> str | None:
        if self.since is None:
            return None
        call = f" from {self.method}" if self.method else ""
        return (
            f"Kompliant answers errors (HTTP {self.status}{call} for "
            f"{duration(now - self.since)}); retrying. Each file is tried a limited number "
            "of times; if it keeps failing, check Kompliant's status page or ask its support."
        )


@dataclass
class RoomWaits:
    """Files waiting for room on a full disk, by volume (the mount point of their folder)."""

    waiting: dict[int, Path] = field(default_factory=dict)  # entry id → volume

    def wait(self, entry_id: int, volume: Path) -> None:
        self.waiting[entry_id] = volume

    def done(self, entry_id: int) -> Path | None:
        """The entry no longer waits; the volume it waited on (to refresh its line)."""
        return self.waiting.pop(entry_id, None)

    def count(self, volume: Path) -> int:
        return sum(1 for v in self.waiting.values() if v == volume)

    def sentence(self, volume: Path) -> str | None:
        count = self.count(volume)
        if not count:
            return None
        files = "1 file waits" if count == 1 else f"{count} files wait"
        return (
            f"disk full: {files} for room on {volume}. They are uploaded and safe in "
            ".processing/; free some space there and they move to done/ by themselves."
        )


def volume_of(path: Path) -> Path:
    """The mount point of the file system that holds ``path`` (reads the disk)."""
    current = Path(os.path.abspath(path))
    while not current.exists() and current != current.parent:
        current = current.parent
    while not os.path.ismount(current) and current != current.parent:
        current = current.parent
    return current


def is_disk_full(error: BaseException) -> bool:
    """Whether ``error`` says the disk (or the user's quota) is full."""
    code = getattr(error, "errno", None)
    return code is not None and code in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))


def not_regular(path: Path, kind: str) -> str:
    return (
        f"not a regular file: {path.name} in {path.parent} is {kind}, not a document, so "
        "the agent cannot read it. Remove it, and put the document itself there."
    )


def internal_error(file_name: str, error: BaseException, log_file: Path | None) -> str:
    where = f" (the log: {log_file})" if log_file is not None else ""
    return (
        f"internal error while handling {file_name}: {type(error).__name__}: {error}. "
        f"This is a bug in kompliant-agent, not a problem with the file or the network: "
        f"please report it with the log{where}. The file stays safe where it is and is "
        "tried again a few times."
    )


class InternalError(RetryLater):
    """A bug met while a file was handled: retried a few times, then failed, with a request
    to report it — never the network advice of other retries."""

    default_hint = "This is a bug in kompliant-agent: please report it with the log."


def claim_lost(file_name: str) -> str:
    """The journal's words for a file whose claim another agent took over."""
    return (
        f"{file_name}: another agent took its claim over and finishes it; this agent "
        "stopped working on it"
    )


def gave_up(attempts: int, error: RetryLater) -> tuple[str, str]:
    """The failed/ note (problem, action) for a file whose retry budget is spent."""
    tries = "1 attempt" if attempts == 1 else f"{attempts} attempts"
    if isinstance(error, InternalError):
        return (
            f"kompliant-agent met an internal error on each of {tries}: {error.message}",
            "This is a bug in kompliant-agent, not a problem with the file: please report it "
            f"with the log ({log_file()}). Then move the file back into its folder (or run "
            "`kompliant-agent retry`).",
        )
    status = server_status(error)
    if status is not None:
        call = f" to {error.method}" if error.method else ""
        return (
            f"Kompliant answered HTTP {status}{call} on each of {tries}, so the file was not "
            f"uploaded. Its last answer: {error.message}",
            "Move the file back into its folder (or run `kompliant-agent retry`) once Kompliant "
            "works again; if this lasts, ask Kompliant's support.",
        )
    problem = f"The upload kept failing after {tries}; the last problem was: {error.message}"
    action = (
        "Check the network and Kompliant's status, then move the file back into its folder "
        "(or run `kompliant-agent retry`)."
    )
    return problem, action
