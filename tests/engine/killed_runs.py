"""What a run killed after sending a file leaves behind, made by hand for a restart to meet.

A demo install, an owner whose process is gone, and a file claimed by that owner with the
journal at CREATED and its upload sent to Kompliant — the state the restart tests start
from before they add what their window leaves (a link made, later steps recorded).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from agent.journal import Journal, Step
from agent.kompliant.client import KompliantClient
from agent.sandbox import RunningSandbox
from agent.settle import ClaimOwner, claim, current_owner
from agent.upload.identity import identify
from agent.upload.presigned import send_form
from tests.conftest import DEMO_SUBJECT, DEMO_WORKFLOW, RD_BANK
from tests.engine.crashkit import Install


def demo_install(tmp_path: Path, sandbox: RunningSandbox) -> Install:
    """An install with the sandbox's demo workflow and two workers."""
    credentials = sandbox.demo_credentials()
    assert credentials is not None
    install = Install.create(tmp_path / "home", tmp_path / "root", credentials, workers=2)
    install.add_workflow()
    return install


def dead_owner() -> ClaimOwner:
    """An owner on this host whose process has ended."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    owner = current_owner()
    return ClaimOwner(owner.instance_id + "-dead", owner.host, child.pid, "")


def sent_before_a_kill(journal: Journal, client: KompliantClient, source: Path) -> tuple[int, str]:
    """Claim ``source`` (a Bank statements file) for a dead owner, record it up to CREATED
    and send its upload; return (journal entry id, document id)."""
    entry = journal.begin(
        source,
        folder_key=f"{DEMO_WORKFLOW}/{RD_BANK}",
        workflow_id=DEMO_WORKFLOW,
        required_document_ids=[RD_BANK],
    )
    taken = claim(source, owner=dead_owner())
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
    created = client.create_document(DEMO_SUBJECT, source.name, identity.size)
    journal.advance(entry.id, Step.CREATED, document_id=created.document_id)
    send_form(created.form, taken.path, file_name=source.name, identity=identity)
    return entry.id, created.document_id
