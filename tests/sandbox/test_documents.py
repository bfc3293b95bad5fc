"""document.create / get / list / delete, and the upload that completes a document."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from agent.kompliant.auth import Credentials
from agent.sandbox import RunningSandbox, SandboxSettings, start_sandbox
from agent.sandbox.loop_http import INLINE_BODY
from agent.sandbox.server import DEMO_FIXTURE
from tests.conftest import (
    DEMO_SUBJECT,
    DEMO_WORKFLOW,
    RD_BANK,
    create_document,
    sandbox_admin,
    sandbox_call,
    sandbox_upload,
)

# The order of the upload guide's document.create answer.
PRESIGN_ORDER = [
    "Content-Type",
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Security-Token",
    "X-Amz-Signature",
    "key",
    "policy",
    "x-amz-meta-document-id",
]


def _create(sandbox: RunningSandbox, **overrides: Any) -> Any:
    body = {"subject_record_id": DEMO_SUBJECT, "file_name": "a.pdf", "file_size_in_bytes": 10}
    body.update(overrides)
    return sandbox_call(sandbox, "document.create", {k: v for k, v in body.items() if v != ...})


def _error(answer: Any) -> dict[str, Any]:
    assert answer.status_code == 400, answer.text
    assert answer.json()["meta"]["status"] == "ERROR"
    error: dict[str, Any] = answer.json()["errors"][0]
    return error


def test_create_returns_a_presigned_form_shaped_like_kompliants(sandbox: RunningSandbox) -> None:
    answer = _create(sandbox, file_name="Scan.JPEG", file_size_in_bytes=1234)
    assert answer.status_code == 200
    document = answer.json()["data"]["document"]
    document_id = document["document_id"]
    assert document_id.startswith("d_") and len(document_id) == 24
    assert document["upload_url"] == f"{sandbox.base_url}/s3/kompliant-sandbox"
    values = document["presign_values"]
    assert list(values) == PRESIGN_ORDER
    assert values["key"] == f"{DEMO_SUBJECT}/{document_id}.jpeg"
    assert values["Content-Type"] == "image/jpeg"
    assert values["x-amz-meta-document-id"] == document_id
    got = sandbox_call(sandbox, "document.get", {"document_id": document_id}).json()
    assert got["data"]["document"]["upload_status"] == "PENDING"
    assert got["data"]["document"]["hash"] is None


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"file_name": "notes.txt"}, "supported file types"),
        ({"file_name": "noextension"}, "supported file types"),
        ({"file_name": ".pdf"}, "supported file types"),
        ({"file_name": "dir/a.pdf"}, "plain file name"),
        ({"file_name": ...}, "file_name is required"),
        ({"file_name": 5}, "file_name must be"),
        ({"file_size_in_bytes": 0}, "positive integer"),
        ({"file_size_in_bytes": -3}, "positive integer"),
        ({"file_size_in_bytes": True}, "positive integer"),
        ({"file_size_in_bytes": "10"}, "positive integer"),
        ({"file_size_in_bytes": 1.5}, "positive integer"),
        ({"file_size_in_bytes": ...}, "file_size_in_bytes is required"),
        ({"file_size_in_bytes": 6 * 1024**3}, "at most"),
        ({"subject_record_id": "w_DemoApplication000000001"}, "sr_ prefix"),
        ({"subject_record_id": ...}, "subject_record_id is required"),
    ],
)
def test_create_refuses_invalid_parameters(
    sandbox: RunningSandbox, overrides: dict[str, Any], fragment: str
) -> None:
    error = _error(_create(sandbox, **overrides))
    assert error["code"] == "BAD_REQUEST"
    assert fragment in error["message"]


@pytest.mark.parametrize("subject", ["sr_NoSuchSubject000000001", "sr_ForeignSubject000000003"])
def test_create_for_an_unknown_or_foreign_subject_record_is_not_found(
    sandbox: RunningSandbox, subject: str
) -> None:
    assert _error(_create(sandbox, subject_record_id=subject))["code"] == "ENTITY_NOT_FOUND"


def test_the_allowed_extensions_are_configurable(tmp_path: Path) -> None:
    settings = SandboxSettings(allowed_extensions={"tiff": "image/tiff"})
    with start_sandbox(tmp_path, settings=settings) as sandbox:
        ok = _create(sandbox, file_name="scan.TIFF")
        assert ok.json()["data"]["document"]["presign_values"]["Content-Type"] == "image/tiff"
        refused = _error(_create(sandbox, file_name="a.pdf"))
        assert refused["code"] == "BAD_REQUEST"
        assert refused["message"].endswith("supported file types: .tiff.")
    with start_sandbox(tmp_path) as restarted:  # the option held for that run only
        assert _create(restarted, file_name="a.pdf").status_code == 200


def test_an_upload_completes_the_document_with_its_sha256(sandbox: RunningSandbox) -> None:
    content = b"%PDF-1.4 some statement"
    document_id = create_document(sandbox, content)
    document = sandbox_call(sandbox, "document.get", {"document_id": document_id}).json()
    stored = document["data"]["document"]
    assert stored["upload_status"] == "COMPLETED"
    assert stored["hash"] == hashlib.sha256(content).hexdigest()
    assert stored["file_size"] == len(content)
    assert stored["file_name"] == "statement.pdf"
    assert sandbox.stored_bytes(document_id) == content


def test_a_small_upload_is_kept_in_the_state_database_and_found_after_a_restart(
    tmp_path: Path,
) -> None:
    content = b"%PDF-1.4 kept whole " * 100
    with start_sandbox(tmp_path) as sandbox:
        document_id = create_document(sandbox, content)
    assert not list((tmp_path / "objects").rglob("*"))  # no file made for it
    with start_sandbox(tmp_path) as restarted:
        assert restarted.stored_bytes(document_id) == content
        got = sandbox_call(restarted, "document.get", {"document_id": document_id}).json()
        assert got["data"]["document"]["hash"] == hashlib.sha256(content).hexdigest()


def test_an_upload_too_large_to_read_whole_is_a_file_under_its_key(sandbox: RunningSandbox) -> None:
    content = b"%PDF-1.4\n" + bytes(range(256)) * (INLINE_BODY // 256 + 1)
    document_id = create_document(sandbox, content)
    (path,) = (sandbox.data_dir / "objects").rglob(f"{document_id}.pdf")
    assert path.read_bytes() == content
    assert sandbox.stored_bytes(document_id) == content


def test_the_hash_can_be_base64(tmp_path: Path) -> None:
    with start_sandbox(tmp_path, settings=SandboxSettings(hash_encoding="base64")) as sandbox:
        document_id = create_document(sandbox, b"%PDF-abc")
        got = sandbox_call(sandbox, "document.get", {"document_id": document_id}).json()
        expected = base64.b64encode(hashlib.sha256(b"%PDF-abc").digest()).decode()
        assert got["data"]["document"]["hash"] == expected


def test_completion_can_lag_behind_the_upload(tmp_path: Path) -> None:
    clock = [1_750_000_000.0]
    settings = SandboxSettings(completion_delay=5.0, clock=lambda: clock[0])
    with start_sandbox(tmp_path, settings=settings) as sandbox:
        document_id = create_document(sandbox, b"%PDF-abc")
        get = {"document_id": document_id}
        status = sandbox_call(sandbox, "document.get", get).json()["data"]["document"]
        assert status["upload_status"] == "PENDING"
        clock[0] += 5.0
        status = sandbox_call(sandbox, "document.get", get).json()["data"]["document"]
        assert status["upload_status"] == "COMPLETED"


def test_a_wrong_size_upload_leaves_the_document_pending(sandbox: RunningSandbox) -> None:
    answer = _create(sandbox, file_size_in_bytes=4)
    document = answer.json()["data"]["document"]
    refused = sandbox_upload(document, b"12345")
    assert refused.status_code == 400
    assert "EntityTooLarge" in refused.text
    got = sandbox_call(sandbox, "document.get", {"document_id": document["document_id"]})
    assert got.json()["data"]["document"]["upload_status"] == "PENDING"


def test_list_shows_the_subject_records_documents_without_hash(sandbox: RunningSandbox) -> None:
    first = create_document(sandbox, b"%PDF-one")
    second = create_document(sandbox, b"%PDF-two", upload=False)
    listed = sandbox_call(sandbox, "document.list", {"subject_record_id": DEMO_SUBJECT})
    documents = {d["document_id"]: d for d in listed.json()["data"]["documents"]}
    assert set(documents) == {first, second}
    assert documents[first]["upload_status"] == "COMPLETED"
    assert documents[second]["upload_status"] == "PENDING"
    assert all("hash" not in d for d in documents.values())
    empty = sandbox_call(
        sandbox, "document.list", {"subject_record_id": "sr_OtherSubject00000000002"}
    )
    assert empty.json()["data"]["documents"] == []


def test_get_of_an_unknown_document_is_not_found(sandbox: RunningSandbox) -> None:
    missing = sandbox_call(sandbox, "document.get", {"document_id": "d_NoSuchDocument000000001"})
    assert _error(missing)["code"] == "ENTITY_NOT_FOUND"
    malformed = sandbox_call(sandbox, "document.get", {"document_id": "x_1"})
    assert _error(malformed)["code"] == "BAD_REQUEST"


def test_delete_is_soft_and_idempotent(sandbox: RunningSandbox, uploaded_document: str) -> None:
    body = {"document_id": uploaded_document}
    for _ in range(2):
        answer = sandbox_call(sandbox, "document.delete", body)
        assert answer.status_code == 200
        assert answer.json()["data"] == {}
    got = sandbox_call(sandbox, "document.get", body).json()["data"]["document"]
    assert got["deleted_at"] is not None
    listed = sandbox_call(sandbox, "document.list", {"subject_record_id": DEMO_SUBJECT})
    assert listed.json()["data"]["documents"] == []


def test_only_the_uploader_may_delete(tmp_path: Path, sandbox: RunningSandbox) -> None:
    fixture = json.loads(DEMO_FIXTURE.read_text(encoding="utf-8"))
    second = {
        "api_key": "sb_SecondDemoKey0000000001",
        "secret_key": base64.b64encode(bytes(range(33))).decode(),
        "auth_token": "second-token",
        "account_id": "sb_demoacct",
    }
    fixture["api_keys"].append(second)
    (tmp_path / "two-keys.json").write_text(json.dumps(fixture), encoding="utf-8")
    with start_sandbox(tmp_path / "data", fixture=tmp_path / "two-keys.json") as two:
        document_id = create_document(two)
        colleague = Credentials(
            two.base_url, second["api_key"], second["secret_key"], second["auth_token"]
        )
        body = {"document_id": document_id}
        refused = sandbox_call(two, "document.delete", body, credentials=colleague)
        error = _error(refused)
        assert (error["code"], error["message"]) == (
            "BAD_REQUEST",
            "Only the uploader of a document may delete it.",
        )
        got = sandbox_call(two, "document.get", body, credentials=colleague)
        assert got.json()["data"]["document"]["deleted_at"] is None  # the colleague may read it
        assert sandbox_call(two, "document.delete", body).status_code == 200


def _link(sandbox: RunningSandbox, document_id: str) -> str:
    answer = sandbox_call(
        sandbox,
        "workflow.requiredDocument.fulfillment.batchAdd",
        {
            "workflow_id": DEMO_WORKFLOW,
            "fulfillments": [{"document_id": document_id, "required_document_id": RD_BANK}],
        },
    )
    return str(answer.json()["results"][0]["data"]["fulfillment"]["fulfillment_id"])


def test_delete_of_a_document_with_an_accepted_fulfillment_is_entity_linked(
    sandbox: RunningSandbox, uploaded_document: str
) -> None:
    fulfillment_id = _link(sandbox, uploaded_document)
    sandbox_call(
        sandbox,
        "workflow.requiredDocument.fulfillment.update",
        {"fulfillment_id": fulfillment_id, "decision_status": "ACCEPTED"},
    )
    refused = sandbox_call(sandbox, "document.delete", {"document_id": uploaded_document})
    assert _error(refused)["code"] == "ENTITY_LINKED"


def test_delete_also_deletes_the_documents_fulfillments(
    sandbox: RunningSandbox, uploaded_document: str
) -> None:
    _link(sandbox, uploaded_document)
    assert sandbox.state.required_documents[RD_BANK].status == "NEEDS_REVIEW"
    sandbox_call(sandbox, "document.delete", {"document_id": uploaded_document})
    listed = sandbox_call(
        sandbox, "workflow.requiredDocument.fulfillment.list", {"required_document_id": RD_BANK}
    )
    assert listed.json()["data"]["fulfillments"] == []
    assert sandbox.state.required_documents[RD_BANK].status == "ACTIVE"


def test_admin_can_corrupt_the_hash_for_mismatch_tests(
    sandbox: RunningSandbox, uploaded_document: str
) -> None:
    answer = sandbox_admin(
        sandbox,
        "admin",
        {"op": "update_document", "document_id": uploaded_document, "hash": "00" * 32},
    )
    assert answer.status_code == 200
    got = sandbox_call(sandbox, "document.get", {"document_id": uploaded_document})
    assert got.json()["data"]["document"]["hash"] == "00" * 32
