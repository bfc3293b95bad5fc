"""Folders are known by identity: renames and moves while files are in flight.

A running agent, a batch of files on their way, and the folders changed under it as a
person changes them in a file manager: the workflow folder renamed, a requirement folder
renamed, a claimed file renamed inside ``.processing/``, the whole root deleted. Every
file must settle in its folder's current place, no old path may come back, nothing
uploaded may be called failed, and Kompliant must hold each file once.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent.owned_names import AGENT_OWNED
from tests.conftest import RD_BANK
from tests.engine.conftest import AgentHome, Kompliant, documents_in, drop, files_in
from tests.kit.agent import AgentProcess
from tests.kit.sandbox import sandbox_admin
from tests.kit.wait import wait_for

PROCESSING_DIR = AGENT_OWNED.processing_dir
CLAIM_SUFFIX = AGENT_OWNED.claim_suffix

BATCH = 20
PDF = b"%PDF-1.4\n"


def pdf(text: bytes) -> bytes:
    """A small PDF: the signature, ``text``, and the end a whole PDF has."""
    return PDF + text + b"\n%%EOF\n"


class NeverThere:
    """Watches (every 20 ms, on a thread) that none of ``paths`` exists."""

    def __init__(self, *paths: Path) -> None:
        self.paths = paths
        self.seen: list[Path] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(0.02):
            self.seen += [p for p in self.paths if p.exists() and p not in self.seen]

    def stop(self) -> list[Path]:
        self._stop.set()
        self._thread.join(timeout=5)
        return self.seen


def _slow(home: AgentHome, latency_ms: int) -> None:
    answer = sandbox_admin(home.sandbox, "faults", {"latency_ms": latency_ms, "on_upload": True})
    assert answer.status_code == 200, answer.text


def _batch(folder: Path, tag: str, count: int = BATCH) -> list[str]:
    names = [f"{tag}-{n:02d}.pdf" for n in range(count)]
    for name in names:
        drop(folder, name, pdf(f"{tag} {name} {time.time_ns()}".encode()))
    return names


def _done(folder: Path) -> set[str]:
    """The documents in ``folder``'s done/: not their receipts, and not a receipt still
    being written (a hidden temporary file, there before the document is moved)."""
    return set(documents_in(folder / "done"))


def _nothing_failed(folder: Path, agent: AgentProcess) -> None:
    assert files_in(folder / "failed") == [], agent.output()
    assert "failed:" not in agent.output(), agent.output()


def _midway(folder: Path, agent: AgentProcess) -> None:
    """Wait until part of the batch is done and part still in the works."""
    wait_for(
        lambda: len(_done(folder)) >= 3,
        timeout=60,
        what="the first files of the batch to be done",
        process=agent.process,
    )


def _idle(home: AgentHome, agent: AgentProcess) -> dict[str, Any]:
    """Wait until ``status --json`` says idle with no problem (the status follows the
    files within a couple of seconds); that status."""

    def idle() -> dict[str, Any]:
        status = home.status()
        return status if status["state"] == "idle" and not status["problems"] else {}

    return wait_for(idle, timeout=30, interval=0.3, what="an idle status", process=agent.process)


def _renamed_mid_batch(
    agent_home: AgentHome,
    kompliant: Kompliant,
    rename: Callable[[AgentHome], tuple[Path, Path, Path]],
) -> None:
    agent_home.write_config()
    agent_home.add_workflow()
    agent = agent_home.start()
    _slow(agent_home, 60)
    bank = agent_home.folder("Bank statements")
    names = _batch(bank, "batch")
    _midway(bank, agent)
    old, _new, new_bank = rename(agent_home)
    watch = NeverThere(old)
    try:
        _slow(agent_home, 0)
        try:
            wait_for(
                lambda: _done(new_bank) >= set(names),
                timeout=90,
                what="every file of the batch in done/ in the new place",
                process=agent.process,
            )
        except AssertionError:
            print(agent.output(), sorted(set(names) - _done(new_bank)))
            raise
        assert files_in(new_bank / PROCESSING_DIR) == [], files_in(new_bank / PROCESSING_DIR)
        _nothing_failed(new_bank, agent)
    finally:
        seen = watch.stop()
    assert seen == [], f"the old path came back: {seen}\n{agent.output()}"
    assert not old.exists()
    documents = [d for d in kompliant.documents() if d.deleted_at is None]
    assert len(documents) == BATCH, [d.file_name for d in documents]
    assert sorted(d.file_name for d in documents) == sorted(names)
    assert len(kompliant.fulfillments(RD_BANK)) == BATCH
    status = _idle(agent_home, agent)
    assert all(f["failed"] == 0 for f in status["folders"]), status
    assert agent.process.poll() is None


def test_renaming_the_workflow_folder_mid_batch_settles_every_file_in_the_new_place(
    agent_home: AgentHome, kompliant: Kompliant
) -> None:
    def rename(home: AgentHome) -> tuple[Path, Path, Path]:
        old = home.workflow
        new = old.with_name("Demo Ltd renamed")
        old.rename(new)
        return old, new, new / "Bank statements"

    _renamed_mid_batch(agent_home, kompliant, rename)


def test_renaming_a_requirement_folder_mid_batch_settles_every_file_in_the_new_place(
    agent_home: AgentHome, kompliant: Kompliant
) -> None:
    def rename(home: AgentHome) -> tuple[Path, Path, Path]:
        old = home.folder("Bank statements")
        new = old.with_name("Statements 2024")
        old.rename(new)
        return old, new, new

    _renamed_mid_batch(agent_home, kompliant, rename)


def test_a_file_renamed_inside_processing_during_its_upload_is_uploaded_once(
    agent_home: AgentHome, kompliant: Kompliant
) -> None:
    agent_home.write_config()
    agent_home.add_workflow()
    agent = agent_home.start()
    bank = agent_home.folder("Bank statements")
    hold = {"method": "upload", "action": "hang", "seconds": 3}
    answer = sandbox_admin(agent_home.sandbox, "faults", {"script": [hold]})
    assert answer.status_code == 200, answer.text
    drop(bank, "scan.pdf", pdf(b"renamed while it is sent"))
    processing = bank / PROCESSING_DIR
    wait_for(
        lambda: (
            "scan.pdf" in files_in(processing)
            and not sandbox_admin(agent_home.sandbox, "faults").json()["script"]
        ),
        what="the upload to be under way",
        process=agent.process,
    )
    (processing / "scan.pdf").rename(processing / "Scan of March.pdf")
    wait_for(
        lambda: _done(bank),
        timeout=60,
        what="the renamed file in done/",
        process=agent.process,
    )
    assert _done(bank) == {"Scan of March.pdf"}, agent.output()
    assert files_in(processing) == []  # no claim record left behind
    _nothing_failed(bank, agent)
    documents = [d for d in kompliant.documents() if d.deleted_at is None]
    assert len(documents) == 1 and len(kompliant.fulfillments(RD_BANK)) == 1
    _idle(agent_home, agent)


def test_a_deleted_root_stays_deleted_and_status_says_so_until_it_is_back(
    agent_home: AgentHome,
) -> None:
    agent_home.write_config(agent={"review_interval": 10})
    agent_home.add_workflow()
    agent = agent_home.start()
    bank = agent_home.folder("Bank statements")
    drop(bank, "statement.pdf", pdf(b"before the root went"))
    wait_for(lambda: _done(bank), what="a first file done", process=agent.process)
    root = agent_home.root
    shutil.rmtree(root)
    deleted_at = time.monotonic()
    watch = NeverThere(root)
    try:
        # a review refresh every 2 s, for 12 s: each one used to write a notice
        while time.monotonic() - deleted_at < 12:
            agent_home.request_refresh()
            status = agent_home.status_file()
            if time.monotonic() - deleted_at > 4:
                assert status.get("state") == "error", status
            time.sleep(2)
    finally:
        seen = watch.stop()
    assert seen == [] and not root.exists(), agent.output()
    status = agent_home.status()
    assert status["state"] == "error" and any("Kompliant" in p for p in status["problems"])
    assert agent.process.poll() is None

    added = agent_home.cli("add-workflow", "w_DemoApplication000000001", "--label", "Demo Ltd")
    assert added.returncode == 0, added.stderr
    wait_for(
        lambda: agent_home.status_file().get("state") == "idle",
        timeout=30,
        what="the agent to see the root back",
        process=agent.process,
    )
    drop(bank, "after.pdf", pdf(b"after the root came back"))
    wait_for(lambda: "after.pdf" in _done(bank), timeout=30, what="a file after the root came back")
    notices = [n for n in files_in(root) if n.startswith("_")]
    assert notices == []
    assert json.loads((agent_home.workflow / ".kompliant-folder.json").read_text())["kind"]
    assert not any(n.endswith(CLAIM_SUFFIX) for n in files_in(bank / PROCESSING_DIR))
