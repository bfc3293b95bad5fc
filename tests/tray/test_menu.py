"""The menu model: texts and enabled items follow the state; what each workflow lacks."""

from __future__ import annotations

import pytest

from agent.config import Config
from agent.config.model import WorkflowConfig
from agent.decide import CachedWorkflow, RequirementsCache
from agent.engine.state import AgentState
from agent.engine.status import FolderStatus, Snapshot
from agent.kompliant.models import RequiredDocument, Workflow
from agent.tray.menu import (
    Action,
    MenuEntry,
    WorkflowProgress,
    build_menu,
    keyboard_steps,
    workflow_progress,
)


def snap(state: AgentState, **kw: object) -> Snapshot:
    return Snapshot(state=state, pid=1, updated_at="", **kw)  # type: ignore[arg-type]


def by_action(entries: tuple[MenuEntry, ...]) -> dict[Action, str]:
    return {e.action: e.text for e in entries if e.action is not None}


def test_pause_becomes_resume_when_paused() -> None:
    running = by_action(build_menu(snap(AgentState.IDLE)))
    paused = by_action(build_menu(snap(AgentState.PAUSED, paused=True)))
    assert running[Action.PAUSE] == "Pause uploads" and Action.RESUME not in running
    assert paused[Action.RESUME] == "Resume uploads" and Action.PAUSE not in paused


def test_failed_files_enable_open_and_retry_with_the_count() -> None:
    clean = build_menu(snap(AgentState.IDLE))
    assert Action.RETRY not in by_action(clean) and Action.OPEN_FAILED not in by_action(clean)
    assert "No failed files" in [e.text for e in clean]
    failed = (FolderStatus(key="w/rd_a", folder="w/rd_a", failed=2),)
    actions = by_action(build_menu(snap(AgentState.ATTENTION, folders=failed)))
    assert actions[Action.RETRY] == "Retry 2 failed file(s)"
    assert actions[Action.OPEN_FAILED] == "Open failed files (2)"


@pytest.mark.parametrize(
    ("snapshot", "line"),
    [
        (snap(AgentState.IDLE), "All files are settled"),
        (
            snap(
                AgentState.WORKING,
                uploads=(("big.pdf", 40),),
                folders=(FolderStatus(key="w/x", folder="w/x", in_progress=1, waiting=2),),
            ),
            "Uploading big.pdf (40%), 3 to do",
        ),
        (snap(AgentState.PAUSED, paused=True, checking=4), "Paused: 4 file(s) wait"),
        (snap(AgentState.OFFLINE, offline=True), "Offline: Kompliant is unreachable, retrying"),
        (
            snap(
                AgentState.ATTENTION,
                folders=(FolderStatus(key="w/inbox", folder="w/inbox", needs_routing=5),),
            ),
            "Needs you: 5 need routing",
        ),
        (snap(AgentState.ERROR, problems=("The watched folder is gone",)), "Problem: The watched"),
    ],
)
def test_the_status_line_says_the_state(snapshot: Snapshot, line: str) -> None:
    first = build_menu(snapshot)[0]
    assert first.text.startswith(line)
    assert first.action is Action.SHOW_STATUS and first.default


def test_sign_in_or_out_and_snooze_follow_the_facts() -> None:
    signed = by_action(build_menu(snap(AgentState.IDLE)))
    assert Action.SIGN_OUT in signed and Action.SNOOZE in signed
    other = by_action(build_menu(snap(AgentState.ERROR), signed_in=False, snoozed_until="14:05"))
    assert Action.SIGN_IN in other and Action.SIGN_OUT not in other
    assert other[Action.UNSNOOZE] == "Notifications snoozed until 14:05: turn on"
    for actions in (signed, other):
        assert {Action.OPEN_ROOT, Action.OPEN_LOG, Action.REFRESH, Action.QUIT} <= set(actions)


def rd(rd_id: str, name: str, status: str = "ACTIVE") -> RequiredDocument:
    return RequiredDocument.from_api(
        {"required_document_id": rd_id, "name": name, "status": status}
    )


def test_workflow_progress_lists_active_requirements_with_nothing_done() -> None:
    config = Config(
        workflows=(WorkflowConfig("w_1", label="Demo Ltd"), WorkflowConfig("w_2", label=""))
    )
    cache = RequirementsCache(
        {
            "w_1": CachedWorkflow(
                workflow=Workflow.from_api({"workflow_id": "w_1", "state": "OPEN"}),
                required_documents=(
                    rd("rd_bank", "Bank statements"),
                    rd("rd_addr", "Proof of address"),
                    rd("rd_id", "Government ID"),
                    rd("rd_old", "Old tax return", status="INACTIVE"),
                ),
            )
        }
    )
    folders = [
        FolderStatus(key="w_1/rd_bank", folder="", done=1, waiting=1),
        FolderStatus(key="w_1/rd_addr+rd_id", folder="", failed=1),
        FolderStatus(key="w_1/inbox", folder="", needs_routing=2),
    ]
    first, second = workflow_progress(config, cache, folders)
    assert first == WorkflowProgress(
        "Demo Ltd",
        ("Proof of address", "Government ID"),
        to_do=1,
        failed=1,
        needs_routing=2,
        workflow_id="w_1",
    )
    assert first.line() == (
        "Demo Ltd: missing Proof of address, Government ID (1 to do, 1 failed, 2 need routing)"
    )
    assert second.line() == "w_2: requirements not fetched yet (refresh)"
    folders[1] = FolderStatus(key="w_1/rd_addr+rd_id", folder="", done=1)
    assert workflow_progress(config, cache, folders)[0].line() == (
        "Demo Ltd: nothing missing (1 to do, 2 need routing)"
    )


def test_keyboard_steps_skip_separators_and_greyed_lines() -> None:
    entries = build_menu(
        snap(AgentState.IDLE), workflows=[WorkflowProgress("Demo", ("Bank statements",))]
    )
    # status, Still missing, Print cover sheets, Open folder, (no failed: greyed),
    # (retry: greyed), Pause
    assert keyboard_steps(entries, Action.SHOW_STATUS) == 1
    assert keyboard_steps(entries, Action.PAUSE) == 5
    with pytest.raises(ValueError, match="retry"):
        keyboard_steps(entries, Action.RETRY)


def test_long_lines_are_cut_in_the_menu() -> None:
    problem = "The watched folder /home/someone/Documents/Kompliant is unavailable: gone"
    first = build_menu(snap(AgentState.ERROR, problems=(problem,)))[0]
    assert len(first.text) == 60 and first.text.endswith("…")
