"""Credentials that stop working are noticed without a file being dropped: at start (a
token revoked while the agent was stopped), and from any refused call while it runs (a
review check's 403 when Kompliant revokes the key); taken back, the agent goes on."""

from __future__ import annotations

from typing import Any

from tests.conftest import sandbox_admin
from tests.engine.conftest import AgentHome, Kompliant, drop
from tests.kit.wait import wait_for

START_CHECK = 60.0  # the agent says so within a minute of its start


def problems(agent_home: AgentHome) -> list[str]:
    status = agent_home.status_file()
    return list(status.get("problems", [])) if status.get("state") == "error" else []


def revoke(agent_home: AgentHome, disabled: bool) -> None:
    op = {
        "op": "set_api_key_disabled",
        "api_key": agent_home.credentials.api_key,
        "disabled": disabled,
    }
    assert sandbox_admin(agent_home.sandbox, "admin", op).status_code == 200


def test_a_token_revoked_before_the_start_shows_at_once_with_no_file(
    agent_home: AgentHome,
) -> None:
    agent_home.write_config()
    agent_home.add_workflow()
    good_token = agent_home.env["KOMPLIANT_AUTH_TOKEN"]
    agent_home.env["KOMPLIANT_AUTH_TOKEN"] = "revoked-" + good_token[8:]
    agent = agent_home.start()

    found = wait_for(
        lambda: problems(agent_home),
        what="the error state, with no file dropped",
        timeout=START_CHECK,
        process=agent.process,
    )

    assert any("refused the credentials" in p for p in found), found
    assert agent_home.status_file()["sign_in_needed"] is True
    assert agent.stop() == 0  # nothing was waiting


def test_a_key_revoked_while_running_is_noticed_and_taken_back(
    agent_home: AgentHome, kompliant: Kompliant
) -> None:
    agent_home.write_config(agent={"review_interval": 10})
    agent_home.add_workflow()
    agent = agent_home.start()
    bank = agent_home.folder("Bank statements")
    drop(bank, "first.pdf", b"%PDF-1.4 before the key is revoked\n%%EOF\n")
    wait_for(lambda: (bank / "done" / "first.pdf").exists(), what="first.pdf to be sent")

    revoke(agent_home, True)  # no file now: the review checks meet the 403

    found = wait_for(
        lambda: problems(agent_home), what="the error state", timeout=60, process=agent.process
    )
    assert any("refused the credentials" in p for p in found), found
    drop(bank, "second.pdf", b"%PDF-1.4 while the key is revoked\n%%EOF\n")
    status: dict[str, Any] = agent_home.status_file()
    assert status["sign_in_needed"] is True

    revoke(agent_home, False)  # Kompliant takes the key back: the probe sees it

    wait_for(
        lambda: (bank / "done" / "second.pdf").exists(),
        what="second.pdf to be sent once the key works",
        timeout=60,
        process=agent.process,
    )
    assert not problems(agent_home)
    assert sorted(d.file_name for d in kompliant.documents()) == ["first.pdf", "second.pdf"]
    assert agent.stop() == 0
