"""A menu action that fails is a notification and a log line; the agent runs on."""

from __future__ import annotations

import pytest

from agent.engine.state import AgentState
from agent.tray.menu import Action
from tests.engine.conftest import AgentHome, drop
from tests.kit.readonly import make_read_only, make_writable
from tests.tray.conftest import start_on
from tests.tray.desktops import Desktop, wait_until


def test_retry_into_a_folder_that_refuses_is_a_notification_and_the_agent_runs_on(
    agent_home: AgentHome, xfce: Desktop
) -> None:
    tray = start_on(agent_home, xfce)
    bank = agent_home.folder("Bank statements")
    drop(bank, "notes.txt", b"a type Kompliant does not take")
    wait_until(lambda: (bank / "failed" / "notes.txt").exists(), what="notes.txt to fail")
    tray.icon(AgentState.ATTENTION)
    if not make_read_only(bank):
        pytest.skip("cannot make a folder read-only here")
    try:
        tray.choose(Action.RETRY)

        told = wait_until(
            lambda: [t for t in xfce.notifications() if "retry did not work" in t],
            what="the notification that the retry did not work",
        )
        assert "Could not move notes.txt back" in told[0]
        assert "tray: retry did not work" in tray.agent.output()
        assert tray.agent.alive()
        assert (bank / "failed" / "notes.txt").exists()
    finally:
        make_writable(bank)
    tray.choose(Action.RETRY_FILE, str(bank / "failed" / "notes.txt"))
    wait_until(
        lambda: "notes.txt is back in" in tray.agent.output(),
        what="the retry to work once the folder takes files",
    )
    # the same wrong type fails again; stopped before that, the agent would rightly
    # report a file still to do
    wait_until(lambda: (bank / "failed" / "notes.txt").exists(), what="notes.txt to fail again")
    assert tray.agent.stop() == 0
