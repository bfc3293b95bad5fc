"""The menu model: texts and enabled items follow the state; files are listed one by one;
what each workflow lacks is complete from the first refresh."""

from __future__ import annotations

import pytest

from agent.config import Config
from agent.config.model import WorkflowConfig
from agent.decide import CachedWorkflow, RequirementsCache
from agent.engine.state import AgentState
from agent.engine.status import FileOutcome, FolderStatus, Snapshot
from agent.kompliant.models import RequiredDocument, Workflow
from agent.review.state import RequirementReview, RequirementState, WorkflowReview
from agent.tray.menu import (
    FILES_SHOWN,
    Action,
    MenuEntry,
    MenuFacts,
    WorkflowProgress,
    build_menu,
    find,
    workflow_progress,
)
from agent.tray.words import Batch
from tests.tray.conftest import key_presses
from tests.tray.snapshots import snap

NAMES = {"rd_bank": "Bank statements", "rd_addr": "Proof of address", "rd_id": "Government ID"}


def actions(entries: tuple[MenuEntry, ...]) -> dict[Action, str]:
    """Every action in the menu (submenus included) → its text."""
    found: dict[Action, str] = {}
    for entry in entries:
        if entry.action is not None:
            found.setdefault(entry.action, entry.text)
        found.update({k: v for k, v in actions(entry.submenu).items() if k not in found})
    return found


def entry(entries: tuple[MenuEntry, ...], text: str) -> MenuEntry:
    return next(e for e in entries if e.text.startswith(text))


def failure(name: str, rds: tuple[str, ...] = ("rd_bank",), key: str = "w/rd_bank") -> FileOutcome:
    return FileOutcome(
        name=name,
        path=f"/docs/Demo/Bank statements/failed/{name}",
        folder_key=key,
        workflow_id="w",
        required_document_ids=rds,
        reason="Kompliant does not take .txt files. Save it as PDF, JPG or PNG.",
    )


def test_pause_becomes_resume_when_paused() -> None:
    running = actions(build_menu(snap(AgentState.IDLE)))
    paused = actions(build_menu(snap(AgentState.PAUSED, paused=True)))
    assert running[Action.PAUSE] == "Pause uploads" and Action.RESUME not in running
    assert paused[Action.RESUME] == "Resume uploads" and Action.PAUSE not in paused


def test_failed_files_are_listed_each_with_its_folder_reason_and_retry() -> None:
    clean = build_menu(snap(AgentState.IDLE))
    assert not entry(clean, "No failed files").enabled
    files = (failure("notes.txt"), failure("scan.bmp", ("rd_addr", "rd_id"), "w/rd_addr+rd_id"))
    menu = build_menu(
        snap(
            AgentState.ATTENTION,
            folders=(FolderStatus("w/rd_bank", "w/rd_bank", failed=2),),
            failed_files=files,
        ),
        MenuFacts(requirement_names=NAMES),
    )
    failed = entry(menu, "Failed (2)")
    first, second = failed.submenu[:2]
    assert first.text == "notes.txt — Bank statements"
    assert second.text == "scan.bmp — Proof of address + Government ID"
    assert [(e.text, e.action, e.arg) for e in first.submenu] == [
        ("Open its folder", Action.OPEN_FILE_FOLDER, files[0].path),
        ("Why it failed", Action.SHOW_REASON, files[0].path),
        ("Retry", Action.RETRY_FILE, files[0].path),
    ]
    assert failed.submenu[-1] == MenuEntry("Retry all 2 failed files", Action.RETRY)


def test_many_failures_list_the_newest_and_open_the_folders_for_the_rest() -> None:
    files = tuple(failure(f"f{n}.txt") for n in range(15))
    menu = build_menu(
        snap(
            AgentState.ATTENTION,
            folders=(FolderStatus("w/rd_bank", "w/rd_bank", failed=40),),
            failed_files=files,
        )
    )
    failed = entry(menu, "Failed (40)").submenu
    assert len([e for e in failed if e.submenu]) == FILES_SHOWN
    assert MenuEntry("30 more: open the failed folders", Action.OPEN_FAILED) in failed


def test_recent_lists_the_files_done_with_their_requirement() -> None:
    assert not entry(build_menu(snap(AgentState.IDLE)), "Nothing uploaded yet").enabled
    done = FileOutcome(
        "statement.pdf",
        "/docs/Demo/Bank statements/done/statement.pdf",
        "w/rd_bank",
        "w",
        ("rd_bank",),
    )
    menu = build_menu(snap(AgentState.IDLE, recent=(done,)), MenuFacts(requirement_names=NAMES))
    recent = entry(menu, "Recent").submenu
    assert recent == (
        MenuEntry("statement.pdf — Bank statements", Action.OPEN_FILE_FOLDER, done.path),
    )


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
            "Uploading big.pdf, 3 to do",
        ),
        (snap(AgentState.PAUSED, paused=True, checking=4), "Paused: 4 files wait"),
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
    signed = actions(build_menu(snap(AgentState.IDLE)))
    assert signed[Action.SIGN_OUT] == "Sign out…" and Action.SNOOZE in signed
    other = actions(
        build_menu(snap(AgentState.ERROR), MenuFacts(signed_in=False, snoozed_until="14:05"))
    )
    assert other[Action.SIGN_IN] == "Sign in…" and Action.SIGN_OUT not in other
    assert other[Action.UNSNOOZE] == "Notifications snoozed until 14:05: turn on"
    for found in (signed, other):
        assert {Action.OPEN_ROOT, Action.OPEN_LOG, Action.REFRESH, Action.QUIT} <= set(found)


