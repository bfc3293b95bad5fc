"""Live claims: heartbeats, the owner's liveness lock, leases of other hosts, one winner."""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.owned_names import AGENT_OWNED
from agent.settle import (
    ClaimOwner,
    Hold,
    LeaseWatch,
    ProfileLock,
    adopt,
    claim,
    claims_in,
    current_owner,
    heartbeat,
    judge,
    lock_free,
    stale_claims,
)
from agent.settle.lock import held_alive_lock
from tests.journal.helpers import python
from tests.kit.clock import FakeClock
from tests.kit.processes import reaped
from tests.kit.race import race_results, start_race
from tests.settle.files import drop


def test_a_heartbeat_touches_the_record_and_says_whether_the_claim_is_still_ours(
    tmp_path: Path,
) -> None:
    me = current_owner()
    taken = claim(drop(tmp_path, "a.pdf"), owner=me)
    assert taken is not None
    os.utime(taken.record_path, (1_000_000, 1_000_000))
    assert heartbeat(taken, me) is Hold.HELD
    assert taken.record_path.stat().st_mtime > time.time() - 60  # the beat moved it

    rival = ClaimOwner("rival", socket.gethostname(), 1, "")
    assert heartbeat(taken, rival) is Hold.LOST  # the record names someone else

    taken.record_path.unlink()  # lost (a full disk at the claim, or removed by hand)
    assert heartbeat(taken, me) is Hold.HELD
    assert json.loads(taken.record_path.read_text())["instance_id"] == me.instance_id

    taken.path.rename(taken.path.with_name("renamed.pdf"))
    assert heartbeat(taken, me) is Hold.MISSING


