"""End to end, review states: a reviewer's decisions reach `status`, `missing` and the
folders; `request` reports each item; an ENDED workflow is ended everywhere."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agent.owned_names import AGENT_OWNED
from tests.conftest import (
    DEMO_WORKFLOW,
    ENDED_WORKFLOW,
    RD_ADDRESS,
    RD_BANK,
    RD_ENDED,
    RD_ID,
    RD_INACTIVE,
    sandbox_admin,
)
from tests.engine.badkit import wait_outcome
from tests.engine.conftest import AgentHome, Kompliant
from tests.kit.wait import wait_for

ACCEPTED = AGENT_OWNED.status_accepted
REJECTED = AGENT_OWNED.status_rejected
WAITING = AGENT_OWNED.status_needs_review
MISSING = AGENT_OWNED.status_missing


def notices(folder: Path) -> list[str]:
    return sorted(n.name for n in folder.iterdir() if n.name.startswith("_STATUS - "))


def requirement_states(status: dict[str, Any], workflow_id: str = DEMO_WORKFLOW) -> dict[str, str]:
    for workflow in status["workflows"]:
        if workflow["workflow_id"] == workflow_id:
            return {r["required_document_id"]: r["state"] for r in workflow["requirements"]}
    raise AssertionError(f"{workflow_id} not in {status['workflows']}")


def missing_json(agent_home: AgentHome, env: dict[str, str] | None = None) -> dict[str, Any]:
    done = agent_home.cli("missing", "--json") if env is None else _cli_env(agent_home, env)
    assert done.returncode == 0, done.stderr
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def _cli_env(agent_home: AgentHome, env: dict[str, str]) -> Any:
    saved = agent_home.env
    agent_home.env = env
    try:
        return agent_home.cli("missing", "--json")
    finally:
        agent_home.env = saved


def missing_ids(data: dict[str, Any], workflow_id: str = DEMO_WORKFLOW) -> dict[str, str]:
    for workflow in data["workflows"]:
        if workflow["workflow_id"] == workflow_id:
            return {m["required_document_id"]: m["state"] for m in workflow["missing"]}
    raise AssertionError(f"{workflow_id} not in {data}")


def test_reviewer_decisions_show_in_status_missing_and_the_folders(
    agent_home: AgentHome, kompliant: Kompliant
) -> None:
    agent_home.write_config()
    agent_home.add_workflow()
    bank = agent_home.folder("Bank statements")
    address = agent_home.folder("Proof of address")
    government = agent_home.folder("Government ID")
    agent = agent_home.start()

    (bank / "bank.pdf").write_bytes(b"%PDF-1.4 bank\n%%EOF\n")
    (address / "address.pdf").write_bytes(b"%PDF-1.4 address\n%%EOF\n")
    for folder, name in ((bank, "bank.pdf"), (address, "address.pdf")):
        assert wait_outcome(agent, folder, name).kind == "done"
    # A linked file is checked soon after: it waits for review.
    wait_for(
        lambda: notices(bank) == [WAITING] and notices(address) == [WAITING],
        what="the waiting-for-review notices",
        process=agent.process,
    )
    assert requirement_states(agent_home.status())[RD_BANK] == "needs_review"

    # The reviewer accepts the bank statement and rejects the proof of address.
    (bank_f,) = kompliant.fulfillments(RD_BANK)
    (address_f,) = kompliant.fulfillments(RD_ADDRESS)
    kompliant.client.update_fulfillment(bank_f.fulfillment_id, "ACCEPTED")
    kompliant.client.update_fulfillment(address_f.fulfillment_id, "REJECTED")
    agent_home.request_refresh()

    wait_for(
        lambda: notices(bank) == [ACCEPTED] and notices(address) == [REJECTED],
        what="the accepted and rejected notices",
        process=agent.process,
    )
    states = requirement_states(agent_home.status())
    assert states[RD_BANK] == "accepted"
    assert states[RD_ADDRESS] == "rejected"
    assert states[RD_ID] == "missing"
    assert states[RD_INACTIVE] == "inactive"
    assert notices(government) == [MISSING]
    assert notices(agent_home.folder("Tax return 2019")) == []  # its _INACTIVE notice says it

    # Rejected: the file and its receipt stay in done/, a note beside them says so.
    done = address / "done"
    assert (done / "address.pdf").exists()
    assert (done / "address.pdf.receipt.txt").exists()
    note = (done / "address.pdf.rejected.txt").read_text(encoding="utf-8")
    assert address_f.fulfillment_id in note
    assert "drop a new file for Proof of address" in note
    wait_for(
        lambda: "The reviewer rejected" in agent.output(),
        what="the rejection warning in the log",
        process=agent.process,
    )
    assert "WARNING" in agent.output().split("The reviewer rejected")[0].splitlines()[-1]
    # The notices are never uploaded: still exactly two documents.
    assert len(kompliant.documents()) == 2

    data = missing_json(agent_home)
    assert data["source"] == "kompliant"
    assert missing_ids(data) == {RD_ADDRESS: "rejected", RD_ID: "missing"}

    # A new file for the rejected requirement puts it back in review.
    (address / "address-2.pdf").write_bytes(b"%PDF-1.4 address, second try\n%%EOF\n")
    wait_for(
        lambda: notices(address) == [WAITING],
        what="the proof of address waiting for review again",
        process=agent.process,
    )
    assert agent.stop() == 0

    # With the agent stopped and no credentials, the stored states answer, with their age.
    offline = {
        k: v for k, v in agent_home.env.items() if not k.startswith("KOMPLIANT_") or "HOME" in k
    }
    stored = missing_json(agent_home, offline)
    assert stored["source"] == "stored"
    assert "not asked" in stored["problem"]
    (workflow,) = stored["workflows"]
    assert workflow["age_seconds"] is not None and workflow["age_seconds"] >= 0
    assert missing_ids(stored) == {RD_ID: "missing"}
    text = agent_home.cli("status")
    assert "Proof of address: uploaded, waiting for review" in text.stdout
    assert "Bank statements: accepted" in text.stdout
    assert agent_home.secrets_found() == []


def test_a_request_reports_each_item_and_its_exit_code_says_partial(
    agent_home: AgentHome,
) -> None:
    agent_home.write_config()
    agent_home.add_workflow()
    unknown = "rd_NoSuchRequirement00001"

    mixed = agent_home.cli(
        "request",
        "--workflow",
        DEMO_WORKFLOW,
        "--requirement",
        RD_BANK,
        "--requirement",
        RD_INACTIVE,
        "--requirement",
        unknown,
    )
    assert mixed.returncode == 5, mixed.stderr
    lines = mixed.stdout.splitlines()
    assert lines[0] == f"{RD_BANK} (Bank statements): SUCCESS"
    assert lines[1] == (
        f"{RD_INACTIVE} (Tax return 2019): ERROR BAD_REQUEST: "
        "Cannot request files for an inactive required document."
    )
    assert lines[2].startswith(f"{unknown}: ERROR ENTITY_NOT_FOUND: ")
    assert "1 of 3 requested" in mixed.stderr

    as_json = agent_home.cli(
        "request", "--workflow", DEMO_WORKFLOW, "--requirement", unknown, "--json"
    )
    assert as_json.returncode == 4, as_json.stderr  # every item failed: nothing was done
    (item,) = json.loads(as_json.stdout)["results"]
    assert item["status"] == "ERROR" and item["code"] == "ENTITY_NOT_FOUND"

    # Without --requirement: the outstanding ones (all three active, none has a file).
    outstanding = agent_home.cli("request", "--workflow", DEMO_WORKFLOW)
    assert outstanding.returncode == 0, outstanding.stderr
    assert sorted(outstanding.stdout.splitlines()) == [
        f"{RD_BANK} (Bank statements): SUCCESS",
        f"{RD_ID} (Government ID): SUCCESS",
        f"{RD_ADDRESS} (Proof of address): SUCCESS",
    ]
    state = agent_home.sandbox.state
    with state.lock:
        asked = [r.required_document_id for r in state.document_requests]
    assert sorted(asked) == sorted([RD_BANK, RD_BANK, RD_ID, RD_ADDRESS])


@pytest.mark.parametrize("decision", ["PENDING", "AWAITING_SECOND_LOOK"])
def test_a_delivered_file_awaiting_an_unknown_decision_is_neither_missing_nor_asked_for(
    agent_home: AgentHome, kompliant: Kompliant, decision: str
) -> None:
    agent_home.write_config()
    agent_home.add_workflow()
    bank = agent_home.folder("Bank statements")
    (bank / "statement.pdf").write_bytes(b"%PDF-1.4 delivered\n%%EOF\n")
    done = agent_home.run_once()
    assert done.returncode == 0, done.stderr
    (fulfillment,) = kompliant.fulfillments(RD_BANK)
    # The guide's batchAdd answer shows PENDING: a new fulfillment starts there. Kompliant
    # may also send a decision no page lists.
    assert fulfillment.decision_status == "PENDING"
    if decision != "PENDING":
        changed = sandbox_admin(
            agent_home.sandbox,
            "admin",
            {
                "op": "set_fulfillment_decision",
                "fulfillment_id": fulfillment.fulfillment_id,
                "decision_status": decision,
            },
        )
        assert changed.status_code == 200, changed.text
    assert (kompliant.fulfillments(RD_BANK)[0]).decision_status == decision

    missing = missing_ids(missing_json(agent_home))
    assert RD_BANK not in missing
    assert set(missing) == {RD_ADDRESS, RD_ID}

    asked = agent_home.cli("request", "--workflow", DEMO_WORKFLOW)
    assert asked.returncode == 0, asked.stderr
    assert sorted(asked.stdout.splitlines()) == [
        f"{RD_ID} (Government ID): SUCCESS",
        f"{RD_ADDRESS} (Proof of address): SUCCESS",
    ]
    states = requirement_states(agent_home.status())
    assert states[RD_BANK] == "needs_review"
    assert WAITING in notices(bank)


def test_an_ended_workflow_is_ended_everywhere_and_requests_fail(
    agent_home: AgentHome,
) -> None:
    agent_home.write_config()
    agent_home.add_workflow()
    ended_folder = agent_home.add_workflow(ENDED_WORKFLOW, "Old Ltd")

    data = missing_json(agent_home)
    (ended,) = [w for w in data["workflows"] if w["workflow_id"] == ENDED_WORKFLOW]
    assert ended["ended"] is True and ended["missing"] == []
    text = agent_home.cli("missing")
    assert f"Old Ltd ({ENDED_WORKFLOW})" in text.stdout
    assert "ENDED: the workflow takes no more documents" in text.stdout

    status = agent_home.status()
    assert set(requirement_states(status, ENDED_WORKFLOW).values()) == {"ended"}
    assert "Old Ltd" in agent_home.cli("status").stdout
    assert (ended_folder / AGENT_OWNED.ended_notice).exists()
    assert notices(next(p for p in ended_folder.iterdir() if p.is_dir())) == []

    for extra in ((), ("--requirement", RD_ENDED)):
        refused = agent_home.cli("request", "--workflow", ENDED_WORKFLOW, *extra)
        assert refused.returncode == 4, refused.stderr
        assert "WORKFLOW_ENDED" in refused.stderr
        assert refused.stdout == ""

    # A workflow that ends while watched: the running agent's refresh says so too.
    assert (
        sandbox_admin(
            agent_home.sandbox,
            "admin",
            {"op": "set_workflow_state", "workflow_id": DEMO_WORKFLOW, "state": "ENDED"},
        ).status_code
        == 200
    )
    agent = agent_home.start()
    agent_home.request_refresh()
    wait_for(
        lambda: set(requirement_states(agent_home.status()).values()) == {"ended"},
        what="the demo workflow shown as ended",
        process=agent.process,
    )
    assert notices(agent_home.folder("Bank statements")) == []
    assert agent.stop() == 0
