"""Every typed method end to end against the local sandbox, over real HTTP on loopback."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import httpx
import pytest

from agent.errors import (
    AmbiguousRequest,
    AuthError,
    BadRequest,
    EntityNotFound,
    WorkflowEnded,
)
from agent.kompliant import CreatedDocument, KompliantClient
from agent.kompliant.auth import API_VERSION, Credentials
from agent.kompliant.pacer import Pacer, PacerPolicy
from agent.sandbox import RunningSandbox
from tests.kit.clock import FakeClock
from tests.kit.sandbox import (
    DEMO_SUBJECT,
    DEMO_WORKFLOW,
    ENDED_WORKFLOW,
    OTHER_SUBJECT,
    RD_ADDRESS,
    RD_BANK,
    RD_ENDED,
    RD_ID,
    RD_INACTIVE,
    sandbox_stats,
    set_faults,
)

RD_UNKNOWN = "rd_NoSuchRequirement00001"
PDF = b"%PDF-1.4 a bank statement"


@pytest.fixture
def waits() -> FakeClock:
    return FakeClock(0.0)


@pytest.fixture
def client(demo_credentials: Credentials, waits: FakeClock) -> Iterator[KompliantClient]:
    pacer = Pacer(PacerPolicy(max_attempts=4), clock=waits, sleep=waits.sleep)
    with KompliantClient(demo_credentials, timeout=10.0, pacer=pacer) as made:
        yield made


def upload(created: CreatedDocument, content: bytes) -> None:
    """The presigned POST, fields in the given order and the file last."""
    form = created.form
    files = {"file": ("upload", content, form.content_type)}
    answer = httpx.post(form.upload_url, data=dict(form.fields), files=files, timeout=10)
    assert answer.status_code == 204, answer.text


def uploaded(client: KompliantClient, subject: str = DEMO_SUBJECT, content: bytes = PDF) -> str:
    created = client.create_document(subject, "statement.pdf", len(content))
    upload(created, content)
    return created.document_id


def faults(sandbox: RunningSandbox, *script: dict[str, Any]) -> None:
    set_faults(sandbox, script=list(script))


def calls(sandbox: RunningSandbox, method: str) -> int:
    return int(sandbox_stats(sandbox)["methods"].get(method, 0))


# --------------------------------------------------------------------------- methods


def test_check_version(client: KompliantClient) -> None:
    info = client.check_version()
    assert info.current_version == API_VERSION
    assert info.latest_version


def test_document_create_upload_get_list_delete(client: KompliantClient) -> None:
    created = client.create_document(DEMO_SUBJECT, "statement.pdf", len(PDF))
    assert created.document_id.startswith("d_")
    assert created.form.content_type == "application/pdf"
    assert created.form.get("x-amz-meta-document-id") == created.document_id
    assert not client.get_document(created.document_id).completed

    upload(created, PDF)
    document = client.get_document(created.document_id)
    assert document.completed
    assert document.hash == hashlib.sha256(PDF).hexdigest()
    assert (document.file_name, document.file_size) == ("statement.pdf", len(PDF))
    assert document.subject_record_id == DEMO_SUBJECT

    listed = {d.document_id: d for d in client.list_documents(DEMO_SUBJECT)}
    assert listed[created.document_id].completed

    client.delete_document(created.document_id)
    client.delete_document(created.document_id)  # idempotent
    # The sandbox keeps a soft-deleted document readable (kompliant-api.md §5.4 is silent).
    assert client.get_document(created.document_id).deleted_at
    assert created.document_id not in {d.document_id for d in client.list_documents(DEMO_SUBJECT)}


def test_document_create_refusals(client: KompliantClient) -> None:
    with pytest.raises(EntityNotFound) as unknown:
        client.create_document("sr_NoSuchSubject0000000001", "a.pdf", 3)
    with pytest.raises(BadRequest) as extension:
        client.create_document(DEMO_SUBJECT, "a.exe", 3)
    with pytest.raises(BadRequest):
        client.create_document(DEMO_SUBJECT, "a.pdf", 0)
    for err in (unknown.value, extension.value):
        assert err.http_status == 400
        assert err.trace_id and err.trace_id.startswith("trc_")


def test_workflows(client: KompliantClient) -> None:
    workflow = client.get_workflow(DEMO_WORKFLOW)
    assert (workflow.type, workflow.state) == ("BUSINESS_APPLICATION", "STARTED")
    assert workflow.subject_record_id == DEMO_SUBJECT
    listed = {w.workflow_id: w for w in client.list_workflows(DEMO_SUBJECT)}
    assert not listed[DEMO_WORKFLOW].ended
    assert listed[ENDED_WORKFLOW].ended
    with pytest.raises(EntityNotFound):
        client.get_workflow("w_NoSuchWorkflow000000001")


def test_required_documents(client: KompliantClient) -> None:
    required = {rd.required_document_id: rd for rd in client.list_required_documents(DEMO_WORKFLOW)}
    assert set(required) == {RD_BANK, RD_ADDRESS, RD_ID, RD_INACTIVE}
    assert required[RD_BANK].name == "Bank statements"
    assert required[RD_BANK].requirement_text
    assert required[RD_INACTIVE].inactive
    inactive = client.list_required_documents(DEMO_WORKFLOW, status="INACTIVE")
    assert [rd.required_document_id for rd in inactive] == [RD_INACTIVE]


def test_request_documents_gives_per_item_results_in_input_order(client: KompliantClient) -> None:
    results = client.request_documents(DEMO_WORKFLOW, [RD_INACTIVE, RD_ID, RD_UNKNOWN])
    assert [r.request["required_document_id"] for r in results] == [RD_INACTIVE, RD_ID, RD_UNKNOWN]
    inactive, requested, unknown = results
    assert requested.ok
    assert isinstance(inactive.error, BadRequest)
    assert inactive.error.message == "Cannot request files for an inactive required document."
    assert isinstance(unknown.error, EntityNotFound)
    # The documented message names no id; the details do, and the message shows them.
    assert RD_UNKNOWN in unknown.error.message


def test_add_fulfillments_per_item_results(client: KompliantClient) -> None:
    document_id = uploaded(client)
    pending = client.create_document(DEMO_SUBJECT, "later.pdf", 5).document_id
    foreign = uploaded(client, subject=OTHER_SUBJECT)
    links = [
        (document_id, RD_BANK),
        (document_id, RD_ADDRESS),
        (document_id, RD_INACTIVE),
        (pending, RD_ID),
        (foreign, RD_ID),
        ("d_NoSuchDocument000000001", RD_ID),
        (document_id, RD_BANK),  # the same link twice in one batch
    ]
    results = client.add_fulfillments(DEMO_WORKFLOW, links)
    assert [(r.request["document_id"], r.request["required_document_id"]) for r in results] == links
    bank, address, inactive, not_uploaded, mismatch, unknown, duplicate = results
    assert bank.ok and bank.fulfillment_id and bank.fulfillment_id.startswith("f_")
    assert address.ok and address.fulfillment_id != bank.fulfillment_id
    for refused in (inactive, not_uploaded, mismatch, duplicate):
        assert not refused.ok and isinstance(refused.error, BadRequest), refused
    assert isinstance(unknown.error, EntityNotFound)

    # Linking the same pair again later is refused the same way.
    (again,) = client.add_fulfillments(DEMO_WORKFLOW, [(document_id, RD_BANK)])
    assert isinstance(again.error, BadRequest)


def test_an_ended_workflow_refuses_the_whole_batch(client: KompliantClient) -> None:
    document_id = uploaded(client)
    with pytest.raises(WorkflowEnded) as caught:
        client.add_fulfillments(ENDED_WORKFLOW, [(document_id, RD_ENDED)])
    assert caught.value.sub_code == "WORKFLOW_ENDED"
    assert (caught.value.entity_type or "").upper() == "WORKFLOW"
    with pytest.raises(WorkflowEnded):
        client.request_documents(ENDED_WORKFLOW, [RD_ENDED])


def test_list_and_review_fulfillments(client: KompliantClient) -> None:
    document_id = uploaded(client)
    (linked,) = client.add_fulfillments(DEMO_WORKFLOW, [(document_id, RD_BANK)])
    assert linked.fulfillment_id

    (listed,) = client.list_fulfillments(RD_BANK)
    assert (listed.fulfillment_id, listed.document_id) == (linked.fulfillment_id, document_id)
    assert listed.decision_status == "PENDING"  # as the upload guide's batchAdd answer shows
    assert [f.document_id for f in client.list_fulfillments(RD_BANK, verbose=True)] == [document_id]

    client.update_fulfillment(linked.fulfillment_id, "ACCEPTED")
    (reviewed,) = client.list_fulfillments(RD_BANK)
    assert reviewed.decision_status == "ACCEPTED"
    with pytest.raises(EntityNotFound):
        client.update_fulfillment("f_NoSuchFulfillment0000001", "ACCEPTED")
    with pytest.raises(BadRequest) as linked_error:
        client.delete_document(document_id)
    assert linked_error.value.code == "ENTITY_LINKED"


# --------------------------------------------------------------------------- auth and faults


def test_wrong_auth_token_is_an_auth_error_not_retried(
    sandbox: RunningSandbox, demo_credentials: Credentials, waits: FakeClock
) -> None:
    wrong = replace(demo_credentials, auth_token=demo_credentials.auth_token[:-1] + "X")
    pacer = Pacer(clock=waits, sleep=waits.sleep)
    with KompliantClient(wrong, pacer=pacer) as client, pytest.raises(AuthError) as caught:
        client.check_version()
    assert caught.value.http_status == 401
    assert calls(sandbox, "meta.checkVersion") == 1
    assert wrong.auth_token not in str(caught.value)


def test_a_method_the_key_may_not_call_is_forbidden(
    sandbox: RunningSandbox, demo_credentials: Credentials
) -> None:
    read_only = Credentials(
        api_url=demo_credentials.api_url,
        api_key="sb_ReadOnlyKey000000000001",
        secret_key="Wb8xJg0Yh3ZfWcJ0tB9q0m6Yk4nC1sV2r7uL5aQe3PdX",
        auth_token="ReadOnlyKeyToken00000000000000000000000000000000000000001",
    )
    with KompliantClient(read_only) as client:
        assert client.list_workflows(DEMO_SUBJECT)
        with pytest.raises(AuthError) as caught:
            client.create_document(DEMO_SUBJECT, "a.pdf", 3)
    assert caught.value.http_status == 403


def test_create_dropped_after_processing_is_ambiguous_and_sent_once(
    sandbox: RunningSandbox, client: KompliantClient
) -> None:
    before = {d.document_id for d in client.list_documents(DEMO_SUBJECT)}
    faults(sandbox, {"method": "document.create", "action": "drop_after_processing"})
    with pytest.raises(AmbiguousRequest):
        client.create_document(DEMO_SUBJECT, "lost-answer.pdf", 7)
    assert calls(sandbox, "document.create") == 1
    # The document was made although the answer was lost: what reconciliation finds.
    after = [d for d in client.list_documents(DEMO_SUBJECT) if d.document_id not in before]
    assert [(d.file_name, d.file_size, d.completed) for d in after] == [
        ("lost-answer.pdf", 7, False)
    ]


@pytest.mark.parametrize("action", ["http_500_after_processing", "non_json_502"])
def test_create_with_an_unclear_answer_is_ambiguous(
    sandbox: RunningSandbox, client: KompliantClient, action: str
) -> None:
    faults(sandbox, {"method": "document.create", "action": action})
    with pytest.raises(AmbiguousRequest):
        client.create_document(DEMO_SUBJECT, "a.pdf", 3)
    assert calls(sandbox, "document.create") == 1


@pytest.mark.parametrize("action", ["http_429", "http_503"])
def test_create_refused_before_processing_is_retried_once_made(
    sandbox: RunningSandbox, client: KompliantClient, waits: FakeClock, action: str
) -> None:
    before = len(client.list_documents(DEMO_SUBJECT))
    faults(sandbox, {"method": "document.create", "action": action, "retry_after": 2})
    created = client.create_document(DEMO_SUBJECT, "a.pdf", 3)
    assert calls(sandbox, "document.create") == 2
    assert len(client.list_documents(DEMO_SUBJECT)) == before + 1
    assert created.document_id
    if action == "http_429":
        assert waits.sleeps == [2.0]


def test_reads_ride_out_drops_and_server_errors(
    sandbox: RunningSandbox, client: KompliantClient
) -> None:
    faults(
        sandbox,
        {"method": "workflow.get", "action": "drop_after_processing"},
        {"method": "workflow.get", "action": "http_500"},
        {"method": "workflow.get", "action": "non_json_502"},
    )
    assert client.get_workflow(DEMO_WORKFLOW).workflow_id == DEMO_WORKFLOW
    assert calls(sandbox, "workflow.get") == 4


def test_batch_add_dropped_after_processing_is_ambiguous(
    sandbox: RunningSandbox, client: KompliantClient
) -> None:
    document_id = uploaded(client)
    faults(
        sandbox,
        {
            "method": "workflow.requiredDocument.fulfillment.batchAdd",
            "action": "drop_after_processing",
        },
    )
    with pytest.raises(AmbiguousRequest):
        client.add_fulfillments(DEMO_WORKFLOW, [(document_id, RD_ADDRESS)])
    assert calls(sandbox, "workflow.requiredDocument.fulfillment.batchAdd") == 1
    # It was carried out: the caller finds the fulfillment instead of adding it twice.
    assert [f.document_id for f in client.list_fulfillments(RD_ADDRESS)] == [document_id]


def test_one_client_serves_many_threads(client: KompliantClient) -> None:
    def create_and_read(index: int) -> tuple[str, str]:
        created = client.create_document(DEMO_SUBJECT, f"page-{index}.pdf", index + 1)
        return created.document_id, client.get_document(created.document_id).file_name

    with ThreadPoolExecutor(max_workers=8) as pool:
        made = list(pool.map(create_and_read, range(24)))
    assert len({document_id for document_id, _ in made}) == 24
    assert [name for _, name in made] == [f"page-{i}.pdf" for i in range(24)]
