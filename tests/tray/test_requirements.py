"""The tray's requirement-aware parts: review states in the menu, asking the applicant."""

from __future__ import annotations

import threading
import types
from typing import Any

import pytest

from agent.config import load_config
from agent.engine.state import AgentState
from agent.engine.status import Snapshot
from agent.review.state import RequirementReview, RequirementState, WorkflowReview
from agent.tray.app import Tray, TrayApp
from agent.tray.menu import Action, WorkflowProgress, build_menu, with_reviews
from agent.tray.notify import Notice
from tests.conftest import DEMO_WORKFLOW, RD_BANK, sandbox_admin
from tests.engine.conftest import AgentHome


def review(*states: tuple[str, RequirementState], ended: bool = False) -> WorkflowReview:
    return WorkflowReview(
        workflow_id=DEMO_WORKFLOW,
        label="Demo Ltd",
        workflow_state="ENDED" if ended else "STARTED",
        ended=ended,
        requirements=tuple(
            RequirementReview(DEMO_WORKFLOW, f"rd_{n}", name, state)
            for n, (name, state) in enumerate(states)
        ),
    )


def request_entry(workflows: tuple[WorkflowProgress, ...]) -> Any:
    snapshot = Snapshot(state=AgentState.IDLE, pid=1, updated_at="")
    missing = next(e for e in build_menu(snapshot, workflows=workflows) if e.submenu)
    return missing, missing.submenu[-1]


def test_the_menu_shows_each_requirement_state_and_offers_a_request() -> None:
    progress = (WorkflowProgress("Demo Ltd", ("Bank statements",)),)
    shown = with_reviews(
        progress,
        [
            review(
                ("Bank statements", RequirementState.ACCEPTED),
                ("Proof of address", RequirementState.REJECTED),
                ("Government ID", RequirementState.MISSING),
                ("Articles", RequirementState.IN_REVIEW),
                ("Old", RequirementState.INACTIVE),
            )
        ],
    )
    line = shown[0].line()
    assert line.startswith("Demo Ltd: rejected: Proof of address; missing: Government ID;")
    assert "in review: Articles" in line and "accepted: Bank statements" in line
    assert "Old" not in line
    assert shown[0].missing == ("Proof of address", "Government ID")
    _, entry = request_entry(shown)
    assert entry.action is Action.REQUEST_MISSING


def test_no_request_when_nothing_is_outstanding_or_the_workflow_ended() -> None:
    accepted = with_reviews(
        (WorkflowProgress("Demo Ltd", ()),),
        [review(("Bank statements", RequirementState.ACCEPTED))],
    )
    assert request_entry(accepted)[1].action is None
    ended = with_reviews(
        (WorkflowProgress("Demo Ltd", ()),),
        [review(("Bank statements", RequirementState.MISSING), ended=True)],
    )
    assert ended[0].line() == "Demo Ltd: workflow ended"
    assert request_entry(ended)[1].action is None


def test_the_request_action_asks_kompliant_and_notifies(
    agent_home: AgentHome, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in agent_home.env.items():  # the agent's environment, as in `run`
        if name.startswith("KOMPLIANT_"):
            monkeypatch.setenv(name, value)
    agent_home.write_config()
    agent_home.add_workflow()
    checked = agent_home.cli("missing")  # stores the review states the tray reads
    assert checked.returncode == 0, checked.stderr
    fake = Tray(pystray=types.SimpleNamespace(), backend="none")  # type: ignore[arg-type]
    app = TrayApp(load_config(agent_home.config_file), fake, threading.Event())
    notices: list[Notice] = []
    app._notify = notices.append  # type: ignore[method-assign,assignment]

    app._request_missing()

    assert [n.title for n in notices] == ["Kompliant agent: documents requested"]
    assert notices[0].body == "Demo Ltd: requested"
    state = sandbox_admin(agent_home.sandbox, "state").json()
    requested = {r["required_document_id"] for r in state["document_requests"]}
    # the demo workflow's three active requirements, none for the inactive one
    assert RD_BANK in requested and len(requested) == 3
