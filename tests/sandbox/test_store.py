"""The sandbox's saved state: what a save writes, what a restart reads back, and the
tables' change tracking and fulfillment indexes the store and the methods rely on."""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from agent.sandbox import DEMO_FIXTURE, start_sandbox
from agent.sandbox import store as store_module
from agent.sandbox.state import Document, FixtureError, Fulfillment
from agent.sandbox.store import LEGACY_STATE_FILE, STATE_FILE, StateStore
from agent.sandbox.tables import FulfillmentTable, Table
from tests.conftest import (
    DEMO_SUBJECT,
    DEMO_WORKFLOW,
    RD_ADDRESS,
    RD_BANK,
    create_document,
    sandbox_admin,
    sandbox_call,
)
from tests.kit.processes import reaped
from tests.sandbox.conftest import printed_credentials


def _poll(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _saved_ids(data_dir: Path, table: str) -> list[str]:
    """The ids a table holds on disk, read by a connection of its own."""
    with sqlite3.connect(f"file:{data_dir / STATE_FILE}?mode=ro", uri=True) as connection:
        return [key for (key,) in connection.execute(f"SELECT id FROM {table} ORDER BY rowid")]


def _document(index: int) -> Document:
    return Document(
        document_id=f"d_Seeded{index:015d}",
        subject_record_id=DEMO_SUBJECT,
        file_name=f"seeded-{index}.pdf",
        file_size=10,
        content_type="application/pdf",
        key=f"{DEMO_SUBJECT}/d_Seeded{index:015d}.pdf",
        upload_status="COMPLETED",
        hash="00" * 32,
    )


def _fixture_with_documents(folder: Path, count: int) -> Path:
    raw = json.loads(DEMO_FIXTURE.read_text(encoding="utf-8"))
    raw["documents"] = [vars(_document(i)) for i in range(count)]
    fixture = folder / "many.json"
    fixture.write_text(json.dumps(raw), encoding="utf-8")
    return fixture


# ---------------------------------------------------------------- tables


def test_a_table_remembers_every_id_it_changed_however_it_was_changed() -> None:
    table: Table[int] = Table([("a", 1), ("b", 2)])
    assert table.take_changed() == [("a", 1), ("b", 2)]
    assert table.take_changed() == []
    table["a"] = 10
    del table["b"]
    table.update({"c": 3}, d=4)
    table.setdefault("e", 5)
    table.setdefault("a", 99)  # present: no change
    assert table.pop("c") == 3
    assert table.pop("missing", None) is None
    table |= {"f": 6}
    assert table.take_changed() == [
        ("a", 10),
        ("b", None),
        ("c", None),
        ("d", 4),
        ("e", 5),
        ("f", 6),
    ]
    table.clear()
    assert sorted(table.take_changed()) == [("a", None), ("d", None), ("e", None), ("f", None)]
    assert dict(table) == {}


def test_the_fulfillment_indexes_agree_with_reading_them_all() -> None:
    """Random adds, decisions, soft and hard deletes; every index answer is checked
    against a plain scan of the table."""
    table: FulfillmentTable[Fulfillment] = FulfillmentTable()
    chance = random.Random(7)
    documents = [f"d_{i}" for i in range(6)]
    rds = ["rd_a", "rd_b", "rd_c"]
    decisions = ["NEEDS_REVIEW", "IN_REVIEW", "ACCEPTED", "REJECTED"]
    for step in range(600):
        action = chance.random()
        if action < 0.4 or not table:
            key = f"f_{step}"
            table[key] = Fulfillment(
                key, "w_x", chance.choice(rds), chance.choice(documents), chance.choice(decisions)
            )
        elif action < 0.7:
            key = chance.choice(list(table))
            table[key] = replace(table[key], decision_status=chance.choice(decisions))
        elif action < 0.9:
            key = chance.choice(list(table))
            table[key] = replace(table[key], deleted_at="2025-01-01T00:00:00.000Z")
        else:
            del table[chance.choice(list(table))]
        for document_id in documents:
            assert table.of_document(document_id) == [
                f for f in table.values() if f.document_id == document_id
            ]
        for rd_id in rds:
            assert table.of_required_document(rd_id) == [
                f for f in table.values() if f.required_document_id == rd_id
            ]
            assert table.live_decisions(rd_id) == {
                f.decision_status
                for f in table.values()
                if f.required_document_id == rd_id and f.deleted_at is None
            }


# ---------------------------------------------------------------- saving


def test_a_save_writes_only_what_changed_however_large_the_state(tmp_path: Path) -> None:
    fixture = _fixture_with_documents(tmp_path, 2000)
    store = StateStore.open(tmp_path / "data", fixture, now=time.time())
    try:
        assert len(_saved_ids(tmp_path / "data", "documents")) == 2000
        assert store.save() == 0
        with store.state.lock:
            first = store.state.documents["d_Seeded000000000000000"]
            store.state.documents[first.document_id] = replace(first, comment="seen")
            store.state.documents["d_Added"] = replace(first, document_id="d_Added")
            store.state.changed()
        assert store.save() == 2
        assert _saved_ids(tmp_path / "data", "documents")[-1] == "d_Added"
    finally:
        store.stop()
    reopened = StateStore.open(tmp_path / "data", fixture, now=time.time())
    try:
        assert reopened.state.documents["d_Seeded000000000000000"].comment == "seen"
        assert list(reopened.state.documents)[-1] == "d_Added"
        assert len(reopened.state.documents) == 2001
    finally:
        reopened.stop()


def test_a_restart_reads_back_exactly_what_was_saved(tmp_path: Path) -> None:
    with start_sandbox(tmp_path) as first:
        kept = create_document(first, b"%PDF-kept")
        dropped = create_document(first, b"%PDF-dropped", file_name="dropped.pdf")
        pending = create_document(first, b"%PDF-never sent", file_name="late.pdf", upload=False)
        links = [
            {"document_id": kept, "required_document_id": RD_BANK},
            {"document_id": dropped, "required_document_id": RD_ADDRESS},
        ]
        added = sandbox_call(
            first,
            "workflow.requiredDocument.fulfillment.batchAdd",
            {"workflow_id": DEMO_WORKFLOW, "fulfillments": links},
        )
        assert [r["status"] for r in added.json()["results"]] == ["SUCCESS", "SUCCESS"]
        accepted = added.json()["results"][0]["data"]["fulfillment"]["fulfillment_id"]
        sandbox_call(
            first,
            "workflow.requiredDocument.fulfillment.update",
            {"fulfillment_id": accepted, "decision_status": "ACCEPTED"},
        )
        assert sandbox_call(first, "document.delete", {"document_id": dropped}).status_code == 200
        sandbox_call(
            first,
            "workflow.requiredDocument.batchRequestDocument",
            {
                "workflow_id": DEMO_WORKFLOW,
                "required_documents": [{"required_document_id": RD_BANK}],
            },
        )
        sandbox_admin(
            first,
            "admin",
            {"op": "add_workflow", "subject_record_id": DEMO_SUBJECT, "type": "UNDERWRITING"},
        )
        with first.state.lock:
            first.state.allowed_extensions = {"pdf": "application/pdf", "tif": "image/tiff"}
            first.state.changed()
        before = sandbox_admin(first, "state").json()
    with start_sandbox(tmp_path) as second:
        after = sandbox_admin(second, "state").json()
        assert after == before
        assert second.state.required_documents[RD_BANK].status == "COMPLETED"
        assert second.state.required_documents[RD_ADDRESS].status == "ACTIVE"
        assert second.state.documents[pending].upload_status == "PENDING"
        assert second.state.fulfillments.live_decisions(RD_BANK) == {"ACCEPTED"}


def test_changes_reach_the_disk_while_running_and_survive_a_kill(tmp_path: Path) -> None:
    """No stop, no flush: the writer thread saves soon after a change, so a sandbox
    killed with SIGKILL comes back with it."""
    data = tmp_path / "data"
    with reaped(
        subprocess.Popen(
            [sys.executable, "-m", "agent", "sandbox", "--port", "0", "--data", str(data)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    ) as process:
        _, credentials = printed_credentials(process)
        auth = credentials.auth()
        with httpx.Client(base_url=credentials.api_url, auth=auth, timeout=30) as client:
            created = client.post(
                "/document.create",
                json={
                    "subject_record_id": DEMO_SUBJECT,
                    "file_name": "kept.pdf",
                    "file_size_in_bytes": 4,
                },
            )
        document_id = created.json()["data"]["document"]["document_id"]
        assert _poll(lambda: document_id in _saved_ids(data, "documents"))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    with start_sandbox(data) as again:
        assert again.state.documents[document_id].file_name == "kept.pdf"


def test_a_save_that_cannot_write_keeps_its_changes_for_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT", 0.05)
    store = StateStore.open(tmp_path, DEMO_FIXTURE, now=time.time())
    try:
        blocker = sqlite3.connect(tmp_path / STATE_FILE, isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        with store.state.lock:
            store.state.documents["d_Blocked"] = _document(1)
            store.state.changed()
        with pytest.raises(sqlite3.OperationalError):
            store.save()
        blocker.execute("ROLLBACK")
        blocker.close()
        assert store.save() == 1
        assert _saved_ids(tmp_path, "documents") == ["d_Blocked"]
    finally:
        store.stop()


# ---------------------------------------------------------------- opening


def test_a_data_folder_saved_as_state_json_is_carried_over(tmp_path: Path) -> None:
    raw = json.loads(_fixture_with_documents(tmp_path, 3).read_text(encoding="utf-8"))
    raw["workflows"][0]["state"] = "ENDED"
    data = tmp_path / "data"
    data.mkdir()
    (data / LEGACY_STATE_FILE).write_text(json.dumps(raw), encoding="utf-8")
    with start_sandbox(data) as first:
        assert first.state.workflows[DEMO_WORKFLOW].state == "ENDED"
        assert len(first.state.documents) == 3
        new = create_document(first, b"%PDF-after the move")
    assert _saved_ids(data, "documents")[-1] == new
    with start_sandbox(data) as second:
        assert len(second.state.documents) == 4
        assert second.state.workflows[DEMO_WORKFLOW].state == "ENDED"


def test_a_database_whose_first_save_never_finished_is_seeded_again(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    with sqlite3.connect(data / STATE_FILE) as connection:
        connection.execute("CREATE TABLE documents (id TEXT PRIMARY KEY, record TEXT NOT NULL)")
    with start_sandbox(data) as sandbox:
        assert DEMO_WORKFLOW in sandbox.state.workflows
        assert sandbox.demo_credentials() is not None


def test_a_broken_database_says_which_file(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / STATE_FILE).write_bytes(b"this is not a database" * 100)
    with pytest.raises(FixtureError, match=r"state\.sqlite3"):
        start_sandbox(data)


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ("UPDATE accounts SET record = '[1, 2]'", "accounts[0] must be a JSON object"),
        (
            "UPDATE workflows SET record = '7' WHERE rowid = (SELECT max(rowid) FROM workflows)",
            "must be a JSON object",
        ),
        ("UPDATE documents SET record = 'not json'", "Expecting value"),
        (
            "UPDATE required_documents SET record = "
            "json_set(record, '$.workflow_id', 'w_Gone') WHERE rowid = 1",
            "required_documents[0]: unknown workflow 'w_Gone'",
        ),
        ("UPDATE required_documents SET record = 'null'", "required_documents[0] must be"),
    ],
)
def test_a_saved_record_that_no_longer_reads_says_which_file(
    tmp_path: Path, change: str, fragment: str
) -> None:
    with start_sandbox(tmp_path) as sandbox:
        create_document(sandbox)
        sandbox_admin(  # the last workflow, with no required documents
            sandbox, "admin", {"op": "add_workflow", "subject_record_id": DEMO_SUBJECT, "type": "X"}
        )
    with sqlite3.connect(tmp_path / STATE_FILE) as connection:
        connection.execute(change)
    with pytest.raises(FixtureError, match=r"state\.sqlite3") as caught:
        start_sandbox(tmp_path)
    assert fragment in str(caught.value)
