"""End to end against a sandbox that refuses batch items with no code or words the agent knows.

With ``plain_refusals`` every refused batch item is a bare ``BAD_REQUEST`` with a
message no client has seen ("This item was not processed."): no sub-code, no
``DUPLICATE_FULFILLMENT``. The real agent (``python -m agent run --once``) must still
settle every file exactly once — also on the duplicate-link path, where the link it
sends was already made by an earlier run whose answer it never recorded: only
``fulfillment.list`` can tell it so.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from agent.journal import Journal, Step
from agent.kompliant.client import KompliantClient
from agent.owned_names import AGENT_OWNED
from agent.sandbox import RunningSandbox
from tests.conftest import DEMO_WORKFLOW, RD_ADDRESS, RD_BANK, sandbox_admin
from tests.engine.crashkit import (
    COMBINED,
    Dropped,
    check_settled_once,
    drop,
)
from tests.engine.killed_runs import demo_install, sent_before_a_kill
from tests.kit.sandbox import sandbox_state, sandbox_stats, set_faults

BATCH_ADD = "workflow.requiredDocument.fulfillment.batchAdd"
PLAIN = "This item was not processed."


def test_the_pipeline_settles_every_file_against_plain_refusals(
    tmp_path: Path, sandbox: RunningSandbox
) -> None:
    install = demo_install(tmp_path, sandbox)
    # The first batchAdd is carried out and its answer lost: the agent must look before
    # sending it again, and a repeat would be refused with words it does not know.
    step = {"method": BATCH_ADD, "action": "drop_after_processing", "count": 1}
    set_faults(sandbox, plain_refusals=True, script=[step])
    batch = [
        ("Bank statements", "statement.pdf", b"%PDF-1.4 a statement\n%%EOF\n"),
        ("Proof of address", "address.pdf", b"%PDF-1.4 a utility bill\n%%EOF\n"),
        (COMBINED, "both.pdf", b"%PDF-1.4 statement and address in one\n%%EOF\n"),
    ]
    dropped = drop(install.workflow, batch)
    done = install.cli("run", "--once", timeout=120)
    assert done.returncode == 0, done.stderr
    check_settled_once(install.workflow, dropped, sandbox_state(sandbox))


def test_the_duplicate_link_path_settles_with_no_sub_code(
    tmp_path: Path, sandbox: RunningSandbox
) -> None:
    install = demo_install(tmp_path, sandbox)
    credentials = sandbox.demo_credentials()
    assert credentials is not None
    folder = install.workflow / "Bank statements"
    content = b"%PDF-1.4 linked just before the kill\n%%EOF\n"
    source = folder / "statement.pdf"
    source.write_bytes(content)

    # What a run killed right after batchAdd's answer leaves: the journal at VERIFIED,
    # and on Kompliant the document and its fulfillment.
    with Journal.open(install.journal) as journal, KompliantClient(credentials) as client:
        entry_id, document_id = sent_before_a_kill(journal, client, source)
        journal.advance(entry_id, Step.UPLOADED)
        journal.advance(entry_id, Step.VERIFIED)
        (made,) = client.add_fulfillments(DEMO_WORKFLOW, [(document_id, RD_BANK)])
        assert made.ok and made.fulfillment_id

    set_faults(sandbox, plain_refusals=True)
    sandbox_admin(sandbox, "stats/reset", {}).raise_for_status()
    done = install.cli("run", "--once", timeout=120)
    assert done.returncode == 0, done.stderr
    sha256 = hashlib.sha256(content).hexdigest()
    check_settled_once(
        install.workflow,
        [Dropped("Bank statements", source.name, sha256, 0)],
        sandbox_state(sandbox),
    )
    # The restarted agent sent the link again and was refused (the receipt above names the
    # fulfillment the first run made): fulfillment.list settled it, not a sub-code.
    stats = sandbox_stats(sandbox)
    assert stats["methods"][BATCH_ADD] == 1


def test_a_refusal_that_stands_fails_the_file_and_keeps_no_document(
    tmp_path: Path, sandbox: RunningSandbox
) -> None:
    install = demo_install(tmp_path, sandbox)
    # Kompliant makes the requirement inactive after the agent cached it as open.
    changed = sandbox_admin(
        sandbox,
        "admin",
        {
            "op": "set_required_document_status",
            "required_document_id": RD_ADDRESS,
            "status": "INACTIVE",
        },
    )
    assert changed.status_code == 200
    set_faults(sandbox, plain_refusals=True)
    drop(
        install.workflow, [("Proof of address", "bill.pdf", b"%PDF-1.4 no longer wanted\n%%EOF\n")]
    )
    done = install.cli("run", "--once", timeout=120)
    assert done.returncode == 0, done.stderr
    failed = install.workflow / "Proof of address" / AGENT_OWNED.failed_dir
    assert sorted(os.listdir(failed)) == ["bill.pdf", "bill.pdf.error.txt"]
    note = (failed / "bill.pdf.error.txt").read_text(encoding="utf-8")
    assert RD_ADDRESS in note and PLAIN.rstrip(".") in note
    state = sandbox_state(sandbox)
    assert [d for d in state["documents"] if d["deleted_at"] is None] == []
    assert [f for f in state["fulfillments"] if f["deleted_at"] is None] == []
