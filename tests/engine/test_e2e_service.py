"""End to end, the agent as a service: offline and back, one agent per profile, refresh."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from agent.decide import MARKER_NAME, read_marker
from agent.sandbox import RunningSandbox, start_sandbox
from tests.conftest import DEMO_WORKFLOW, RD_BANK, sandbox_admin
from tests.engine.badkit import wait_outcome
from tests.engine.conftest import AgentHome, Kompliant, documents_in
from tests.kit.notes import uploaded_id
from tests.kit.wait import wait_for

RD_NEW = "rd_BoardResolution000001"


@pytest.fixture
def restarts() -> Iterator[list[RunningSandbox]]:
    """Sandboxes a test starts again; stopped after it."""
    started: list[RunningSandbox] = []
    yield started
    for running in started:
        running.stop()


def test_the_agent_goes_offline_and_finishes_by_itself_when_kompliant_is_back(
    agent_home: AgentHome, kompliant: Kompliant, restarts: list[RunningSandbox]
) -> None:
    agent_home.write_config()
    agent_home.add_workflow()
    bank = agent_home.folder("Bank statements")
    agent = agent_home.start()
    sandbox = agent_home.sandbox
    port = urlsplit(sandbox.base_url).port
    assert port is not None

    sandbox.stop()
    (bank / "while-offline.pdf").write_bytes(b"%PDF-1.4 offline\n%%EOF\n")

    status = wait_for(
        lambda: agent_home.status_file() if agent_home.status_file().get("offline") else None,
        what="status.json to say offline",
        timeout=30,
        process=agent.process,
    )
    assert status["state"] == "offline"
    assert any("unreachable" in p for p in status["problems"]), status
    assert documents_in(bank / "failed") == []  # retried later, never failed meanwhile

    restarts.append(start_sandbox(sandbox.data_dir, port=port))

    assert wait_outcome(agent, bank, "while-offline.pdf", timeout=40).kind == "done"
    wait_for(
        lambda: agent_home.status_file().get("offline") is False,
        what="status.json to say online again",
        process=agent.process,
    )
    text = (bank / "done" / "while-offline.pdf.receipt.txt").read_text(encoding="utf-8")
    documents = kompliant.documents()
    assert [d.document_id for d in documents] == [uploaded_id(text)]
    assert documents[0].upload_status == "COMPLETED"
    assert len(kompliant.fulfillments(RD_BANK)) == 1
    assert agent.stop() == 0
    assert agent_home.secrets_found() == []


def test_a_second_run_for_the_same_profile_is_refused(agent_home: AgentHome) -> None:
    agent_home.write_config()
    agent_home.add_workflow()
    agent = agent_home.start()

    second = agent_home.run_once()

    assert second.returncode == 4, second.stderr
    assert "already running for profile 'default'" in second.stderr
    assert f"process {agent.process.pid}" in second.stderr
    assert "Only one agent can run per profile" in second.stderr
    assert agent.process.poll() is None  # the first one carries on
    assert agent.stop() == 0


def new_requirement(sandbox: RunningSandbox) -> None:
    answer = sandbox_admin(
        sandbox,
        "admin",
        {
            "op": "add_required_document",
            "workflow_id": DEMO_WORKFLOW,
            "required_document_id": RD_NEW,
            "document_type_code": "BOARD_RESOLUTION",
            "name": "Board resolution",
        },
    )
    assert answer.status_code == 200, answer.text


def marked_for(workflow: Path, required_document_id: str) -> Path | None:
    for folder in workflow.iterdir():
        marker = read_marker(folder) if (folder / MARKER_NAME).exists() else None
        if marker is not None and marker.required_document_ids == (required_document_id,):
            return folder
    return None


def test_refresh_gives_a_new_required_document_its_folder_and_the_running_agent_uses_it(
    agent_home: AgentHome, kompliant: Kompliant
) -> None:
    agent_home.write_config()
    agent_home.add_workflow()
    agent = agent_home.start()
    new_requirement(agent_home.sandbox)
    assert marked_for(agent_home.workflow, RD_NEW) is None

    refreshed = agent_home.cli("refresh")

    assert refreshed.returncode == 0, refreshed.stderr
    folder = marked_for(agent_home.workflow, RD_NEW)
    assert folder is not None and folder.name == "Board resolution"
    (folder / "resolution.pdf").write_bytes(b"%PDF-1.4 resolution\n%%EOF\n")
    assert wait_outcome(agent, folder, "resolution.pdf").kind == "done"
    text = (folder / "done" / "resolution.pdf.receipt.txt").read_text(encoding="utf-8")
    assert "Board resolution (rd_BoardResolution000001): fulfillment f_" in text
    assert [f.document_id for f in kompliant.fulfillments(RD_NEW)] == [uploaded_id(text)]
    assert agent.stop() == 0


def test_the_running_agent_refreshes_when_asked(agent_home: AgentHome) -> None:
    agent_home.write_config()
    agent_home.add_workflow()
    agent = agent_home.start()
    new_requirement(agent_home.sandbox)

    agent_home.request_refresh()

    folder = wait_for(
        lambda: marked_for(agent_home.workflow, RD_NEW),
        what="the running agent to create the new folder",
        process=agent.process,
    )
    assert folder.name == "Board resolution"
    assert agent.stop() == 0


def test_rejected_credentials_put_the_agent_in_error_and_fail_no_file(
    agent_home: AgentHome, kompliant: Kompliant
) -> None:
    agent_home.write_config()
    agent_home.add_workflow()
    bank = agent_home.folder("Bank statements")
    good_token = agent_home.env["KOMPLIANT_AUTH_TOKEN"]
    agent_home.env["KOMPLIANT_AUTH_TOKEN"] = "revoked-" + good_token[8:]
    agent = agent_home.start()
    (bank / "statement.pdf").write_bytes(b"%PDF-1.4 while the token is revoked\n%%EOF\n")

    status = wait_for(
        lambda: (
            agent_home.status_file() if agent_home.status_file().get("state") == "error" else None
        ),
        what="status.json to say error",
        timeout=30,
        process=agent.process,
    )
    assert any("refused the credentials" in p for p in status["problems"]), status
    assert any("kompliant-agent login" in p for p in status["problems"]), status
    # the credentials are checked at start: the file waits, unclaimed, until they work
    wait_for(
        lambda: agent_home.status_file().get("checking"),
        what="the file to wait",
        process=agent.process,
    )
    assert documents_in(bank / "failed") == []  # the file is not what is wrong
    assert kompliant.documents() == []
    assert agent.stop() == 3  # stopped with a file still to do: "retry later"

    agent_home.env["KOMPLIANT_AUTH_TOKEN"] = good_token
    ran = agent_home.run_once()
    assert ran.returncode == 0, ran.stderr
    receipt = (bank / "done" / "statement.pdf.receipt.txt").read_text(encoding="utf-8")
    assert [d.document_id for d in kompliant.documents()] == [uploaded_id(receipt)]
    assert agent_home.secrets_found() == []
