"""Claims are live: a running agent takes over the claims of one that was killed.

Two installations (each its own home, journal and profile lock) watch one shared root, as
two users' agents on a shared folder do. Files arrive while both run; one agent is
SIGKILLed while it holds claims. The survivor — not restarted, not told anything — must
settle every file: at once when the dead agent ran on the same host (its process is gone,
its liveness lock free), after the lease when it looks like another host (a UTS namespace
with its own host name), with no second document or fulfillment either way.
"""

from __future__ import annotations

import os
import random
import shutil
import time
from pathlib import Path

import pytest

from agent.sandbox import RunningSandbox
from tests.engine.crashkit import (
    Install,
    all_settled,
    check_settled_once,
    claims_held,
    drop,
    make_batch,
)
from tests.engine.installs import killed_after
from tests.kit.agent import AgentProcess
from tests.kit.sandbox import sandbox_state, set_faults
from tests.kit.wait import wait_for

FILES = 24
LEASE = 10.0


def _run(
    tmp_path: Path,
    sandbox: RunningSandbox,
    *,
    victim_host: str | None,
    settle_within: float,
    seed: int,
) -> None:
    credentials = sandbox.demo_credentials()
    assert credentials is not None
    root = tmp_path / "shared root"
    victim = Install.create(tmp_path / "home-a", root, credentials, workers=3, claim_lease=LEASE)
    survivor = Install.create(tmp_path / "home-b", root, credentials, workers=3, claim_lease=LEASE)
    victim.add_workflow()
    # slow answers keep claims held long enough to kill an agent while it holds some
    set_faults(sandbox, latency_ms=120, on_upload=True)
    with killed_after(victim, survivor):
        killed = victim.start(host=victim_host)
        alive = survivor.start()
        wait_for(
            lambda: all("watching" in a.output() for a in (killed, alive)),
            timeout=30,
            what="both agents to watch the shared root",
        )
        dropped = drop(victim.workflow, make_batch(random.Random(seed), FILES, tag="live"))
        held = wait_for(
            lambda: claims_held(victim.workflow, _pid(killed)),
            timeout=30,
            what="the first agent to hold claims",
        )
        killed.kill()
        killed_at = time.monotonic()
        print(f"killed the first agent holding {len(held)} claim(s)")
        set_faults(sandbox, latency_ms=0)
        wait_for(
            lambda: all_settled(victim.workflow, dropped),
            timeout=settle_within + 60,
            what="the survivor to settle every file",
        )
        took = time.monotonic() - killed_at
        print(f"every file settled {took:.1f} s after the kill")
        assert took <= settle_within, f"took {took:.1f} s (at most {settle_within} s)"
        assert alive.alive(), alive.output()
        assert not claims_held(victim.workflow, _pid(killed))
        assert alive.stop() == 0, alive.output()
    check_settled_once(victim.workflow, dropped, sandbox_state(sandbox))
    taken = [line for line in alive.output().splitlines() if "took over" in line]
    assert taken, alive.output()


def _pid(agent: AgentProcess) -> int:
    """The agent's own pid (``unshare`` execs it in place: the same process)."""
    return agent.process.pid


def test_the_running_agent_settles_the_claims_of_a_killed_one_on_this_host(
    tmp_path: Path, sandbox: RunningSandbox
) -> None:
    _run(tmp_path, sandbox, victim_host=None, settle_within=30.0, seed=1301)


@pytest.mark.skipif(
    shutil.which("unshare") is None or os.geteuid() != 0,
    reason="a UTS namespace of its own needs unshare (util-linux) and root",
)
def test_the_claims_of_a_killed_agent_of_another_host_go_after_the_lease(
    tmp_path: Path, sandbox: RunningSandbox
) -> None:
    _run(tmp_path, sandbox, victim_host="another-host", settle_within=LEASE + 30.0, seed=1302)
