"""A retry the folder refuses (read-only, full) is a log line: the agent runs on, and
the retry works once the folder takes files again."""

from __future__ import annotations

import pytest

from agent.engine.control import request_retry
from tests.engine.conftest import AgentHome, drop
from tests.kit.readonly import make_read_only, make_writable
from tests.kit.wait import wait_for


def test_a_retry_into_a_folder_that_refuses_does_not_stop_the_agent(
    agent_home: AgentHome,
) -> None:
    agent_home.write_config()
    agent_home.add_workflow()
    agent = agent_home.start()
    bank = agent_home.folder("Bank statements")
    drop(bank, "notes.txt", b"a type Kompliant does not take")
    wait_for(lambda: (bank / "failed" / "notes.txt").exists(), what="notes.txt to fail")
    if not make_read_only(bank):
        pytest.skip("cannot make a folder read-only here")
    try:
        request_retry(agent_home.state_dir)  # what `retry` asks of a running agent

        wait_for(
            lambda: "could not retry the failed files" in agent.output(),
            what="the refused retry in the log",
            process=agent.process,
        )
        assert agent.alive()
        assert (bank / "failed" / "notes.txt").exists()  # where it was, nothing lost
    finally:
        make_writable(bank)
    request_retry(agent_home.state_dir)
    wait_for(
        lambda: "moved 1 failed file(s) back" in agent.output(),
        what="the retry once the folder takes files",
        process=agent.process,
    )
    # tried again (and refused again: Kompliant does not take its type), so nothing is
    # under way when the agent stops
    wait_for(
        lambda: (bank / "failed" / "notes.txt").exists(),
        what="notes.txt tried again",
        process=agent.process,
    )
    assert agent.stop() == 0
