"""Whether a claim's owner is still there: heartbeats, locks and leases.

A running agent keeps every claim it holds fresh: :func:`heartbeat` touches the claim's
owner record (its modification time is the heartbeat) every :data:`HEARTBEAT_SECONDS`,
and tells the holder when the claim is no longer its own. Another agent judges a claim
it finds (:func:`judge`):

- **this host**: the owner is gone when its process is dead (the pid is free, or taken by
  a later process: the start time differs) or its liveness lock is free
  (:func:`lock_free`: the owner held it for its whole life, and the OS dropped it when
  the process ended in any way);
- **another host** (a shared folder): its process cannot be asked, so the claim is stale
  once its heartbeat has not moved for a lease (:data:`DEFAULT_LEASE_SECONDS`,
  configurable) as *this* agent watched it (:class:`LeaseWatch`, on the monotonic clock)
  — clocks of two machines, or of a file server, never need to agree;
- **no record** (the claimer died between the rename and the record): stale after a
  grace period.

Taking a stale claim over is :func:`agent.settle.claim.adopt`: of two agents racing for
one stale claim, exactly one wins.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from agent.settle.claim import (
    Claim,
    ClaimOwner,
    claims_in,
    local_owner_alive,
    read_claim,
    record_text,
)

log = logging.getLogger(__name__)

#: How often a held claim's record is touched (the issue's bound is 10 s).
HEARTBEAT_SECONDS = 5.0
#: A claim of another host is stale when its heartbeat has not moved for this long.
DEFAULT_LEASE_SECONDS = 60.0
#: A claimed file without a record is left alone this long by its age alone (its owner
#: may be writing it); a running agent's :class:`LeaseWatch` takes it after one lease.
ORPHAN_GRACE = timedelta(minutes=2)
#: Without a :class:`LeaseWatch` (a one-off look), a claim of another host is stale when its
#: heartbeat is this old by the wall clock — long enough for any clock difference.
OTHER_HOST_AGE = timedelta(hours=1)


class Hold(enum.Enum):
    """What a heartbeat found."""

    HELD = "held"  # still ours, record touched
    LOST = "lost"  # another agent holds it now: stop working on the file
    MISSING = "missing"  # the claimed file is not at its path (renamed, moved or removed)


def heartbeat(taken: Claim, me: ClaimOwner) -> Hold:
    """Touch the record of a claim ``me`` holds; say whether it is still ``me``'s.

    A record that is gone (it could not be written at the claim, or someone removed it)
    is written again — exclusively, so an agent taking the claim over at that moment
    keeps its own record and this holder learns at its next heartbeat that it lost.
    """
    if not os.path.lexists(taken.path):
        return Hold.MISSING
    record = read_claim(taken.path)
    if record is not None:
        if record.owner is not None and record.owner.instance_id != me.instance_id:
            return Hold.LOST
        try:
            os.utime(taken.record_path)
        except FileNotFoundError:
            return Hold.HELD  # being taken over this instant: the next beat tells
        except OSError as error:
            log.debug("cannot touch the claim record %s: %s", taken.record_path, error)
        return Hold.HELD
    mine = Claim(taken.path, taken.source, me, taken.claimed_at or datetime.now(UTC))
    try:
        fd = os.open(taken.record_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return Hold.HELD  # written meanwhile (by us or a rival): the next beat tells
    except OSError as error:
        log.debug("cannot write the claim record %s: %s", taken.record_path, error)
        return Hold.HELD
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(record_text(mine))
    return Hold.HELD


def lock_free(path: str) -> bool:
    """Whether nobody holds the liveness lock at ``path`` (POSIX ``flock``).

    A shared, non-blocking try: it fails while the owner holds its exclusive lock and is
    let go at once when it succeeds. False when it cannot be told (no such file, another
    platform): the pid and start time decide then.
    """
    if not path or sys.platform == "win32":
        return False
    import fcntl

    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:
        return False
    else:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    finally:
        os.close(fd)


def owner_gone(
    owner: ClaimOwner,
    *,
    is_alive: Callable[[ClaimOwner], bool] = local_owner_alive,
    is_lock_free: Callable[[str], bool] = lock_free,
) -> bool:
    """Whether the owner of a claim on this host has stopped (dead, or its lock free)."""
    return not is_alive(owner) or (bool(owner.lock) and is_lock_free(owner.lock))


def record_token(taken: Claim) -> tuple[int, int, int] | None:
    """What changes with each heartbeat: the record's (mtime, size, inode)."""
    try:
        st = os.stat(taken.record_path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


@dataclass
class LeaseWatch:
    """Heartbeats of other hosts' claims as this agent saw them, on its own clock.

    :meth:`stale` is true once a claim's record has not changed for ``lease`` seconds of
    watching. Claims no longer seen are dropped with :meth:`keep_only`.
    """

    lease: float = DEFAULT_LEASE_SECONDS
    clock: Callable[[], float] = time.monotonic
    _seen: dict[Path, tuple[object, float]] = field(default_factory=dict)

    def stale(self, path: Path, token: object) -> bool:
        now = self.clock()
        last = self._seen.get(path)
        if last is None or last[0] != token:
            self._seen[path] = (token, now)
            return False
        return now - last[1] >= self.lease

    def keep_only(self, paths: Iterable[Path]) -> None:
        wanted = set(paths)
        for path in [p for p in self._seen if p not in wanted]:
            del self._seen[path]


def judge(
    found: Claim,
    *,
    me: ClaimOwner,
    watch: LeaseWatch,
    now: datetime | None = None,
    orphan_grace: timedelta = ORPHAN_GRACE,
    is_alive: Callable[[ClaimOwner], bool] = local_owner_alive,
    is_lock_free: Callable[[str], bool] = lock_free,
) -> bool:
    """Whether ``found`` (a claim in some ``.processing/``) is stale: to take over."""
    owner = found.owner
    if owner is None or found.claimed_at is None:
        try:
            st = found.path.stat()
        except FileNotFoundError:
            return False
        changed = datetime.fromtimestamp(st.st_ctime, tz=UTC)
        if (now or datetime.now(UTC)) - changed >= orphan_grace:
            return True
        # A live owner writes a missing record again at every heartbeat, so a claim seen
        # without one, unchanged, for a whole lease of watching has no owner left (an
        # agent killed between its claim's rename and the record).
        return watch.stale(found.path, ("orphan", st.st_ino, st.st_ctime_ns))
    if owner.instance_id == me.instance_id:
        return False
    if owner.host == me.host:
        return owner_gone(owner, is_alive=is_alive, is_lock_free=is_lock_free)
    token = record_token(found)
    return token is not None and watch.stale(found.path, token)


def heartbeat_at(found: Claim) -> datetime | None:
    """When the owner last touched the claim's record (its modification time)."""
    try:
        return datetime.fromtimestamp(found.record_path.stat().st_mtime, tz=UTC)
    except OSError:
        return None


def stale_claims(
    folder: Path,
    *,
    me: ClaimOwner | None = None,
    watch: LeaseWatch | None = None,
    is_alive: Callable[[ClaimOwner], bool] = local_owner_alive,
    is_lock_free: Callable[[str], bool] = lock_free,
    host: str | None = None,
    now: datetime | None = None,
    other_host_age: timedelta = OTHER_HOST_AGE,
    orphan_grace: timedelta = ORPHAN_GRACE,
) -> list[Claim]:
    """Claims in ``folder`` whose owner is gone, to recover with
    :func:`agent.settle.claim.adopt` or :func:`agent.settle.claim.release`.

    As :func:`judge`; without ``watch`` (a one-off look) a claim of another host is stale
    when both its claim and its last heartbeat are older than ``other_host_age``.
    """
    from agent.settle.claim import current_owner

    base = me or current_owner()
    if host is not None:
        base = ClaimOwner(base.instance_id, host, base.pid, base.process_start)
    at = now or datetime.now(UTC)
    stale = []
    for found in claims_in(folder):
        owner = found.owner
        if watch is None and owner is not None and found.claimed_at is not None:
            if owner.instance_id == base.instance_id:
                continue
            if owner.host != base.host:
                beat = heartbeat_at(found) or found.claimed_at
                if at - max(beat, found.claimed_at) >= other_host_age:
                    stale.append(found)
                continue
        if judge(
            found,
            me=base,
            watch=watch or LeaseWatch(),
            now=at,
            orphan_grace=orphan_grace,
            is_alive=is_alive,
            is_lock_free=is_lock_free,
        ):
            stale.append(found)
    return stale
