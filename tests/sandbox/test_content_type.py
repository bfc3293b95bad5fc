"""The upload store refuses bytes whose real type is not the form's Content-Type, as the
seed guide says Kompliant's does ("Content-Type Enforcement")."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.errors import WrongContent
from agent.kompliant.client import KompliantClient
from agent.sandbox import RunningSandbox, start_sandbox
from agent.sandbox.server import SandboxSettings
from agent.upload.identity import identify
from agent.upload.presigned import send_form
from tests.conftest import DEMO_SUBJECT, sandbox_call, sandbox_upload
from tests.realwriters import documents


def _create(sandbox: RunningSandbox, name: str, size: int) -> dict[str, Any]:
    answer = sandbox_call(
        sandbox,
        "document.create",
        {"subject_record_id": DEMO_SUBJECT, "file_name": name, "file_size_in_bytes": size},
    )
    assert answer.status_code == 200, answer.text
    document: dict[str, Any] = answer.json()["data"]["document"]
    return document


def _status(sandbox: RunningSandbox, document_id: str) -> str:
    answer = sandbox_call(sandbox, "document.get", {"document_id": document_id})
    return str(answer.json()["data"]["document"]["upload_status"])


@pytest.mark.parametrize(
    ("name", "content", "found"),
    [
        ("Bank statement.pdf", documents.jpeg("scan"), "a JPEG image"),
        ("statement.pdf", documents.html_page(), "a web page (HTML)"),
        ("passport.png", documents.pdf("passport"), "a PDF"),
        ("id.jpg", b"just words, no image", "of no type the upload store recognises"),
    ],
)
def test_bytes_of_another_type_are_refused_and_nothing_is_stored(
    sandbox: RunningSandbox, name: str, content: bytes, found: str
) -> None:
    document = _create(sandbox, name, len(content))
    refused = sandbox_upload(document, content)
    assert refused.status_code == 400
    assert "<Code>InvalidArgument</Code>" in refused.text
    assert "<ArgumentName>Content-Type</ArgumentName>" in refused.text
    assert f"The content of the file is {found}" in refused.text
    assert _status(sandbox, document["document_id"]) == "PENDING"
    assert not list((sandbox.data_dir / "objects").rglob("d_*"))
    assert sandbox.store.read_object(document["presign_values"]["key"]) is None


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("statement.pdf", documents.pdf("s")),
        ("photo.jpg", documents.jpeg("p")),
        ("photo.jpeg", documents.jpeg("p2")),
        ("scan.png", documents.png("s")),
    ],
)
def test_bytes_of_the_named_type_are_stored(
    sandbox: RunningSandbox, name: str, content: bytes
) -> None:
    document = _create(sandbox, name, len(content))
    stored = sandbox_upload(document, content)
    assert stored.status_code == 204, stored.text
    assert _status(sandbox, document["document_id"]) == "COMPLETED"


@pytest.fixture
def wide_sandbox(tmp_path: Path) -> Iterator[RunningSandbox]:
    """A sandbox taking office files and plain text as well."""
    extensions = {
        "pdf": "application/pdf",
        "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "txt": "text/plain",
    }
    running = start_sandbox(
        tmp_path / "wide", settings=SandboxSettings(allowed_extensions=extensions)
    )
    try:
        yield running
    finally:
        running.stop()


def test_zip_based_and_unknown_types(wide_sandbox: RunningSandbox) -> None:
    letter = documents.docx("letter")
    document = _create(wide_sandbox, "letter.docx", len(letter))
    assert sandbox_upload(document, letter).status_code == 204
    notes = b"plain text: a type the table has no signature for"
    document = _create(wide_sandbox, "notes.txt", len(notes))
    assert sandbox_upload(document, notes).status_code == 204  # not judged
    pdf = documents.pdf("not a letter")
    document = _create(wide_sandbox, "letter.docx", len(pdf))
    assert sandbox_upload(document, pdf).status_code == 400


def test_a_client_that_skips_the_type_check_fails(sandbox: RunningSandbox, tmp_path: Path) -> None:
    """The agent's own upload step, called without the check that comes before
    document.create: the store refuses, and the error says the file is wrong, not the
    network (no retry)."""
    path = tmp_path / "Bank statement.pdf"
    path.write_bytes(documents.jpeg("camera"))
    credentials = sandbox.demo_credentials()
    assert credentials is not None
    with KompliantClient(credentials) as client:
        identity = identify(path)
        created = client.create_document(DEMO_SUBJECT, path.name, identity.size)
        with pytest.raises(WrongContent) as caught:
            send_form(created.form, path, file_name=path.name, identity=identity)
        assert client.get_document(created.document_id).upload_status == "PENDING"
    error = caught.value
    assert not error.retryable
    assert "a JPEG image, not the application/pdf" in error.message
    assert hashlib.sha256(path.read_bytes()).hexdigest() == identity.sha256
