"""The turn a file's content takes, taken by the engine before the file goes to an upload
process (small files), or asked for by the process (larger ones, or content that changed).

Upload processes run against the sandbox over real HTTP on loopback; the messages the
engine receives from them are recorded.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.engine import upload_wire
from agent.engine.locate import InPlace
from agent.engine.pipeline import Job
from agent.engine.same_content import AHEAD_BYTES, content_key, key_ahead
from agent.engine.upload_pool import UploadProcesses
from agent.engine.upload_wire import BATCH, TURN, Connection
from agent.journal import Entry, Journal, Outcome
from agent.kompliant.auth import Credentials
from agent.kompliant.client import KompliantClient
from tests.engine.test_upload_processes import claimed, live_documents, start_processes
from tests.kit.sandbox import DEMO_SUBJECT, RD_BANK

WORKFLOW = "w_DemoApplication000000001"
SMALL = b"\x89PNG\r\n\x1a\n a small scan " + b"." * 2000 + b"IEND\xaeB`\x82"
LARGE = b"\x89PNG\r\n\x1a\n a large scan " + b"." * AHEAD_BYTES + b"IEND\xaeB`\x82"


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal.open(tmp_path / "state" / "journal.sqlite3") as opened:
        yield opened


def test_the_key_of_a_small_file_is_known_ahead(tmp_path: Path) -> None:
    small, large = tmp_path / "small.png", tmp_path / "large.png"
    small.write_bytes(SMALL)
    large.write_bytes(LARGE)
    (tmp_path / "link.png").symlink_to(small)

    assert key_ahead(small, WORKFLOW, [RD_BANK]) == content_key(
        hashlib.sha256(SMALL).hexdigest(), WORKFLOW, [RD_BANK]
    )
    assert key_ahead(large, WORKFLOW, [RD_BANK]) is None
    assert key_ahead(tmp_path / "link.png", WORKFLOW, [RD_BANK]) is None
    assert key_ahead(tmp_path / "gone.png", WORKFLOW, [RD_BANK]) is None


def asked_turns(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The turns the upload processes ask the engine for, recorded."""
    asked: list[Any] = []

    def recording(conn: Connection) -> tuple[Any, ...]:
        message = upload_wire.receive(conn)
        told = message[1] if message[0] == BATCH else [message]
        asked.extend(m[1] for m in told if m[0] == TURN)
        return message

    monkeypatch.setattr("agent.engine.upload_pool.receive", recording)
    return asked


def run_together(processes: UploadProcesses, entries: list[Entry]) -> list[Outcome]:
    job = Job(DEMO_SUBJECT, {RD_BANK: "Bank statements"})
    outcomes: list[Outcome] = []
    threads = [
        threading.Thread(target=lambda e=e: outcomes.append(processes.run(e, job).outcome))
        for e in entries
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


@pytest.mark.parametrize("content", [SMALL, LARGE], ids=["small", "large"])
def test_two_copies_handed_over_together_are_uploaded_once(
    monkeypatch: pytest.MonkeyPatch,
    demo_credentials: Credentials,
    client: KompliantClient,
    journal: Journal,
    tmp_path: Path,
    content: bytes,
) -> None:
    asked = asked_turns(monkeypatch)
    folder = tmp_path / "Bank statements"
    copies = [claimed(journal, folder, name, content) for name in ("a.png", "b.png")]
    processes = start_processes(demo_credentials, journal, InPlace(journal), count=2, uploads=2)
    try:
        outcomes = run_together(processes, copies)
    finally:
        processes.stop()

    assert outcomes == [Outcome.DONE, Outcome.DONE]
    uploaded = live_documents(client, "a.png") + live_documents(client, "b.png")
    assert len(uploaded) == 1  # the other one: "not uploaded again"
    messages = sorted(e.message or "" for e in (journal.get(c.id) for c in copies) if e)
    assert messages[1].startswith("uploaded as") and "not uploaded again" in messages[0]
    # a small file's turn was taken by the engine before it was handed over: none asked
    key = content_key(hashlib.sha256(content).hexdigest(), WORKFLOW, [RD_BANK])
    assert asked == ([] if content == SMALL else [key, key])


def test_content_changed_since_the_engine_read_it_asks_for_its_own_turn(
    monkeypatch: pytest.MonkeyPatch,
    demo_credentials: Credentials,
    client: KompliantClient,
    journal: Journal,
    tmp_path: Path,
) -> None:
    asked = asked_turns(monkeypatch)
    entry = claimed(journal, tmp_path / "Bank statements", "c.png", SMALL)
    assert entry.claimed_path is not None
    path = entry.claimed_path

    def read_then_changed(*args: Any) -> Any:  # the file changes right after the engine read it
        key = key_ahead(*args)
        path.write_bytes(SMALL.replace(b"small", b"other"))
        os.utime(path, ns=(1, 1))
        return key

    monkeypatch.setattr("agent.engine.upload_pool.key_ahead", read_then_changed)
    processes = start_processes(demo_credentials, journal, InPlace(journal))
    try:
        outcomes = run_together(processes, [entry])
    finally:
        processes.stop()

    assert outcomes == [Outcome.DONE]
    changed = hashlib.sha256(SMALL.replace(b"small", b"other")).hexdigest()
    assert asked == [content_key(changed, WORKFLOW, [RD_BANK])]


def test_a_small_file_that_grows_or_shrinks_as_it_is_read_has_no_key_ahead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent.engine import same_content

    path = tmp_path / "scan.png"
    path.write_bytes(SMALL)
    opened = same_content.open_regular
    for change in (SMALL + b"more", SMALL[:100]):

        def then_changed(at: Path, change: bytes = change) -> Any:
            found = opened(at)
            at.write_bytes(change)  # after the stat, before the read
            return found

        monkeypatch.setattr(same_content, "open_regular", then_changed)
        assert key_ahead(path, WORKFLOW, [RD_BANK]) is None
    monkeypatch.setattr(same_content, "open_regular", opened)
    assert key_ahead(path, WORKFLOW, [RD_BANK]) == content_key(
        hashlib.sha256(SMALL[:100]).hexdigest(), WORKFLOW, [RD_BANK]
    )
