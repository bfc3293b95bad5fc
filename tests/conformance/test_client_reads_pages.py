"""The agent's client reads every answer the seed pages show, and sends the form they show.

Each answer example is served as it is printed (an answer printed without the envelope
gets a plain ``meta`` around it as its ``data``) and read by the client's typed method
for the example's request; the client must take from it what the page shows — without
warnings about an unexpected envelope. The presigned form the client builds sends the
fields in the order of every upload example of the pages.
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from agent.errors import BadRequest, EntityNotFound
from agent.kompliant import envelope, models
from agent.kompliant.auth import Credentials
from agent.kompliant.client import KompliantClient
from agent.kompliant.models import CreatedDocument
from agent.sandbox import RunningSandbox
from agent.upload.presigned import FormBody, form_fields
from tests.conformance.cases import Case, example_cases
from tests.conformance.pages import read_pages
from tests.conftest import DEMO_SUBJECT, sandbox_call

CREDENTIALS = Credentials(
    "http://127.0.0.1:9", "sb_Key0001", "s6MgmwW+DXGP5vyN1K5VbqFjAxc8FF4XqtnRkzs172Fv", "token"
)
ANSWERED = [
    case
    for page in read_pages()
    for case in example_cases(page)
    if case.answer is not None and not case.shape and not case.unreadable
]
FORMS = [form for page in read_pages() for form in page.forms]


def _served(case: Case) -> httpx.MockTransport:
    body = case.answer
    if case.answer_is_data:
        meta = {"status": "SUCCESS", "trace_id": "trc_Page00001", "version": "2025-03-24"}
        body = {"meta": meta, "data": case.answer}
    payload = json.dumps(body).encode()
    return httpx.MockTransport(lambda request: httpx.Response(200, content=payload))


def _create(client: KompliantClient, request: dict[str, Any], answer: Any) -> None:
    created = client.create_document(
        request["subject_record_id"], request["file_name"], request["file_size_in_bytes"]
    )
    document = answer["document"]
    assert created.document_id == document["document_id"]
    assert created.form.upload_url == document["upload_url"]
    assert dict(created.form.fields) == document["presign_values"]


def _list(client: KompliantClient, request: dict[str, Any], answer: Any) -> None:
    listed = client.list_required_documents(request["workflow_id"])
    shown = answer["required_documents"]
    assert [rd.required_document_id for rd in listed] == [r["required_document_id"] for r in shown]
    assert [rd.status for rd in listed] == [r["required_document_status"] for r in shown]
    assert [rd.name for rd in listed] == [r["name"] for r in shown]


def _add(client: KompliantClient, request: dict[str, Any], answer: Any) -> None:
    links = [(f["document_id"], f["required_document_id"]) for f in request["fulfillments"]]
    results = client.add_fulfillments(request["workflow_id"], links)
    shown = {(f["document_id"], f["required_document_id"]): f for f in answer["fulfillments"]}
    for result in results:
        key = (result.request["document_id"], result.request["required_document_id"])
        assert result.ok, result
        assert result.fulfillment_id == shown[key]["fulfillment_id"]


def _request(client: KompliantClient, request: dict[str, Any], answer: Any) -> None:
    ids = [item["required_document_id"] for item in request["required_documents"]]
    results = client.request_documents(request["workflow_id"], ids)
    for result, shown in zip(results, answer["results"], strict=True):
        assert result.ok == (shown["status"] == "SUCCESS"), (result, shown)
        if shown["status"] == "ERROR":
            error = shown["errors"][0]
            kind = {"ENTITY_NOT_FOUND": EntityNotFound, "BAD_REQUEST": BadRequest}[error["code"]]
            assert isinstance(result.error, kind), result
            assert error["message"].rstrip(".") in str(result.error)


READERS: dict[str, Callable[[KompliantClient, dict[str, Any], Any], None]] = {
    "document.create": _create,
    "workflow.requiredDocument.list": _list,
    "workflow.requiredDocument.fulfillment.batchAdd": _add,
    "workflow.requiredDocument.batchRequestDocument": _request,
}


@pytest.mark.parametrize("case", ANSWERED, ids=[case.id for case in ANSWERED])
def test_the_client_reads_the_pages_answer(case: Case, caplog: pytest.LogCaptureFixture) -> None:
    reader = READERS.get(case.method)
    if reader is None:
        pytest.fail(f"{case.id}: no client call is known for {case.method}: add one to READERS")
    envelope._seen_warnings.clear()  # odd answers are warned about once per process
    models._seen_unknown.clear()
    caplog.set_level(logging.WARNING, logger="agent.kompliant")
    with KompliantClient(CREDENTIALS, transport=_served(case)) as client:
        reader(client, case.request, case.answer)
    assert not [r for r in caplog.records if "leniently" in r.getMessage()]


@pytest.mark.parametrize("form", FORMS, ids=[f"{f.page[:-4]} / {f.title}" for f in FORMS])
def test_the_client_sends_the_form_in_the_pages_order(form: Any, sandbox: RunningSandbox) -> None:
    body = {"subject_record_id": DEMO_SUBJECT, "file_name": "passport.pdf", "file_size_in_bytes": 4}
    answer = sandbox_call(sandbox, "document.create", body).json()
    created = CreatedDocument.from_api(answer["data"]["document"])
    sent = FormBody(
        form_fields(created.form),
        io.BytesIO(b"%PDF"),
        file_name="passport.pdf",
        content_type=created.form.content_type,
        size=4,
    )
    wire = b"".join(sent).decode("utf-8", "replace")
    names = re.findall(r'Content-Disposition: form-data; name="([^"]+)"', wire)
    assert names == list(form.fields)
