"""The status tells the truth: counts from what is on disk now, each problem its own line.

A running agent against the sandbox; ``status --json`` (a separate process, as a user runs
it) and ``status.json`` read while things go wrong and after they are put right: a failed
file retried or deleted, a full disk, Kompliant answering HTTP 500, a FIFO where a file
belongs, a file over the size limit, and a Kompliant that hangs on one call while files
keep arriving.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.sandbox import RunningSandbox, SandboxSettings, start_sandbox
from tests.conftest import RD_BANK, fill_up
from tests.engine.badkit import settled, wait_outcome
from tests.engine.conftest import AgentHome, Kompliant, drop
from tests.kit.agent import AgentProcess
from tests.kit.readonly import make_read_only, make_writable
from tests.kit.sandbox import sandbox_admin
from tests.kit.wait import wait_for

PDF = b"%PDF-1.4\n"


def pdf(text: bytes) -> bytes:
    """A small PDF: the signature, ``text``, and the end a whole PDF has."""
    return PDF + text + b"\n%%EOF\n"


@pytest.fixture
def sandbox_settings() -> SandboxSettings:
    return SandboxSettings()


@pytest.fixture
def sandbox(tmp_path: Path, sandbox_settings: SandboxSettings) -> Iterator[RunningSandbox]:
    running = start_sandbox(tmp_path / "sandbox-data", settings=sandbox_settings)
    try:
        yield running
    finally:
        running.stop()


def _start(home: AgentHome, **agent: Any) -> AgentProcess:
    home.write_config(agent=agent or None)
    home.add_workflow()
    return home.start()


def _faults(home: AgentHome, **settings: Any) -> None:
    answer = sandbox_admin(home.sandbox, "faults", settings)
    assert answer.status_code == 200, answer.text


def _answered(home: AgentHome, method: str) -> int:
    """How many calls of ``method`` the sandbox has answered (a hanging one is not yet)."""
    stats = sandbox_admin(home.sandbox, "stats").json()
    return sum(int(n) for n in stats["by_method"].get(method, {}).values())


def _bank_counts(status: dict[str, Any]) -> dict[str, int]:
    """Bank statements' row of ``status --json`` (all 0 when it has none: nothing there)."""
    rows = [f for f in status["folders"] if f["key"].endswith(RD_BANK)]
    assert len(rows) <= 1, rows
    keys = ("waiting", "in_progress", "done", "failed", "needs_routing")
    return {k: rows[0][k] if rows else 0 for k in keys}


def _problem(home: AgentHome, agent: AgentProcess, words: str, timeout: float = 30.0) -> str:
    """Wait until ``status --json`` lists a problem containing ``words``; that problem."""

    def found() -> str:
        status = home.status()
        return next((p for p in status["problems"] if words in p), "")

    return wait_for(
        found,
        timeout=timeout,
        interval=0.3,
        what=f"a problem saying {words!r}",
        process=agent.process,
    )


def _clean(home: AgentHome, agent: AgentProcess, timeout: float = 30.0) -> dict[str, Any]:
    """Wait until the agent says idle with no problem; the status."""

    def clean() -> dict[str, Any]:
        status = home.status()
        return status if status["state"] == "idle" and not status["problems"] else {}

    return wait_for(
        clean, timeout=timeout, interval=0.3, what="a clean status", process=agent.process
    )


# -- failed files that are gone no longer count ------------------------------------------


def _inactive(home: AgentHome, status: str) -> None:
    answer = sandbox_admin(
        home.sandbox,
        "admin",
        {"op": "set_required_document_status", "required_document_id": RD_BANK, "status": status},
    )
    assert answer.status_code == 200, answer.text
    assert home.cli("refresh").returncode == 0


def test_a_retried_file_that_succeeds_leaves_a_clean_status(agent_home: AgentHome) -> None:
    agent = _start(agent_home)
    bank = agent_home.folder("Bank statements")
    _inactive(agent_home, "INACTIVE")
    agent_home.request_refresh()
    wait_for(lambda: (bank / "_INACTIVE - no longer required.txt").exists(), what="INACTIVE")
    drop(bank, "statement.pdf", pdf(b"sent while inactive"))
    assert wait_outcome(agent, bank, "statement.pdf").kind == "failed"
    status = wait_for(
        lambda: (s := agent_home.status())["state"] == "attention" and s, what="attention"
    )
    assert _bank_counts(status)["failed"] == 1

    _inactive(agent_home, "ACTIVE")
    agent_home.request_refresh()
    wait_for(lambda: not (bank / "_INACTIVE - no longer required.txt").exists(), what="ACTIVE")
    assert agent_home.cli("retry").returncode == 0
    wait_for(lambda: (bank / "done" / "statement.pdf").exists(), what="the retried file done")
    status = _clean(agent_home, agent)
    assert _bank_counts(status) == {
        "waiting": 0,
        "in_progress": 0,
        "done": 1,
        "failed": 0,
        "needs_routing": 0,
    }


def test_a_deleted_failed_file_no_longer_counts_also_after_a_restart(
    agent_home: AgentHome,
) -> None:
    agent = _start(agent_home)
    bank = agent_home.folder("Bank statements")
    drop(bank, "notes.txt", b"a type Kompliant does not take")
    found = wait_outcome(agent, bank, "notes.txt")
    assert found.kind == "failed"
    wait_for(lambda: agent_home.status()["state"] == "attention", what="attention")
    found.path.unlink()
    found.path.with_name("notes.txt.error.txt").unlink()
    status = _clean(agent_home, agent)
    assert _bank_counts(status)["failed"] == 0
    assert agent.stop() == 0
    agent = agent_home.start()
    status = _clean(agent_home, agent)
    assert _bank_counts(status)["failed"] == 0
    assert agent_home.status_file()["state"] == "idle"


