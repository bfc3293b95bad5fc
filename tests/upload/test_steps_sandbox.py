"""Each upload step against the sandbox over real HTTP: S3's rules, expiry, reconciliation."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agent.errors import FileChanged, UploadFormExpired, UploadRejected
from agent.kompliant.client import KompliantClient
from agent.kompliant.models import PresignedForm
from agent.sandbox.server import RunningSandbox
from agent.upload.create import create_document
from agent.upload.identity import identify
from agent.upload.link import LinkFailed, link
from agent.upload.presigned import send_form
from agent.upload.verify import wait_until_stored
from tests.kit.clock import FakeClock
from tests.kit.sandbox import set_faults
from tests.upload.conftest import (
    ADDRESS,
    BANK,
    INACTIVE,
    SUBJECT,
    WORKFLOW,
    live_documents,
)


def pdf(tmp_path: Path, size: int = 50_000, name: str = "statement.pdf") -> Path:
    path = tmp_path / name
    path.write_bytes(b"%PDF-1.7\n" + os.urandom(size - 9))
    return path


@pytest.mark.parametrize("encoding", ["hex", "base64"])
def test_create_send_verify_against_the_sandbox(
    tmp_path: Path, sandbox: RunningSandbox, client: KompliantClient, encoding: str
) -> None:
    set_faults(sandbox, **{"hash_encoding": encoding})
    path = pdf(tmp_path)
    identity = identify(path)
    created = create_document(client, SUBJECT, path.name, identity.size)
    seen: list[int] = []
    send_form(
        created.form,
        path,
        file_name=path.name,
        identity=identity,
        progress=lambda sent, total: seen.append(sent),
    )
    assert seen[-1] == identity.size
    document = wait_until_stored(client, created.document_id, identity)
    assert document.completed
    assert document.hash is not None
    assert (document.hash == identity.sha256) is (encoding == "hex")


def test_a_form_with_a_changed_field_is_refused_by_the_sandbox_s3(
    tmp_path: Path, client: KompliantClient
) -> None:
    path = pdf(tmp_path)
    identity = identify(path)
    created = create_document(client, SUBJECT, path.name, identity.size)
    fields = tuple(
        (k, "image/png" if k.lower() == "content-type" else v) for k, v in created.form.fields
    )
    with pytest.raises(UploadRejected) as info:
        send_form(
            PresignedForm(created.form.upload_url, fields),
            path,
            file_name=path.name,
            identity=identity,
        )
    assert "does not match Kompliant's upload policy" in info.value.message


def test_an_extra_field_is_refused(tmp_path: Path, client: KompliantClient) -> None:
    path = pdf(tmp_path)
    identity = identify(path)
    created = create_document(client, SUBJECT, path.name, identity.size)
    form = PresignedForm(created.form.upload_url, (*created.form.fields, ("acl", "public-read")))
    with pytest.raises(UploadRejected) as info:
        send_form(form, path, file_name=path.name, identity=identity)
    assert "does not allow" in info.value.message


def test_a_file_larger_than_declared_is_refused_with_the_difference(
    tmp_path: Path, client: KompliantClient
) -> None:
    path = pdf(tmp_path, 1012)
    identity = identify(path)
    created = create_document(client, SUBJECT, path.name, 1000)
    with pytest.raises(UploadRejected) as info:
        send_form(created.form, path, file_name=path.name, identity=identity)
    assert info.value.code == "EntityTooLarge"
    assert "12 bytes larger than the 1000 bytes declared" in info.value.message


def test_an_expired_form_is_upload_form_expired(
    tmp_path: Path, expiring_forms: tuple[KompliantClient, FakeClock]
) -> None:
    client, clock = expiring_forms
    path = pdf(tmp_path)
    identity = identify(path)
    created = create_document(client, SUBJECT, path.name, identity.size)
    clock.now += 2
    with pytest.raises(UploadFormExpired):
        send_form(created.form, path, file_name=path.name, identity=identity)
    fresh = create_document(client, SUBJECT, path.name, identity.size)
    send_form(fresh.form, path, file_name=path.name, identity=identity)
    assert wait_until_stored(client, fresh.document_id, identity).completed


def test_a_file_grown_mid_upload_is_never_reported_uploaded(
    tmp_path: Path, client: KompliantClient
) -> None:
    path = pdf(tmp_path, 600_000)
    identity = identify(path)
    created = create_document(client, SUBJECT, path.name, identity.size)

    def grow(sent: int, total: int) -> None:
        if sent < total:
            with path.open("ab") as handle:
                handle.write(b"page")

    with pytest.raises(FileChanged):
        send_form(
            created.form,
            path,
            file_name=path.name,
            identity=identity,
            progress=grow,
            chunk_size=65536,
        )


def test_a_dropped_create_answer_leaves_exactly_one_document(
    tmp_path: Path, sandbox: RunningSandbox, client: KompliantClient
) -> None:
    set_faults(
        sandbox,
        **{"script": [{"method": "document.create", "action": "drop_after_processing"}]},
    )
    path = pdf(tmp_path)
    identity = identify(path)
    created = create_document(client, SUBJECT, path.name, identity.size)
    live = live_documents(client)
    assert [d.document_id for d in live] == [created.document_id]
    everything = [d for d in sandbox.state.documents.values() if d.file_name == path.name]
    assert len(everything) == 2  # the orphan was made, then deleted
    send_form(created.form, path, file_name=path.name, identity=identity)
    assert wait_until_stored(client, created.document_id, identity).completed


def uploaded(tmp_path: Path, client: KompliantClient) -> str:
    path = pdf(tmp_path)
    identity = identify(path)
    created = create_document(client, SUBJECT, path.name, identity.size)
    send_form(created.form, path, file_name=path.name, identity=identity)
    wait_until_stored(client, created.document_id, identity)
    return created.document_id


def test_linking_twice_finds_the_existing_fulfillments(
    tmp_path: Path, client: KompliantClient
) -> None:
    document_id = uploaded(tmp_path, client)
    first = link(client, WORKFLOW, document_id, [BANK, ADDRESS])
    again = link(client, WORKFLOW, document_id, [BANK, ADDRESS])
    assert again == first
    for rd in (BANK, ADDRESS):
        assert [f.fulfillment_id for f in client.list_fulfillments(rd)] == [first[rd]]


def test_a_dropped_batch_add_answer_is_reconciled(
    tmp_path: Path, sandbox: RunningSandbox, client: KompliantClient
) -> None:
    document_id = uploaded(tmp_path, client)
    set_faults(
        sandbox,
        **{
            "script": [
                {
                    "method": "workflow.requiredDocument.fulfillment.batchAdd",
                    "action": "drop_after_processing",
                }
            ]
        },
    )
    result = link(client, WORKFLOW, document_id, [BANK, ADDRESS])
    for rd in (BANK, ADDRESS):
        listed = client.list_fulfillments(rd)
        assert [(f.document_id, f.fulfillment_id) for f in listed] == [(document_id, result[rd])]


def test_an_inactive_requirement_is_named_and_the_other_links_kept(
    tmp_path: Path, client: KompliantClient
) -> None:
    document_id = uploaded(tmp_path, client)
    with pytest.raises(LinkFailed) as info:
        link(client, WORKFLOW, document_id, [BANK, INACTIVE])
    assert INACTIVE in info.value.message
    assert list(info.value.linked) == [BANK]
    assert [f.document_id for f in client.list_fulfillments(BANK)] == [document_id]
