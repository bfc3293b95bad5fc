"""The ``workflow.requiredDocument.fulfillment.*`` methods: link documents to required documents.

A fulfillment carries the reviewer's decision; the required document's status follows
(:func:`agent.sandbox.statuses.refresh_status`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from agent.sandbox.call import Call, Reply
from agent.sandbox.params import (
    ApiError,
    bad_request,
    choice,
    filters,
    flag,
    items,
    not_found,
    text,
)
from agent.sandbox.state import Fulfillment, Workflow, new_id
from agent.sandbox.statuses import (
    COMPLETED,
    DECISIONS,
    NEW_DECISION,
    PENDING,
    RD_INACTIVE,
    refresh_status,
    settle_upload,
)
from agent.sandbox.views import document_json, fulfillment_json, item_result
from agent.sandbox.workflows import item_refusal, open_workflow, required_document_of

#: The refusals of a batchAdd item, worded like batchRequestDocument's page words its own
#: (a BAD_REQUEST with a sentence; no sub-code is documented for them).
OTHER_SUBJECT = "The document belongs to another subject record than the workflow."
NOT_UPLOADED = "The document has no completed upload yet."
ADD_INACTIVE = "Cannot add a fulfillment to an inactive required document."
DUPLICATE = "The document already fulfills this required document."


def _new_fulfillment(call: Call, workflow: Workflow, item: Any) -> dict[str, Any]:
    if not isinstance(item, Mapping):
        raise bad_request("Each item must be an object with document_id and required_document_id.")
    document_id = text(item, "document_id", prefix="d")
    rd = required_document_of(call, workflow, text(item, "required_document_id", prefix="rd"))
    decision = choice(item, "decision_status", DECISIONS) or NEW_DECISION
    document = call.state.document(document_id, call.account_id)
    if document is None or document.deleted_at is not None:
        raise not_found("document_id", document_id)
    document = settle_upload(call, document)
    if document.subject_record_id != workflow.subject_record_id:
        raise bad_request(OTHER_SUBJECT)
    if document.upload_status != COMPLETED:
        raise bad_request(NOT_UPLOADED)
    if rd.status == RD_INACTIVE:
        raise bad_request(ADD_INACTIVE)
    if any(
        f.document_id == document_id and f.required_document_id == rd.required_document_id
        for f in call.state.live_fulfillments(document_id=document_id)
    ):
        raise bad_request(DUPLICATE)
    fulfillment = Fulfillment(
        fulfillment_id=new_id("f"),
        workflow_id=workflow.workflow_id,
        required_document_id=rd.required_document_id,
        document_id=document_id,
        decision_status=decision,
        created_at=call.stamp,
        updated_at=call.stamp,
    )
    call.state.fulfillments[fulfillment.fulfillment_id] = fulfillment
    refresh_status(call.state, rd.required_document_id, call.stamp)
    return {"fulfillment": fulfillment_json(fulfillment)}


def add_fulfillments(call: Call, params: Mapping[str, Any]) -> Reply:
    """Link documents (batchAdd): the batch format, and the created fulfillments under
    ``data.fulfillments`` as the upload guide's answer shows them."""
    workflow = open_workflow(call, text(params, "workflow_id", prefix="w"))
    results = []
    created = []
    for item in items(params, "fulfillments"):
        try:
            data = _new_fulfillment(call, workflow, item)
        except ApiError as error:
            results.append(item_result(item, item_refusal(call, error)))
            continue
        created.append(data["fulfillment"])
        results.append(item_result(item, data))
    call.state.changed()
    return Reply({"fulfillments": created}, results=results)


def list_fulfillments(call: Call, params: Mapping[str, Any]) -> Reply:
    rd_id = text(params, "required_document_id", prefix="rd")
    if call.state.required_document(rd_id, call.account_id) is None:
        raise not_found("required_document_id", rd_id)
    wanted = filters(params)
    decision = choice(wanted, "decision_status", (NEW_DECISION, *DECISIONS))
    upload_status = choice(wanted, "document_upload_status", (PENDING, COMPLETED))
    verbose = flag(params, "verbose")
    found = []
    for item in list(call.state.live_fulfillments(required_document_id=rd_id)):
        if item.required_document_id != rd_id or decision not in (None, item.decision_status):
            continue
        document = settle_upload(call, call.state.documents[item.document_id])
        if upload_status not in (None, document.upload_status):
            continue
        raw = fulfillment_json(item)
        if verbose:
            raw["document"] = document_json(document, call.config.hash_encoding)
        found.append(raw)
    return Reply({"fulfillments": found})


def _fulfillment_in_open_workflow(call: Call, fulfillment_id: str) -> Fulfillment:
    item = call.state.fulfillment(fulfillment_id, call.account_id)
    if item is None:
        raise not_found("fulfillment_id", fulfillment_id)
    open_workflow(call, item.workflow_id)
    return item


def update_fulfillment(call: Call, params: Mapping[str, Any]) -> Reply:
    """The reviewer's decision (accept / reject); the required document follows."""
    fulfillment_id = text(params, "fulfillment_id", prefix="f")
    if params.get("decision_status") is None:
        raise bad_request("decision_status is required.")
    decision = choice(params, "decision_status", DECISIONS)
    assert decision is not None
    item = _fulfillment_in_open_workflow(call, fulfillment_id)
    call.state.fulfillments[item.fulfillment_id] = replace(
        item, decision_status=decision, updated_at=call.stamp
    )
    refresh_status(call.state, item.required_document_id, call.stamp)
    call.state.changed()
    return Reply()


def delete_fulfillment(call: Call, params: Mapping[str, Any]) -> Reply:
    fulfillment_id = text(params, "fulfillment_id", prefix="f")
    existing = call.state.fulfillments.get(fulfillment_id)
    if (
        existing is not None
        and existing.deleted_at is not None
        and call.state.workflow(existing.workflow_id, call.account_id)
    ):
        return Reply()  # idempotent
    item = _fulfillment_in_open_workflow(call, fulfillment_id)
    call.state.fulfillments[item.fulfillment_id] = replace(
        item, deleted_at=call.stamp, updated_at=call.stamp
    )
    refresh_status(call.state, item.required_document_id, call.stamp)
    call.state.changed()
    return Reply()
