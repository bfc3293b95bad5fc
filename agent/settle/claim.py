"""Claiming a file before work, so that two agents never upload it twice.

A file is claimed by renaming it into a hidden ``.processing/`` folder beside it: the
rename is the lock (when two agents race, the source is gone for the loser, which gets
None). Next to the claimed file a small owner record, ``<name>.claim.json`` (agent
instance id, host, pid, process start, its liveness lock and journal, claimed_at), tells
every other agent whose claim it is; its modification time is the owner's heartbeat
(:mod:`agent.settle.liveness`), so that claims left by a dead agent are taken over
(:func:`agent.settle.liveness.stale_claims`, :func:`adopt`) while the others run.

A claimed file keeps its name unless a file of that name is already being processed;
then it gets a number (``report (2).pdf``). The original name and place are in the
record, so :func:`release` puts the file back where the user left it.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import socket
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent.atomic import write_atomically
from agent.owned_names import AGENT_OWNED
from agent.settle.lock import held_alive_lock
from agent.settle.moves import (
    move_failed,
    move_to_free_name,
    rename_no_clobber,
    sidecar_name,
)

log = logging.getLogger(__name__)

_RECORD_KIND = "kompliant-agent claim"


@dataclass(frozen=True)
class ClaimOwner:
    """Which running agent holds a claim.

    ``process_start`` tells a live process from a later one that reuses the pid: on
    Linux the boot id and start time of the process; empty where it is not known.
    ``lock`` is a file the owner holds locked for its whole life (free once it is gone,
    however it ended); ``journal`` its journal, where an agent taking the claim over on
    the same host reads how far the file got. Both empty where not known.
    """

    instance_id: str
    host: str
    pid: int
    process_start: str
    lock: str = ""
    journal: str = ""


@dataclass(frozen=True)
class Claim:
    """A file taken for processing: it is at ``path``; the user put it at ``source``."""

    path: Path
    source: Path
    owner: ClaimOwner | None
    claimed_at: datetime | None
    #: The watched folder, when the file is not in its ``.processing/`` (a part of a
    #: scanned stack, made in the agent's work folder).
    home: Path | None = None

    @property
    def record_path(self) -> Path:
        return self.path.with_name(sidecar_name(self.path.name, AGENT_OWNED.claim_suffix))

    @property
    def folder(self) -> Path:
        """The watched folder the file belongs to."""
        return self.home if self.home is not None else self.path.parent.parent


def process_start(pid: int) -> str:
    """An opaque token for when process ``pid`` started ("" if unknown)."""
    if sys.platform != "linux":
        return ""
    if pid == os.getpid():
        return _own_start(pid)  # every claim names its owner: read /proc once
    return _read_start(pid)


@functools.cache
def _own_start(pid: int) -> str:
    """This process's token (keyed by pid: a forked child reads its own)."""
    return _read_start(pid)


