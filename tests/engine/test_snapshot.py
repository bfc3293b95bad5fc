"""The status snapshot tells the truth: which state, and a line for each file in failed/."""

from __future__ import annotations

from pathlib import Path

from agent.engine.problems import CREDENTIALS, ROOT, internal_topic
from agent.engine.snapshot import FAILED_LINES, EngineFacts, failed_lines, take_snapshot
from agent.engine.state import AgentState
from agent.engine.trouble import SERVER, disk_full_topic, not_regular_topic
from agent.journal import FolderCounts


def state(problems: dict[str, str], *, busy: bool = False, failed: int = 0) -> AgentState:
    facts = EngineFacts(paused=False, offline=False, problems=problems, busy=busy, checking=0)
    counts = [FolderCounts("w/rd", done=3, failed=failed)]
    return take_snapshot(facts, counts, pid=1, updated_at="now").state


def test_what_needs_fixing_is_an_error_and_what_needs_the_user_is_attention() -> None:
    assert state({}) is AgentState.IDLE
    assert state({}, busy=True) is AgentState.WORKING
    assert state({ROOT: "the root is gone"}) is AgentState.ERROR
    assert state({CREDENTIALS: "refused"}) is AgentState.ERROR
    assert state({internal_topic(7): "a bug"}, busy=True) is AgentState.ERROR
    # a full disk needs the user even while other files are being sent
    assert state({disk_full_topic(Path("/mnt")): "disk full"}, busy=True) is AgentState.ATTENTION
    assert state({not_regular_topic(Path("/w/x.pdf")): "a FIFO"}) is AgentState.ATTENTION
    # Kompliant answering errors is worked through by retries: not the user's to fix
    assert state({SERVER: "Kompliant answers errors"}, busy=True) is AgentState.WORKING
    assert state({}, failed=1) is AgentState.ATTENTION
    assert state({}, failed=0) is AgentState.IDLE  # a failed file retried or deleted: gone


def test_each_failed_file_gets_a_line_and_the_rest_are_counted() -> None:
    files = [(f"f{n}.pdf", "/w/Bank", f"reason {n}.") for n in range(FAILED_LINES + 2)]
    lines = failed_lines(files)
    assert len(lines) == FAILED_LINES + 1
    first = lines["failed:/w/Bank/f0.pdf"]
    assert first == "f0.pdf failed: reason 0. It is in failed/ in /w/Bank, with a note."
    assert lines["failed:more"].startswith("… and 2 more failed file(s)")
    assert failed_lines([]) == {}
