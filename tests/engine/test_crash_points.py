"""Kills at the narrowest points, set up exactly: the state a SIGKILL leaves, then a restart.

Random kills (test_crash.py) rarely land in windows a few microseconds wide. Here each
such window's leftover state is made by hand — the same calls the agent makes, stopped
where the kill would stop them — and the real agent (``python -m agent run --once``)
must finish the file exactly once.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.journal import Journal
from agent.owned_names import AGENT_OWNED
from agent.sandbox import RunningSandbox
from agent.settle import (
    ClaimOwner,
    DoneRecord,
    claim,
    current_owner,
    find_done,
    settle_done,
)
from tests.conftest import DEMO_WORKFLOW, RD_BANK
from tests.engine.crashkit import (
    Dropped,
    Install,
    check_settled_once,
)
from tests.kit.sandbox import sandbox_state


def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.mark.parametrize("record", ["no record", "record of the dead agent"])
def test_killed_between_claiming_and_recording_the_claim(
    tmp_path: Path, sandbox: RunningSandbox, record: str
) -> None:
    credentials = sandbox.demo_credentials()
    assert credentials is not None
    install = Install.create(tmp_path / "home", tmp_path / "root", credentials)
    install.add_workflow()
    folder = install.workflow / "Bank statements"
    content = b"%PDF-1.4 claimed just before the kill\n%%EOF\n"
    source = folder / "statement.pdf"
    dropped = [Dropped("Bank statements", source.name, hashlib.sha256(content).hexdigest(), 0)]

    # What the agent does for a finished file, stopped by the kill: the journal entry at
    # SEEN, the rename into .processing/, and (maybe) the claim's record — no more.
    source.write_bytes(content)
    with Journal.open(install.journal) as journal:
        journal.begin(
            source,
            folder_key=f"{DEMO_WORKFLOW}/{RD_BANK}",
            workflow_id=DEMO_WORKFLOW,
            required_document_ids=[RD_BANK],
        )
    owner = current_owner()
    dead = ClaimOwner(owner.instance_id + "-dead", owner.host, _dead_pid(), "")
    taken = claim(source, owner=dead)
    assert taken is not None
    if record == "no record":
        taken.record_path.unlink()

    done = install.cli("run", "--once", timeout=60)
    assert done.returncode == 0, done.stderr
    check_settled_once(install.workflow, dropped, sandbox_state(sandbox))
    assert not os.listdir(folder / ".processing"), "the claim's record was left behind"


def test_killed_between_moving_to_done_and_naming_the_receipt(tmp_path: Path) -> None:
    folder = tmp_path / "Bank statements"
    folder.mkdir()
    (folder / "a.pdf").write_bytes(b"%PDF-1.4 an earlier a.pdf\n%%EOF\n")
    earlier = claim(folder / "a.pdf")
    assert earlier is not None
    settle_done(earlier, DoneRecord("d_Earlier", hashlib.sha256(b"x").hexdigest(), 1))

    content = b"%PDF-1.4 the file being settled\n%%EOF\n"
    (folder / "a.pdf").write_bytes(content)
    taken = claim(folder / "a.pdf")
    assert taken is not None
    record = DoneRecord(
        "d_Settling",
        hashlib.sha256(content).hexdigest(),
        len(content),
        settled_at=datetime.now(UTC),
    )
    final = settle_done(taken, record)
    assert final.name == "a (2).pdf"
    # the kill came after the file's move, before its receipt was named
    receipt = final.with_name(final.name + AGENT_OWNED.receipt_suffix)
    receipt.rename(folder / AGENT_OWNED.done_dir / ".tmp-interrupted")

    assert find_done(folder, "d_Other") is None
    assert not receipt.exists()
    assert find_done(folder, "d_Settling") == final
    assert "document d_Settling." in receipt.read_text()
    assert sorted(os.listdir(folder / AGENT_OWNED.done_dir)) == [
        "a (2).pdf",
        "a (2).pdf" + AGENT_OWNED.receipt_suffix,
        "a.pdf",
        "a.pdf" + AGENT_OWNED.receipt_suffix,
    ]


def test_an_unnamed_receipt_of_other_content_is_left_alone(tmp_path: Path) -> None:
    folder = tmp_path / "Bank statements"
    folder.mkdir()
    (folder / "a.pdf").write_bytes(b"%PDF-1.4 one\n%%EOF\n")
    taken = claim(folder / "a.pdf")
    assert taken is not None
    final = settle_done(taken, DoneRecord("d_One", hashlib.sha256(b"not it").hexdigest(), 8))
    final.with_name(final.name + AGENT_OWNED.receipt_suffix).rename(
        folder / AGENT_OWNED.done_dir / ".tmp-x"
    )
    assert find_done(folder, "d_One") is None
    assert (folder / AGENT_OWNED.done_dir / ".tmp-x").exists()
