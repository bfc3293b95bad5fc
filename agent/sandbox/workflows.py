"""The ``workflow.*`` methods on workflows and their required documents.

Also the lookups the fulfillment methods share: a workflow open to changes, and a
required document of a workflow.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agent.sandbox.call import Call, Reply
from agent.sandbox.params import (
    PLAIN_REFUSAL,
    ApiError,
    bad_request,
    choice,
    filters,
    items,
    not_found,
    rule,
    text,
)
from agent.sandbox.state import DocumentRequest, RequiredDocument, Workflow
from agent.sandbox.statuses import RD_INACTIVE, RD_STATUSES
from agent.sandbox.views import item_result, required_document_json, workflow_json


def workflow_of(call: Call, workflow_id: str, *, not_found_status: int = 400) -> Workflow:
    workflow = call.state.workflow(workflow_id, call.account_id)
    if workflow is None:
        raise not_found("workflow_id", workflow_id, http_status=not_found_status)
    return workflow


def open_workflow(call: Call, workflow_id: str, *, not_found_status: int = 400) -> Workflow:
    workflow = workflow_of(call, workflow_id, not_found_status=not_found_status)
    if workflow.state == "ENDED":
        raise rule(
            "Workflow", "WORKFLOW_ENDED", f"Workflow {workflow_id} has ended; it takes no changes."
        )
    return workflow


def required_document_of(call: Call, workflow: Workflow, rd_id: str) -> RequiredDocument:
    rd = call.state.required_document(rd_id, call.account_id)
    if rd is None or rd.workflow_id != workflow.workflow_id:
        raise not_found("required_document_id", rd_id)
    return rd


def item_refusal(call: Call, error: ApiError) -> ApiError:
    """The refusal a batch item gets: as it is, or with ``plain_refusals`` a bare
    BAD_REQUEST with a message no client knows (no details, no sub-code)."""
    return ApiError("BAD_REQUEST", PLAIN_REFUSAL) if call.config.plain_refusals else error


def get_workflow(call: Call, params: Mapping[str, Any]) -> Reply:
    workflow = workflow_of(call, text(params, "workflow_id", prefix="w"))
    return Reply({"workflow": workflow_json(workflow)})


def list_workflows(call: Call, params: Mapping[str, Any]) -> Reply:
    subject_record_id = text(params, "subject_record_id", prefix="sr")
    if call.state.subject_record(subject_record_id, call.account_id) is None:
        raise not_found("subject_record_id", subject_record_id)
    workflows = [
        workflow_json(w)
        for w in call.state.workflows.values()
        if w.subject_record_id == subject_record_id
    ]
    return Reply({"workflows": workflows})


def list_required_documents(call: Call, params: Mapping[str, Any]) -> Reply:
    workflow = workflow_of(call, text(params, "workflow_id", prefix="w"))
    status = choice(filters(params), "required_document_status", RD_STATUSES)
    found = [
        required_document_json(rd)
        for rd in call.state.required_documents.values()
        if rd.workflow_id == workflow.workflow_id and status in (None, rd.status)
    ]
    return Reply({"required_documents": found})


#: batchRequestDocument's page, word for word.
REQUEST_INACTIVE = "Cannot request files for an inactive required document."


def request_documents(call: Call, params: Mapping[str, Any]) -> Reply:
    """Ask for files (batchRequestDocument): an unknown workflow is HTTP 404, as the page
    says; each item is checked for existing in the workflow and being active."""
    workflow_id = text(params, "workflow_id", prefix="w")
    workflow = open_workflow(call, workflow_id, not_found_status=404)
    results = []
    for item in items(params, "required_documents"):
        try:
            if not isinstance(item, Mapping):
                raise bad_request("Each item must be an object with required_document_id.")
            rd = required_document_of(
                call, workflow, text(item, "required_document_id", prefix="rd")
            )
            if rd.status == RD_INACTIVE:
                raise bad_request(REQUEST_INACTIVE)
        except ApiError as error:
            results.append(item_result(item, item_refusal(call, error)))
            continue
        call.state.document_requests.append(
            DocumentRequest(
                workflow.workflow_id, rd.required_document_id, call.stamp, call.caller.api_key
            )
        )
        results.append(item_result(item, {}))
    call.state.changed()
    return Reply(results=results)