def _read_start(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot_id = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""
    # field 22 (starttime); the command name in field 2 may hold spaces and parentheses
    fields = stat[stat.rindex(")") + 2 :].split()
    return f"{boot_id}:{fields[19]}"


def _pid_running(pid: int) -> bool:
    if sys.platform == "win32":
        import ctypes

        handle = ctypes.windll.kernel32.OpenProcess(0x1000, False, pid)
        if not handle:
            return False
        code = ctypes.c_ulong()
        ctypes.windll.kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        ctypes.windll.kernel32.CloseHandle(handle)
        return code.value == 259  # STILL_ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def local_owner_alive(owner: ClaimOwner) -> bool:
    """Whether the owner (on this host) still runs: its pid exists and started then."""
    if not _pid_running(owner.pid):
        return False
    if owner.process_start:
        return process_start(owner.pid) == owner.process_start
    return True


_INSTANCE_ID = uuid.uuid4().hex


def current_owner(*, lock: str = "", journal: str = "") -> ClaimOwner:
    """This process as a claim owner (``lock`` / ``journal``: see :class:`ClaimOwner`);
    ``lock`` defaults to the liveness lock this process holds."""
    pid = os.getpid()
    return ClaimOwner(
        _INSTANCE_ID,
        socket.gethostname(),
        pid,
        process_start(pid),
        lock=lock or held_alive_lock(),
        journal=journal,
    )


def record_text(claim: Claim) -> str:
    """The owner record's text for ``claim`` (pure)."""
    assert claim.owner is not None and claim.claimed_at is not None
    record: dict[str, Any] = {
        "kind": _RECORD_KIND,
        "source": str(claim.source),
        "instance_id": claim.owner.instance_id,
        "host": claim.owner.host,
        "pid": claim.owner.pid,
        "process_start": claim.owner.process_start,
        "lock": claim.owner.lock,
        "journal": claim.owner.journal,
        "claimed_at": claim.claimed_at.isoformat(),
    }
    return json.dumps(record, indent=2) + "\n"


def read_claim(path: Path) -> Claim | None:
    """The claim on ``path`` as its owner record tells it; None without a readable record."""
    raw = _read_record(path.with_name(sidecar_name(path.name, AGENT_OWNED.claim_suffix)))
    return None if raw is None else _claim_from(path, raw)


def _read_record(record_path: Path) -> dict[str, Any] | None:
    try:
        raw = json.loads(record_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return raw if isinstance(raw, dict) and raw.get("kind") == _RECORD_KIND else None


def _claim_from(path: Path, raw: dict[str, Any] | None) -> Claim:
    if raw is None:
        return Claim(path, path.parent.parent / path.name, None, None)
    owner = ClaimOwner(
        instance_id=str(raw.get("instance_id", "")),
        host=str(raw.get("host", "")),
        pid=int(raw.get("pid", 0) or 0),
        process_start=str(raw.get("process_start", "")),
        lock=str(raw.get("lock", "") or ""),
        journal=str(raw.get("journal", "") or ""),
    )
    try:
        claimed_at: datetime | None = datetime.fromisoformat(str(raw["claimed_at"]))
    except (KeyError, ValueError):
        claimed_at = None
    return Claim(
        path, Path(str(raw.get("source", path.parent.parent / path.name))), owner, claimed_at
    )


def _write_record(claim: Claim, *, durable: bool = True) -> None:
    """Write the owner record in place of any earlier one (we own the claim)."""
    write_atomically(claim.record_path, record_text(claim), durable=durable, make_folder=False)


def prepare(folder: Path) -> None:
    """Make ``folder``'s ``.processing/`` ahead of its first claim (when a file arrives).

    A claim renames the file into ``.processing/``; were that folder made by the claim
    itself, the rename would land in a folder the watcher has not begun to watch yet, and
    the watcher would hold the move's unmatched half — and every event after it — back for
    half a second while it looks for the other half. Made when the first file arrives,
    the folder is watched by the time that file is finished. A folder that refuses it
    (read-only, full) is left alone: the claim says what is wrong.
    """
    with contextlib.suppress(OSError):
        (folder / AGENT_OWNED.processing_dir).mkdir(exist_ok=True)


def claim(
    path: Path,
    *,
    owner: ClaimOwner | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Claim | None:
    """Take ``path`` for processing, or None if another agent took it (or it is gone).

    Raises :class:`agent.settle.moves.MoveFailed` when the folder refuses the move
    (permissions, full disk); the file then stays where it is.
    """
    processing = path.parent / AGENT_OWNED.processing_dir
    try:
        processing.mkdir(exist_ok=True)
        target = move_to_free_name(
            path,
            processing,
            path.name,
            also_free=lambda name: [sidecar_name(name, AGENT_OWNED.claim_suffix)],
        )
    except FileNotFoundError:
        return None
    except OSError as error:
        raise move_failed(error, f"claim {path.name}", path.parent, path) from error
    taken = Claim(target, path, owner or current_owner(), now())
    try:
        # Not synced to disk: after a power cut an unsynced rename leaves the file where
        # the user put it, and a lost record makes the claim an orphan that is recovered
        # (agent/engine/recovery.py); two fsyncs per file are not worth that.
        _write_record(taken, durable=False)
    except OSError as error:
        # without a record the claim is still safe: it is recovered as an orphan later
        log.warning("claimed %s but could not write its owner record: %s", path.name, error)
    log.debug("claimed %s as %s", path, target)
    return taken


def release(taken: Claim) -> Path:
    """Put a claimed file back where the user left it (numbered if the name is taken)."""
    folder = taken.source.parent
    try:
        back = move_to_free_name(taken.path, folder, taken.source.name)
    except FileNotFoundError:
        back = folder / taken.source.name
        log.warning("claimed file %s was gone when releasing it", taken.path)
    except OSError as error:
        raise move_failed(error, f"put {taken.source.name} back", folder, taken.path) from error
    with contextlib.suppress(FileNotFoundError):
        taken.record_path.unlink()
    return back


def claims_in(folder: Path) -> list[Claim]:
    """Every claim in ``folder/.processing`` (with or without an owner record)."""
    processing = folder / AGENT_OWNED.processing_dir
    try:
        names = sorted(os.listdir(processing))
    except FileNotFoundError:
        return []
    found = []
    for name in names:
        path = processing / name
        if name.startswith(AGENT_OWNED.temp_prefix) or not path.is_file():
            continue
        if name.endswith(AGENT_OWNED.claim_suffix) and _read_record(path) is not None:
            continue  # an owner record
        record = path.with_name(sidecar_name(name, AGENT_OWNED.claim_suffix))
        found.append(_claim_from(path, _read_record(record)))
    return found


def adopt(
    stale: Claim,
    *,
    owner: ClaimOwner | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Claim | None:
    """Take over a stale claim (same path), or None if another agent took it first.

    The old record is renamed away first — only one agent can do that — and must still
    be the one ``stale`` was read from; for an orphan the new record is created
    exclusively.
    """
    taken = Claim(stale.path, stale.source, owner or current_owner(), now())
    record = stale.record_path
    if stale.owner is not None:
        moved = record.with_name(f"{AGENT_OWNED.temp_prefix}{uuid.uuid4().hex}")
        try:
            rename_no_clobber(record, moved)
        except FileNotFoundError:
            return None
        seen = _claim_from(stale.path, _read_record(moved))
        if (seen.owner, seen.claimed_at) != (stale.owner, stale.claimed_at):
            # another agent adopted it since we looked: put its record back
            with contextlib.suppress(OSError):
                rename_no_clobber(moved, record)
            return None
        _write_record(taken)
        moved.unlink(missing_ok=True)
    else:
        try:
            fd = os.open(record, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return None
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(record_text(taken))
            handle.flush()
            os.fsync(handle.fileno())
    if not stale.path.exists():
        taken.record_path.unlink(missing_ok=True)
        return None
    log.info("took over the claim on %s (left by %s)", stale.path, stale.owner)
    return taken
