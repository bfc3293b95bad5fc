"""A stack cut into parts, the agent killed at several points on the way: after a restart
every part is uploaded and linked exactly once, and the stack ends in done/ once."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from agent.journal import JOURNAL_FILE
from tests.conftest import RD_ADDRESS, RD_BANK, RD_ID
from tests.engine.conftest import AgentHome, Kompliant, documents_in, drop, files_in, wait_for
from tests.engine.scankit import demo_stack, stored
from tests.kit.sandbox import sandbox_state, set_faults
from tests.scan.scans import page_images


def parts_at(journal: Path, steps: tuple[str, ...]) -> int:
    """How many parts of stacks the journal has at one of ``steps`` (read-only)."""
    try:
        conn = sqlite3.connect(f"file:{journal}?mode=ro", uri=True, timeout=10)
    except sqlite3.OperationalError:
        return 0
    try:
        marks = ",".join("?" * len(steps))
        row = conn.execute(
            f"SELECT COUNT(*) FROM entries WHERE parent_id IS NOT NULL AND step IN ({marks})",
            steps,
        ).fetchone()
        return int(row[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


def test_parts_are_sent_once_across_kills(
    agent_home: AgentHome, kompliant: Kompliant, tmp_path: Path
) -> None:
    stack = demo_stack(agent_home, tmp_path)
    stack.cover(0).document("B1").cover(1).document("A1").document("A2").cover(2).document("I1")
    inbox = agent_home.folder("Inbox")
    journal = agent_home.state_dir / JOURNAL_FILE
    set_faults(agent_home.sandbox, latency_ms=300)  # slow enough to stop in the middle

    agent = agent_home.start()
    drop(inbox, "scan.pdf", stack.pdf())
    # killed once the parts are recorded, before (most of) their uploads
    wait_for(
        lambda: parts_at(journal, ("stable", "hashed", "created")),
        timeout=60,
        what="the parts in the journal",
        process=agent.process,
    )
    agent.process.kill()
    agent.process.wait()

    agent = agent_home.start()
    # killed again once one part is linked or settled and others are not
    wait_for(
        lambda: parts_at(journal, ("linked", "settled")),
        timeout=60,
        what="a part linked",
        process=agent.process,
    )
    agent.process.kill()
    agent.process.wait()

    set_faults(agent_home.sandbox, latency_ms=0)
    agent = agent_home.start()
    receipt = inbox / "done" / "scan.pdf.receipt.txt"
    wait_for(receipt.exists, timeout=60, what="the stack's receipt", process=agent.process)
    agent.stop()

    assert documents_in(inbox / "done") == ["scan.pdf"]
    assert not files_in(inbox / "failed") and not files_in(inbox / ".processing" / ".scan")
    text = receipt.read_text(encoding="utf-8")
    assert text.count("uploaded as document") == 3, text
    expected = {RD_BANK: stack.pages[1:2], RD_ADDRESS: stack.pages[3:5], RD_ID: stack.pages[6:7]}
    live = {d.document_id: d for d in kompliant.documents()}
    assert len(live) == 3
    for rd, pages in expected.items():
        (fulfillment,) = kompliant.fulfillments(rd)  # exactly one each
        assert page_images(stored(agent_home.sandbox, live[fulfillment.document_id])) == pages
    # documents made by a killed run and never finished were deleted, none left pending
    state = sandbox_state(agent_home.sandbox)
    pending = [
        d for d in state["documents"] if not d.get("deleted_at") and d["document_id"] not in live
    ]
    assert pending == []
