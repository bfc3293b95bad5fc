"""Two agents watching one folder tree: every file is uploaded exactly once.

Two installations (each its own KOMPLIANT_AGENT_HOME: config, journal, profile lock) are
configured with the same root. The folders are made once, by the first one's
add-workflow; the second only points its config at them. Both run at the same time while
50 files arrive in two requirement folders and a combined folder. Claims (a rename into
``.processing/``) decide which agent takes a file; the sandbox and the folders must show
each file uploaded, linked and settled exactly once, and both agents stop cleanly.
"""

from __future__ import annotations

import random
from pathlib import Path

from agent.sandbox import RunningSandbox
from tests.engine.crashkit import (
    Install,
    all_settled,
    check_settled_once,
    drop,
    make_batch,
)
from tests.engine.installs import killed_after
from tests.kit.sandbox import sandbox_state, set_faults
from tests.kit.wait import wait_for

FILES = 50
SEED = 20261122


def _uploaded_by(install: Install) -> set[str]:
    """Names of the files this agent settled, from its log ("… → …/done/<name>")."""
    text = "\n".join(agent.output() for agent in install.started)
    return {
        line.rsplit("/done/", 1)[1].strip()
        for line in text.splitlines()
        if "/done/" in line and " → " in line
    }


def test_two_agents_on_one_folder_upload_every_file_once(
    tmp_path: Path, sandbox: RunningSandbox
) -> None:
    credentials = sandbox.demo_credentials()
    assert credentials is not None
    root = tmp_path / "shared root"
    first = Install.create(tmp_path / "home-a", root, credentials, workers=3)
    second = Install.create(tmp_path / "home-b", root, credentials, workers=3)
    first.add_workflow()
    assert second.journal != first.journal
    # a little latency keeps both agents busy at once, so that they meet on the same files
    set_faults(sandbox, latency_ms=15, on_upload=True)

    with killed_after(first, second):
        agents = [first.start(), second.start()]
        wait_for(
            lambda: all("watching" in agent.output() for agent in agents),
            timeout=30,
            what="both agents to watch the shared root",
        )
        rng = random.Random(SEED)
        dropped = drop(first.workflow, make_batch(rng, FILES, tag="shared"))
        wait_for(
            lambda: all_settled(first.workflow, dropped),
            timeout=90,
            what="every file to settle",
        )
        codes = [agent.stop() for agent in agents]

    assert codes == [0, 0], first.logs() + second.logs()
    check_settled_once(first.workflow, dropped, sandbox_state(sandbox))
    by_first, by_second = _uploaded_by(first), _uploaded_by(second)
    print(f"first agent settled {len(by_first)} files, second {len(by_second)}")
    assert not by_first & by_second, "a file was settled by both agents"
    assert by_first | by_second == {d.name for d in dropped}
    # both took part: with 50 files arriving at once, each wins some of the claims
    assert by_first and by_second