# -- each problem its own line ------------------------------------------------------------


def test_a_full_disk_is_a_problem_of_its_own_and_passes_when_there_is_room(
    agent_home: AgentHome, small_root: Path
) -> None:
    root = small_root / "Kompliant"
    agent = _start(agent_home, workers=2, root=str(root))
    bank = root / agent_home.workflow.name / "Bank statements"
    agent_home.pause(True)
    wait_for(lambda: agent_home.status_file().get("paused"), what="paused")
    drop(bank, "a.pdf", pdf(b"one"))
    drop(bank, "b.pdf", pdf(b"two"))
    filler = fill_up(small_root)
    agent_home.pause(False)
    problem = _problem(agent_home, agent, "disk full: 2 files wait for room on ")
    assert str(small_root) in problem
    assert agent_home.status()["state"] == "attention"
    filler.unlink()
    wait_for(
        lambda: settled(bank, "a.pdf") and settled(bank, "b.pdf"),
        timeout=60,
        what="both files done once there is room",
        process=agent.process,
    )
    _clean(agent_home, agent)


def test_repeated_http_500_is_its_own_problem_not_offline(
    agent_home: AgentHome, kompliant: Kompliant
) -> None:
    agent = _start(agent_home)
    bank = agent_home.folder("Bank statements")
    _faults(agent_home, script=[{"method": "document.create", "action": "http_500", "count": 6}])
    drop(bank, "statement.pdf", pdf(b"meets a failing server"))
    problem = _problem(agent_home, agent, "Kompliant answers errors")
    assert "HTTP 500 from document.create" in problem and "retrying" in problem, problem
    status = agent_home.status()
    assert status["state"] != "offline" and not status.get("offline"), status
    assert wait_outcome(agent, bank, "statement.pdf", timeout=120).kind == "done"
    _clean(agent_home, agent)
    assert len([d for d in kompliant.documents() if d.deleted_at is None]) == 1


def test_a_fifo_is_named_as_not_a_regular_file(agent_home: AgentHome) -> None:
    agent = _start(agent_home)
    bank = agent_home.folder("Bank statements")
    os.mkfifo(bank / "x.pdf")
    problem = _problem(agent_home, agent, "not a regular file")
    assert "x.pdf" in problem, problem
    (bank / "x.pdf").unlink()
    _clean(agent_home, agent)


@pytest.mark.parametrize("sandbox_settings", [SandboxSettings(max_file_size=2048)], ids=["2KiB"])
def test_an_oversized_file_fails_with_human_sizes(agent_home: AgentHome) -> None:
    agent = _start(agent_home)
    bank = agent_home.folder("Bank statements")
    drop(bank, "huge.pdf", pdf(b"x" * 6000))
    found = wait_outcome(agent, bank, "huge.pdf")
    assert found.kind == "failed"
    assert "huge.pdf is 5.9 KiB; the limit is 2 KiB" in found.what(), found.note
    assert "bytes" not in found.what(), found.note
    problem = _problem(agent_home, agent, "huge.pdf")
    assert "5.9 KiB" in problem and "failed/" in problem, problem
    assert agent_home.status()["state"] == "attention"


def test_a_hanging_review_call_does_not_hold_up_new_files(agent_home: AgentHome) -> None:
    agent = _start(agent_home)
    bank = agent_home.folder("Bank statements")
    drop(bank, "first.pdf", pdf(b"how long a file usually takes"))
    started = time.monotonic()
    assert wait_outcome(agent, bank, "first.pdf").kind == "done"
    usual = time.monotonic() - started
    hang = {"method": "workflow.requiredDocument.list", "action": "hang", "seconds": 30}
    _faults(agent_home, script=[hang])
    agent_home.request_refresh()  # the refresh lists the required documents: it hangs
    wait_for(
        lambda: not sandbox_admin(agent_home.sandbox, "faults").json()["script"],
        what="the refresh to be hanging",
        process=agent.process,
    )
    drop(bank, "meanwhile.pdf", pdf(b"dropped while Kompliant hangs"))
    started = time.monotonic()
    listed = _answered(agent_home, "workflow.requiredDocument.list")
    # done well within the 30 s the call hangs: the file did not wait for it
    assert wait_outcome(agent, bank, "meanwhile.pdf", timeout=20).kind == "done"
    took = time.monotonic() - started
    print(f"usual {usual:.2f} s, while a call hangs {took:.2f} s")
    assert _answered(agent_home, "workflow.requiredDocument.list") == listed  # still hanging
    assert agent_home.status_file()["state"] in ("idle", "working")
    assert agent.process.poll() is None


def test_retry_moves_the_failed_files_of_other_folders_when_one_refuses(
    agent_home: AgentHome,
) -> None:
    """`retry` with no agent running: a folder that refuses the move back (read-only)
    is named on stderr with what the disk said, and every other folder's failed files
    are still moved back (exit code PARTIAL)."""
    agent_home.write_config()
    agent_home.add_workflow()
    bank = agent_home.folder("Bank statements")
    address = agent_home.folder("Proof of address")
    for folder in (bank, address):
        (folder / "failed").mkdir(exist_ok=True)
        (folder / "failed" / "statement.pdf").write_bytes(pdf(folder.name.encode()))
    if not make_read_only(bank):
        pytest.skip("cannot make a folder read-only here")
    try:
        retried = agent_home.cli("retry")
    finally:
        make_writable(bank)

    assert retried.returncode == 5, (retried.stdout, retried.stderr)  # PARTIAL
    assert f"could not move the failed files of {bank} back" in retried.stderr
    assert (address / "statement.pdf").exists()
    assert (bank / "failed" / "statement.pdf").exists()  # nothing lost
    assert "1 failed file(s) moved back" in retried.stdout
