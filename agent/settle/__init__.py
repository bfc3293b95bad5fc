"""Claim a file, move it to done/ or failed/ with a readable note; one agent per profile.

Public face:

- :func:`claim` / :func:`release` / :func:`adopt` — the hidden ``.processing/`` folder
  beside a file (:mod:`agent.settle.claim`);
- :func:`heartbeat` / :func:`judge` / :func:`stale_claims` / :class:`LeaseWatch` — whether
  a claim's owner is still there (:mod:`agent.settle.liveness`);
- :func:`settle_done` / :func:`settle_failed` / :func:`retry_failed` / :func:`find_done` with
  :class:`DoneRecord` and :class:`Fulfilled` (:mod:`agent.settle.outcome`);
- :class:`ProfileLock` / :class:`AlreadyRunning` (:mod:`agent.settle.lock`);
- :class:`MoveFailed`: the disk refused a move; the file stays claimed (retry later).

The folder and file names it creates are :data:`agent.owned_names.AGENT_OWNED`'s, the
ones the watcher ignores.
"""

from __future__ import annotations

from agent.settle.claim import (
    Claim,
    ClaimOwner,
    adopt,
    claim,
    claims_in,
    current_owner,
    local_owner_alive,
    read_claim,
    release,
)
from agent.settle.find import find_claimed, move_record, remove_record
from agent.settle.liveness import (
    DEFAULT_LEASE_SECONDS,
    HEARTBEAT_SECONDS,
    Hold,
    LeaseWatch,
    heartbeat,
    judge,
    lock_free,
    stale_claims,
)
from agent.settle.lock import LOCK_FILE, AlreadyRunning, ProfileLock
from agent.settle.moves import MoveFailed
from agent.settle.outcome import (
    ClaimMissing,
    DoneRecord,
    Fulfilled,
    find_done,
    retry_failed,
    settle_done,
    settle_failed,
)

__all__ = [
    "DEFAULT_LEASE_SECONDS",
    "HEARTBEAT_SECONDS",
    "LOCK_FILE",
    "AlreadyRunning",
    "Claim",
    "ClaimMissing",
    "ClaimOwner",
    "DoneRecord",
    "Fulfilled",
    "Hold",
    "LeaseWatch",
    "MoveFailed",
    "ProfileLock",
    "adopt",
    "claim",
    "claims_in",
    "current_owner",
    "find_claimed",
    "find_done",
    "heartbeat",
    "judge",
    "local_owner_alive",
    "lock_free",
    "move_record",
    "read_claim",
    "release",
    "remove_record",
    "retry_failed",
    "settle_done",
    "settle_failed",
    "stale_claims",
]