def test_without_a_window_to_ask_sign_out_asks_in_a_submenu() -> None:
    asking = entry(build_menu(snap(AgentState.IDLE), MenuFacts(confirm_in_menu=True)), "Sign out")
    assert asking.action is None
    assert asking.submenu == (
        MenuEntry("Yes: remove my credentials and stop the agent", Action.SIGN_OUT, "confirmed"),
    )


def rd(rd_id: str, name: str, status: str = "ACTIVE") -> RequiredDocument:
    return RequiredDocument.from_api(
        {"required_document_id": rd_id, "name": name, "status": status}
    )


CONFIG = Config(
    workflows=(WorkflowConfig("w_1", label="Demo Ltd"), WorkflowConfig("w_2", label=""))
)
CACHE = RequirementsCache(
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


def review(**states: RequirementState) -> WorkflowReview:
    return WorkflowReview(
        "w_1",
        "Demo Ltd",
        "STARTED",
        False,
        tuple(RequirementReview("w_1", rd_id, NAMES[rd_id], s) for rd_id, s in states.items()),
    )


def test_still_missing_is_complete_before_every_requirement_was_checked() -> None:
    folders = [
        FolderStatus(key="w_1/rd_bank", folder="", done=1, waiting=1),
        FolderStatus(key="w_1/rd_addr+rd_id", folder="", failed=1),
        FolderStatus(key="w_1/inbox", folder="", needs_routing=2),
    ]
    # the review poller has looked at one requirement of three so far
    first, second = workflow_progress(
        CONFIG, CACHE, folders, [review(rd_bank=RequirementState.NEEDS_REVIEW)]
    )
    assert first.missing == ("Proof of address", "Government ID")
    assert first.requirements == (
        ("Proof of address", "missing"),
        ("Government ID", "missing"),
        ("Bank statements", "needs_review"),
    )
    assert first.line() == (
        "Demo Ltd: missing Proof of address, Government ID (1 to do, 1 failed, 2 need routing)"
    )
    assert not second.known and second.line() == "w_2: checking…"
    folders[1] = FolderStatus(key="w_1/rd_addr+rd_id", folder="", done=1)
    done = workflow_progress(CONFIG, CACHE, folders)[0]
    assert done.missing == () and dict(done.requirements)["Government ID"] == "sent"


def test_a_rejected_document_is_missing_again() -> None:
    folders = [FolderStatus(key="w_1/rd_bank", folder="", done=1)]
    first = workflow_progress(
        CONFIG,
        CACHE,
        folders,
        [review(rd_bank=RequirementState.REJECTED, rd_addr=RequirementState.ACCEPTED)],
    )[0]
    assert first.missing == ("Bank statements", "Government ID")


def test_each_workflow_has_its_submenu_with_the_request() -> None:
    progress = workflow_progress(CONFIG, CACHE, [])
    menu = build_menu(snap(AgentState.IDLE), MenuFacts(workflows=progress))
    missing = entry(menu, "Still missing").submenu
    demo, other = missing
    assert demo.text == "Demo Ltd: 3 missing"
    assert [e.text for e in demo.submenu if not e.separator] == [
        "Bank statements: missing",
        "Proof of address: missing",
        "Government ID: missing",
        "Ask the applicant for the missing documents",
    ]
    ask = demo.submenu[-1]
    assert ask.action is Action.REQUEST_MISSING and ask.arg == "w_1"
    assert other == MenuEntry("w_2: checking…")


def test_the_request_is_offered_only_when_something_is_missing() -> None:
    accepted = WorkflowProgress("w_1", "Demo Ltd", requirements=(("Bank statements", "accepted"),))
    menu = build_menu(snap(AgentState.IDLE), MenuFacts(workflows=(accepted,)))
    ask = entry(menu, "Still missing").submenu[0].submenu[-1]
    assert ask.action is None
    ended = WorkflowProgress("w_1", "Demo Ltd", ended=True, requirements=(("B", "missing"),))
    assert ended.missing == () and ended.line() == "Demo Ltd: workflow ended"


def test_keys_reach_an_entry_through_its_submenus() -> None:
    files = (failure("notes.txt"),)
    menu = build_menu(
        snap(
            AgentState.ATTENTION,
            folders=(FolderStatus("w/rd_bank", "w/rd_bank", failed=1),),
            failed_files=files,
        )
    )
    # status line, Failed (1) ▸ notes.txt ▸ Open its folder / Why it failed / Retry
    path = find(menu, Action.RETRY_FILE, files[0].path)
    assert path == [1, 0, 2]
    assert key_presses(menu, path) == [
        ["Down", "Down", "Right"],
        ["Right"],
        ["Down", "Down", "Return"],
    ]
    # greyed-out lines and separators are skipped: Recent is greyed, Pause comes after
    pause = find(menu, Action.PAUSE)
    assert key_presses(menu, pause) == [["Down"] * 3 + ["Return"]]
    assert find(menu, Action.RESUME) == []


def test_long_lines_are_cut_in_the_menu() -> None:
    problem = "The watched folder /home/someone/Documents/Kompliant is unavailable: gone"
    first = build_menu(snap(AgentState.ERROR, problems=(problem,)))[0]
    assert len(first.text) == 60 and first.text.endswith("…")


def test_the_status_line_counts_the_batch_while_uploading() -> None:
    start = snap(AgentState.WORKING, folders=(FolderStatus("w/x", "w/x", waiting=10, done=4),))
    batch = Batch().follow(start)
    later = snap(
        AgentState.WORKING,
        uploads=(("c.pdf", 45),),
        folders=(FolderStatus("w/x", "w/x", waiting=7, in_progress=1, done=6, failed=0),),
    )
    batch = batch.follow(later)
    first = build_menu(later, MenuFacts(batch=batch))[0]
    assert first.text == "Uploading 3 of 10: c.pdf"
