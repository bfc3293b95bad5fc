"""The windows between the upload and LINKED, where a kill leaves fewer journal records.

A file Kompliant stores at once goes from CREATED to LINKED in one commit: neither
UPLOADED nor VERIFIED is written on the way (agent/engine/pipeline.py). A kill in that
window leaves the entry at CREATED with the document stored — and maybe linked — on
Kompliant; the restart must ask ``document.get`` and go on, never send the file again or
make a second document or fulfillment. A file Kompliant does not store at once is
recorded as UPLOADED before the agent waits, so a kill during the wait resumes waiting
for the same document.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from agent.journal import Journal
from agent.kompliant.client import KompliantClient
from agent.sandbox import RunningSandbox
from tests.conftest import DEMO_WORKFLOW, RD_BANK
from tests.engine.crashkit import Dropped, check_settled_once, journal_steps
from tests.engine.installs import killed_after
from tests.engine.killed_runs import demo_install, sent_before_a_kill
from tests.kit.sandbox import sandbox_admin, sandbox_state, sandbox_stats, set_faults
from tests.kit.wait import wait_for

CREATE = "document.create"
BATCH_ADD = "workflow.requiredDocument.fulfillment.batchAdd"


@pytest.mark.parametrize("linked", [False, True], ids=["stored", "stored-and-linked"])
def test_killed_between_a_stored_upload_and_linked_resumes_from_created(
    tmp_path: Path, sandbox: RunningSandbox, linked: bool
) -> None:
    install = demo_install(tmp_path, sandbox)
    credentials = sandbox.demo_credentials()
    assert credentials is not None
    folder = install.workflow / "Bank statements"
    content = b"%PDF-1.4 stored before the kill\n%%EOF\n"
    source = folder / "statement.pdf"
    source.write_bytes(content)

    # What a run killed after the upload was stored (and maybe after batchAdd's answer)
    # leaves: the journal at CREATED; on Kompliant the document, stored, maybe linked.
    with Journal.open(install.journal) as journal, KompliantClient(credentials) as client:
        _, document_id = sent_before_a_kill(journal, client, source)
        assert client.get_document(document_id).completed
        if linked:
            (made,) = client.add_fulfillments(DEMO_WORKFLOW, [(document_id, RD_BANK)])
            assert made.ok and made.fulfillment_id

    sandbox_admin(sandbox, "stats/reset", {}).raise_for_status()
    done = install.cli("run", "--once", timeout=120)
    assert done.returncode == 0, done.stderr
    sha256 = hashlib.sha256(content).hexdigest()
    check_settled_once(
        install.workflow,
        [Dropped("Bank statements", source.name, sha256, 0)],
        sandbox_state(sandbox),
    )
    methods = sandbox_stats(sandbox)["methods"]
    assert methods.get(CREATE, 0) == 0  # the stored document went on: nothing sent again
    assert methods.get(BATCH_ADD, 0) == 1  # once: made now, or refused and read back


def test_killed_while_kompliant_has_not_stored_the_upload_waits_for_the_same_document(
    tmp_path: Path, sandbox: RunningSandbox
) -> None:
    install = demo_install(tmp_path, sandbox)
    set_faults(sandbox, completion_delay=3.0)
    folder = install.workflow / "Bank statements"
    content = b"%PDF-1.4 stored a while after its upload\n%%EOF\n"
    (folder / "statement.pdf").write_bytes(content)
    with killed_after(install):
        agent = install.start()
        wait_for(
            lambda: journal_steps(install.journal)["uploaded"] or not agent.alive(),
            timeout=60,
            what="the upload to be recorded while Kompliant has not stored it",
        )
        agent.kill()
        assert journal_steps(install.journal)["uploaded"] == 1, agent.output()
        assert sandbox_stats(sandbox)["methods"][CREATE] == 1

        done = install.cli("run", "--once", timeout=120)
        assert done.returncode == 0, done.stderr
    sha256 = hashlib.sha256(content).hexdigest()
    check_settled_once(
        install.workflow,
        [Dropped("Bank statements", "statement.pdf", sha256, 0)],
        sandbox_state(sandbox),
    )
    assert sandbox_stats(sandbox)["methods"][CREATE] == 1  # the restart waited for that document
