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
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent.journal import Journal, Step
from agent.kompliant.client import KompliantClient
from agent.sandbox import RunningSandbox
from agent.settle import ClaimOwner, claim, current_owner
from agent.upload.identity import identify
from agent.upload.presigned import send_form
from tests.conftest import DEMO_SUBJECT, DEMO_WORKFLOW, RD_BANK
from tests.engine.crashkit import Dropped, Install, check_settled_once, journal_steps
from tests.engine.installs import killed_after
from tests.kit.sandbox import sandbox_state, set_faults
from tests.kit.wait import wait_for

CREATE = "document.create"
BATCH_ADD = "workflow.requiredDocument.fulfillment.batchAdd"


def _install(tmp_path: Path, sandbox: RunningSandbox) -> Install:
    credentials = sandbox.demo_credentials()
    assert credentials is not None
    install = Install.create(tmp_path / "home", tmp_path / "root", credentials, workers=2)
    install.add_workflow()
    return install


def _dead_owner() -> ClaimOwner:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    owner = current_owner()
    return ClaimOwner(owner.instance_id + "-dead", owner.host, child.pid, "")


def _stats(sandbox: RunningSandbox, reset: bool = False) -> dict[str, Any]:
    url = f"{sandbox.base_url}/_sandbox/stats" + ("/reset" if reset else "")
    answer = httpx.post(url, json={}, timeout=30) if reset else httpx.get(url, timeout=30)
    answer.raise_for_status()
    data: dict[str, Any] = answer.json()
    return data


@pytest.mark.parametrize("linked", [False, True], ids=["stored", "stored-and-linked"])
def test_killed_between_a_stored_upload_and_linked_resumes_from_created(
    tmp_path: Path, sandbox: RunningSandbox, linked: bool
) -> None:
    install = _install(tmp_path, sandbox)
    credentials = sandbox.demo_credentials()
    assert credentials is not None
    folder = install.workflow / "Bank statements"
    content = b"%PDF-1.4 stored before the kill\n%%EOF\n"
    source = folder / "statement.pdf"
    source.write_bytes(content)

    # What a run killed after the upload was stored (and maybe after batchAdd's answer)
    # leaves: the journal at CREATED; on Kompliant the document, stored, maybe linked.
    with Journal.open(install.journal) as journal, KompliantClient(credentials) as client:
        entry = journal.begin(
            source,
            folder_key=f"{DEMO_WORKFLOW}/{RD_BANK}",
            workflow_id=DEMO_WORKFLOW,
            required_document_ids=[RD_BANK],
        )
        taken = claim(source, owner=_dead_owner())
        assert taken is not None
        journal.advance(entry.id, Step.STABLE, claimed_path=taken.path)
        identity = identify(taken.path)
        journal.advance(
            entry.id,
            Step.HASHED,
            sha256=identity.sha256,
            size=identity.size,
            mtime_ns=identity.mtime_ns,
        )
        created = client.create_document(DEMO_SUBJECT, "statement.pdf", identity.size)
        journal.advance(entry.id, Step.CREATED, document_id=created.document_id)
        send_form(created.form, taken.path, file_name="statement.pdf", identity=identity)
        assert client.get_document(created.document_id).completed
        if linked:
            (made,) = client.add_fulfillments(DEMO_WORKFLOW, [(created.document_id, RD_BANK)])
            assert made.ok and made.fulfillment_id

    _stats(sandbox, reset=True)
    done = install.cli("run", "--once", timeout=120)
    assert done.returncode == 0, done.stderr
    sha256 = hashlib.sha256(content).hexdigest()
    check_settled_once(
        install.workflow,
        [Dropped("Bank statements", source.name, sha256, 0)],
        sandbox_state(sandbox),
    )
    methods = _stats(sandbox)["methods"]
    assert methods.get(CREATE, 0) == 0  # the stored document went on: nothing sent again
    assert methods.get(BATCH_ADD, 0) == 1  # once: made now, or refused and read back


def test_killed_while_kompliant_has_not_stored_the_upload_waits_for_the_same_document(
    tmp_path: Path, sandbox: RunningSandbox
) -> None:
    install = _install(tmp_path, sandbox)
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
        assert _stats(sandbox)["methods"][CREATE] == 1

        done = install.cli("run", "--once", timeout=120)
        assert done.returncode == 0, done.stderr
    sha256 = hashlib.sha256(content).hexdigest()
    check_settled_once(
        install.workflow,
        [Dropped("Bank statements", "statement.pdf", sha256, 0)],
        sandbox_state(sandbox),
    )
    assert _stats(sandbox)["methods"][CREATE] == 1  # the restart waited for that document
