"""The tooltip says the state and what matters now, on every backend that shows one."""

from __future__ import annotations

from agent.engine.state import AgentState
from agent.engine.status import FolderStatus
from agent.tray.words import TOOLTIP_LIMIT, Batch, tooltip
from tests.tray.snapshots import snap


def test_the_tooltip_names_the_file_being_sent_and_its_place_in_the_batch() -> None:
    batch = Batch().follow(
        snap(AgentState.WORKING, folders=(FolderStatus("w/x", "w/x", waiting=10),))
    )
    sending = snap(
        AgentState.WORKING,
        uploads=(("Bank statement.pdf", 45),),
        folders=(FolderStatus("w/x", "w/x", waiting=7, in_progress=1, done=2),),
    )
    batch = batch.follow(sending)
    assert tooltip(sending, batch) == "Kompliant: uploading 3 of 10 — Bank statement.pdf 45 %"
    assert tooltip(sending) == "Kompliant: uploading — Bank statement.pdf 45 %"


def test_a_batch_ends_when_the_work_does() -> None:
    batch = Batch().follow(snap(AgentState.WORKING, checking=1))
    assert batch.start == 0
    assert Batch().follow(snap(AgentState.IDLE)).start is None
    assert batch.follow(snap(AgentState.IDLE)) == Batch()


def test_tooltips_name_the_state_and_the_counts() -> None:
    folders = (
        FolderStatus(key="w/rd_a", folder="w/rd_a", waiting=2, failed=3),
        FolderStatus(key="w/inbox", folder="w/inbox", needs_routing=1),
    )
    assert tooltip(snap(AgentState.ATTENTION, folders=folders)) == (
        "Kompliant: needs you (3 failed, 1 need routing)"
    )
    assert tooltip(snap(AgentState.IDLE)) == "Kompliant: all files are settled"
    assert tooltip(snap(AgentState.PAUSED, checking=1)) == "Kompliant: paused — 1 file waits"
    assert tooltip(snap(AgentState.OFFLINE)) == "Kompliant: offline, retrying"
    assert (
        tooltip(snap(AgentState.ERROR, problems=("Sign in again",))) == "Kompliant: Sign in again"
    )


def test_a_long_problem_is_cut_to_what_tray_hosts_show() -> None:
    text = tooltip(snap(AgentState.ERROR, problems=("x" * 500,)))
    assert len(text) == TOOLTIP_LIMIT and text.endswith("…")