def test_a_claim_records_the_owners_liveness_lock_and_journal(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with ProfileLock.acquire(state) as lock:
        assert held_alive_lock() == lock.alive_path != ""
        owner = current_owner(journal=str(state / "journal.sqlite3"))
        taken = claim(drop(tmp_path / "folder", "a.pdf"), owner=owner)
        assert taken is not None
        record = json.loads(taken.record_path.read_text())
        assert record["lock"] == lock.alive_path
        assert record["journal"] == str(state / "journal.sqlite3")
        assert not lock_free(lock.alive_path)  # held by this process
    assert held_alive_lock() == ""
    assert lock_free(str(state / "agent.alive"))


HOLDER = """
import sys, time
from pathlib import Path
from agent.settle import ProfileLock, claim, current_owner

lock = ProfileLock.acquire(Path(sys.argv[1]))
claim(Path(sys.argv[2]), owner=current_owner())
print("held", flush=True)
time.sleep(120)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL and flock are POSIX")
def test_a_killed_owner_on_this_host_is_gone_at_once(tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    source = drop(folder, "a.pdf")
    with reaped(python(HOLDER, str(tmp_path / "state"), str(source))) as holder:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        (found,) = claims_in(folder)
        assert found.owner is not None and found.owner.pid == holder.pid
        me, watch = current_owner(), LeaseWatch()
        assert not judge(found, me=me, watch=watch)
        # the pid is still there but its lock is free: gone (for example a pid namespace
        # where the pid cannot be trusted)
        assert judge(found, me=me, watch=watch, is_lock_free=lambda path: True)
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        assert lock_free(found.owner.lock)
        assert judge(found, me=me, watch=watch)
        assert judge(found, me=me, watch=watch, is_alive=lambda owner: True)  # lock alone


def test_another_hosts_claim_is_stale_once_its_heartbeat_stood_still_for_a_lease(
    tmp_path: Path,
) -> None:
    other = ClaimOwner("theirs", "other-host", 4242, "")
    taken = claim(drop(tmp_path, "a.pdf"), owner=other)
    assert taken is not None
    clock = FakeClock()
    watch = LeaseWatch(lease=60.0, clock=clock)
    me = current_owner()
    assert not judge(taken, me=me, watch=watch)  # first seen: the lease starts now
    clock.now += 59
    assert not judge(taken, me=me, watch=watch)
    os.utime(taken.record_path, (time.time() + 5, time.time() + 5))  # a heartbeat
    clock.now += 30
    assert not judge(taken, me=me, watch=watch)  # it moved: a new lease
    clock.now += 59.9
    assert not judge(taken, me=me, watch=watch)
    clock.now += 0.2
    assert judge(taken, me=me, watch=watch)
    # our own claims are never stale, whatever their heartbeat
    mine = claim(drop(tmp_path, "b.pdf"), owner=me)
    assert mine is not None
    clock.now += 1000
    assert not judge(mine, me=me, watch=watch)
    watch.keep_only([])
    assert not judge(taken, me=me, watch=watch)  # forgotten: watched afresh


def test_a_claim_without_a_record_is_stale_once_watched_unchanged_for_a_lease(
    tmp_path: Path,
) -> None:
    # An agent killed between its claim's rename and the record leaves an orphan; a live
    # owner would have written the record again at its next heartbeat.
    claimed = claim(drop(tmp_path, "a.pdf"))
    assert claimed is not None
    claimed.record_path.unlink()
    (taken,) = claims_in(tmp_path)  # as the watch finds it: no owner
    assert taken.owner is None
    clock = FakeClock()
    watch = LeaseWatch(lease=10.0, clock=clock)
    me = ClaimOwner("mine", current_owner().host, os.getpid(), "")
    assert not judge(taken, me=me, watch=watch)  # first seen: the lease starts now
    clock.now += 9.9
    assert not judge(taken, me=me, watch=watch)
    clock.now += 0.2
    assert judge(taken, me=me, watch=watch)
    # a record written meanwhile (its owner's heartbeat) makes it that owner's claim again
    held = claim(drop(tmp_path, "b.pdf"))
    assert held is not None
    held.record_path.unlink()
    (other,) = [found for found in claims_in(tmp_path) if found.path == held.path]
    assert not judge(other, me=me, watch=watch)
    heartbeat(held, current_owner())
    (other,) = [found for found in claims_in(tmp_path) if found.path == held.path]
    clock.now += 60
    assert not judge(other, me=me, watch=watch)  # its owner (this process) is alive


def test_a_one_off_look_takes_another_hosts_claim_when_its_heartbeat_is_old(
    tmp_path: Path,
) -> None:
    other = ClaimOwner("theirs", "other-host", 1, "")
    now = datetime.now(UTC)
    old = claim(drop(tmp_path, "old.pdf"), owner=other, now=lambda: now.replace(year=2000))
    fresh = claim(drop(tmp_path, "beating.pdf"), owner=other, now=lambda: now.replace(year=2000))
    assert old is not None and fresh is not None
    long_ago = now.replace(year=2000).timestamp()
    os.utime(old.record_path, (long_ago, long_ago))  # no heartbeat since
    assert [c.path.name for c in stale_claims(tmp_path, now=now)] == ["old.pdf"]


RIVAL = """
import sys, time
from pathlib import Path
from agent.settle import ClaimOwner, adopt, stale_claims

folder, go, name = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
found = stale_claims(folder)
me = ClaimOwner(name, "host", 1, "")
Path(sys.argv[4]).touch()
deadline = time.monotonic() + 30
while not go.exists() and time.monotonic() < deadline:
    pass
for stale in found:
    if adopt(stale, owner=me) is not None:
        print(stale.path.name)
"""


def test_survivors_racing_for_stale_claims_each_win_exactly_one_side(tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    count = 120
    dead = ClaimOwner("dead", socket.gethostname(), _dead_pid(), "")
    for n in range(count):
        assert claim(drop(folder, f"f{n:03}.pdf", str(n)), owner=dead) is not None
    seen_before = stale_claims(folder)
    assert len(seen_before) == count
    go = tmp_path / "go"
    ready = [tmp_path / f"ready-{n}" for n in range(3)]
    rivals = [
        python(RIVAL, str(folder), str(go), f"rival-{n}", str(flag)) for n, flag in enumerate(ready)
    ]
    start_race(rivals, ready, go, who="rival")
    won = {f"rival-{n}": names for n, names in enumerate(race_results(rivals))}
    every = sorted(name for names in won.values() for name in names)
    assert every == [f"f{n:03}.pdf" for n in range(count)]  # each taken over exactly once
    for name in every:
        record = json.loads(
            (folder / AGENT_OWNED.processing_dir / (name + AGENT_OWNED.claim_suffix)).read_text()
        )
        assert name in won[record["instance_id"]]  # the record names the winner
    assert not [
        p for p in (folder / AGENT_OWNED.processing_dir).iterdir() if p.name.startswith(".tmp-")
    ]
    # what a slower survivor read before the race is no longer the claim's state: it loses
    assert adopt(seen_before[0], owner=current_owner()) is None
    assert stale_claims(folder, is_alive=lambda owner: owner.instance_id != "dead") == []


def _dead_pid() -> int:
    proc = python("pass")
    proc.wait()
    return proc.pid
