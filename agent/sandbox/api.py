"""The Kompliant methods the sandbox serves: the method table and its dispatch.

Each handler takes a ``Call`` (who asks, when, with which settings) and the request's
JSON object, changes the state under its lock and returns a ``Reply``; refusals are
``ApiError``. HTTP, faults and the envelope's transport live in :mod:`agent.sandbox.server`.

The handlers live by subject: :mod:`~agent.sandbox.documents`,
:mod:`~agent.sandbox.workflows` and :mod:`~agent.sandbox.fulfillments`; parameter checks
and refusals in :mod:`~agent.sandbox.params`, statuses and their rules in
:mod:`~agent.sandbox.statuses`, the records' JSON in :mod:`~agent.sandbox.views`.
Where Kompliant's pages are silent the choices are listed in docs/sandbox.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agent.sandbox.call import (
    KNOWN_VERSIONS,
    LATEST_VERSION,
    ApiConfig,
    Call,
    Handler,
    Presign,
    Probe,
    Reply,
)
from agent.sandbox.documents import (
    MAX_FILE_NAME,
    create_document,
    delete_document,
    get_document,
    list_documents,
)
from agent.sandbox.fulfillments import (
    add_fulfillments,
    delete_fulfillment,
    list_fulfillments,
    update_fulfillment,
)
from agent.sandbox.params import (
    MAX_BATCH,
    ApiError,
    bad_request,
    choice,
    filters,
    flag,
    items,
    not_found,
    rule,
    text,
)
from agent.sandbox.statuses import (
    COMPLETED,
    DECISIONS,
    PENDING,
    PENDING_DECISIONS,
    RD_ACTIVE,
    RD_COMPLETED,
    RD_INACTIVE,
    RD_NEEDS_REVIEW,
    RD_STATUSES,
    WORKFLOW_STATES,
    record_upload,
    refresh_status,
    settle_upload,
)
from agent.sandbox.views import (
    document_json,
    encode_hash,
    fulfillment_json,
    item_result,
    required_document_json,
    workflow_json,
)
from agent.sandbox.workflows import (
    get_workflow,
    list_required_documents,
    list_workflows,
    request_documents,
)

__all__ = [
    "COMPLETED",
    "DECISIONS",
    "KNOWN_VERSIONS",
    "LATEST_VERSION",
    "MAX_BATCH",
    "MAX_FILE_NAME",
    "METHODS",
    "PENDING",
    "PENDING_DECISIONS",
    "RD_ACTIVE",
    "RD_COMPLETED",
    "RD_INACTIVE",
    "RD_NEEDS_REVIEW",
    "RD_STATUSES",
    "WORKFLOW_STATES",
    "ApiConfig",
    "ApiError",
    "Call",
    "Handler",
    "Presign",
    "Probe",
    "Reply",
    "add_fulfillments",
    "bad_request",
    "check_version",
    "choice",
    "create_document",
    "delete_document",
    "delete_fulfillment",
    "dispatch",
    "document_json",
    "encode_hash",
    "filters",
    "flag",
    "fulfillment_json",
    "get_document",
    "get_workflow",
    "item_result",
    "items",
    "list_documents",
    "list_fulfillments",
    "list_required_documents",
    "list_workflows",
    "not_found",
    "record_upload",
    "refresh_status",
    "request_documents",
    "required_document_json",
    "rule",
    "settle_upload",
    "text",
    "update_fulfillment",
    "workflow_json",
]


def check_version(call: Call, params: Mapping[str, Any]) -> Reply:
    return Reply({"current_version": call.version, "latest_version": LATEST_VERSION})


METHODS: Mapping[str, Handler] = {
    "meta.checkVersion": check_version,
    "document.create": create_document,
    "document.get": get_document,
    "document.list": list_documents,
    "document.delete": delete_document,
    "workflow.get": get_workflow,
    "workflow.list": list_workflows,
    "workflow.requiredDocument.list": list_required_documents,
    "workflow.requiredDocument.batchRequestDocument": request_documents,
    "workflow.requiredDocument.fulfillment.batchAdd": add_fulfillments,
    "workflow.requiredDocument.fulfillment.list": list_fulfillments,
    "workflow.requiredDocument.fulfillment.update": update_fulfillment,
    "workflow.requiredDocument.fulfillment.delete": delete_fulfillment,
}


def dispatch(call: Call, method: str, params: Mapping[str, Any]) -> Reply:
    """Run ``method`` under the state's lock."""
    with call.state.lock:
        return METHODS[method](call, params)
