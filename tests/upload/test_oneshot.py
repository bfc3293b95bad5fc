"""upload_file() against the sandbox: the whole path, and what it leaves behind on failure."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from agent.errors import BadRequest, FileChanged, RuleViolation, WorkflowEnded
from agent.kompliant.client import KompliantClient
from agent.kompliant.models import CreatedDocument
from agent.sandbox.server import RunningSandbox
from agent.upload.oneshot import upload_file
from tests.kit.clock import FakeClock
from tests.kit.sandbox import set_faults
from tests.realwriters import documents
from tests.upload.conftest import (
    ADDRESS,
    BANK,
    ENDED_RD,
    ENDED_WORKFLOW,
    INACTIVE,
    SUBJECT,
    WORKFLOW,
    live_documents,
)


def write(tmp_path: Path, name: str = "statement.pdf", size: int = 40_000) -> Path:
    path = tmp_path / name
    path.write_bytes(documents.pdf(os.urandom(8).hex(), size))
    return path


def test_upload_verify_and_link_two_requirements(tmp_path: Path, client: KompliantClient) -> None:
    path = write(tmp_path)
    result = upload_file(client, path, workflow_id=WORKFLOW, required_document_ids=[BANK, ADDRESS])
    assert result.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    document = client.get_document(result.document_id)
    assert document.completed and document.subject_record_id == SUBJECT
    assert set(result.fulfillment_ids) == {BANK, ADDRESS}
    for rd, fulfillment_id in result.fulfillment_ids.items():
        [listed] = client.list_fulfillments(rd)
        assert (listed.fulfillment_id, listed.document_id) == (fulfillment_id, result.document_id)


def test_upload_only_reads_the_subject_from_the_workflow(
    tmp_path: Path, client: KompliantClient
) -> None:
    result = upload_file(client, write(tmp_path), workflow_id=WORKFLOW, link=False)
    assert result.fulfillment_ids == {}
    assert [d.document_id for d in live_documents(client)] == [result.document_id]
    assert client.list_fulfillments(BANK) == []


class ExpireFirstForm:
    """A client whose first upload form is already expired when it is sent."""

    def __init__(self, client: KompliantClient, clock: FakeClock) -> None:
        self._client = client
        self._clock = clock
        self.creates = 0

    def __getattr__(self, name: str) -> object:
        return getattr(self._client, name)

    def create_document(self, sr: str, file_name: str, file_size: int) -> CreatedDocument:
        created = self._client.create_document(sr, file_name, file_size)
        self.creates += 1
        if self.creates == 1:
            self._clock.now += 2
        return created


def test_an_expired_form_gets_a_new_document_and_the_stale_one_is_deleted(
    tmp_path: Path, expiring_forms: tuple[KompliantClient, FakeClock]
) -> None:
    client, clock = expiring_forms
    api = ExpireFirstForm(client, clock)
    result = upload_file(
        api,
        write(tmp_path),
        workflow_id=WORKFLOW,
        required_document_ids=[BANK],  # type: ignore[arg-type]
    )
    assert api.creates == 2
    assert [d.document_id for d in live_documents(client)] == [result.document_id]
    assert client.get_document(result.document_id).completed


def test_a_dropped_create_answer_still_gives_one_document(
    tmp_path: Path, sandbox: RunningSandbox, client: KompliantClient
) -> None:
    set_faults(
        sandbox,
        **{"script": [{"method": "document.create", "action": "drop_after_processing"}]},
    )
    result = upload_file(
        client, write(tmp_path), workflow_id=WORKFLOW, required_document_ids=[BANK]
    )
    assert [d.document_id for d in live_documents(client)] == [result.document_id]


def test_an_ended_workflow_is_refused_before_anything_is_uploaded(
    tmp_path: Path, client: KompliantClient
) -> None:
    with pytest.raises(WorkflowEnded) as info:
        upload_file(
            client, write(tmp_path), workflow_id=ENDED_WORKFLOW, required_document_ids=[ENDED_RD]
        )
    assert "nothing was uploaded" in info.value.message
    assert live_documents(client) == []


def test_an_inactive_requirement_is_refused_before_anything_is_uploaded(
    tmp_path: Path, client: KompliantClient
) -> None:
    with pytest.raises(RuleViolation) as info:
        upload_file(
            client, write(tmp_path), workflow_id=WORKFLOW, required_document_ids=[BANK, INACTIVE]
        )
    assert INACTIVE in info.value.message
    assert live_documents(client) == []


def test_a_text_file_cannot_succeed(tmp_path: Path, client: KompliantClient) -> None:
    with pytest.raises(BadRequest):
        upload_file(
            client, write(tmp_path, "notes.txt"), workflow_id=WORKFLOW, required_document_ids=[BANK]
        )
    assert live_documents(client) == []


def test_a_file_changed_mid_upload_leaves_no_document_behind(
    tmp_path: Path, client: KompliantClient
) -> None:
    path = write(tmp_path, size=600_000)

    def grow(sent: int, total: int) -> None:
        with path.open("ab") as handle:
            handle.write(b"x")

    with pytest.raises(FileChanged):
        upload_file(client, path, workflow_id=WORKFLOW, required_document_ids=[BANK], progress=grow)
    assert live_documents(client) == []
    assert client.list_fulfillments(BANK) == []
