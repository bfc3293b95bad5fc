"""The Kompliant methods the sandbox serves: parameters in, ``data`` or ``results`` out.

Each handler takes a ``Call`` (who asks, when, with which settings) and the request's
JSON object, changes the state under its lock and returns a ``Reply``; refusals are
``ApiError``. HTTP, faults and the envelope's transport live in :mod:`agent.sandbox.server`.

Where Kompliant's pages are silent the choices are listed in docs/sandbox.md.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from agent.sandbox.state import (
    Document,
    DocumentRequest,
    Fulfillment,
    RequiredDocument,
    SandboxState,
    Workflow,
    iso,
    new_id,
)
from agent.sandbox.verify import Caller

log = logging.getLogger(__name__)

LATEST_VERSION = "2025-03-24"
KNOWN_VERSIONS = frozenset({LATEST_VERSION})

PENDING, COMPLETED = "PENDING", "COMPLETED"
RD_ACTIVE, RD_NEEDS_REVIEW, RD_COMPLETED, RD_INACTIVE = (
    "ACTIVE",
    "NEEDS_REVIEW",
    "COMPLETED",
    "INACTIVE",
)
RD_STATUSES = (RD_ACTIVE, RD_NEEDS_REVIEW, RD_COMPLETED, RD_INACTIVE)
DECISIONS = ("NEEDS_REVIEW", "IN_REVIEW", "ACCEPTED", "REJECTED")
PENDING_DECISIONS = frozenset({"NEEDS_REVIEW", "IN_REVIEW"})
WORKFLOW_STATES = ("CREATED", "STARTED", "ENDED")
MAX_BATCH = 100
MAX_FILE_NAME = 255

#: ``presign(key, content_type, size, document_id, expires_at)`` → (upload_url, fields)
Presign = Callable[[str, str, int, str, float], tuple[str, list[tuple[str, str]]]]
#: For an external store: ``probe(document)`` → (size, sha256 hex) once its object exists.
Probe = Callable[[Document], tuple[int, str] | None]


class ApiError(Exception):
    """A refusal in Kompliant's words: HTTP 400 unless said otherwise."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        entity_type: str | None = None,
        sub_code: str | None = None,
        http_status: int = 400,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.entity_type = entity_type
        self.sub_code = sub_code
        self.http_status = http_status

    def to_json(self) -> dict[str, Any]:
        raw: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.entity_type:
            raw["entity_type"] = self.entity_type
        if self.sub_code:
            raw["sub_code"] = self.sub_code
        return raw


def bad_request(message: str) -> ApiError:
    return ApiError("BAD_REQUEST", message)


def not_found(what: str, entity_id: str) -> ApiError:
    return ApiError("ENTITY_NOT_FOUND", f"No {what} with id {entity_id} exists.")


def rule(entity_type: str, sub_code: str, message: str) -> ApiError:
    return ApiError("SYSTEM_RULE_VIOLATION", message, entity_type=entity_type, sub_code=sub_code)


@dataclass(frozen=True)
class ApiConfig:
    presign: Presign
    form_lifetime: float = 300.0
    hash_encoding: str = "hex"  # or "base64"
    completion_delay: float = 0.0
    max_file_size: int = 5 * 1024**3
    probe: Probe | None = None
    #: Replaces the state's list for this run only (extension → content type).
    allowed_extensions: Mapping[str, str] | None = None


@dataclass(frozen=True)
class Call:
    state: SandboxState
    config: ApiConfig
    caller: Caller
    now: float
    version: str = LATEST_VERSION

    @property
    def account_id(self) -> str:
        return self.caller.account_id

    @property
    def stamp(self) -> str:
        return iso(self.now)


@dataclass(frozen=True)
class Reply:
    data: dict[str, Any] = field(default_factory=dict)
    results: list[dict[str, Any]] | None = None  # batch methods


# -- parameters ---------------------------------------------------------------------------

_ID = re.compile(r"[A-Za-z0-9]{1,64}")


def text(params: Mapping[str, Any], name: str, *, prefix: str | None = None) -> str:
    value = params.get(name)
    if value is None:
        raise bad_request(f"{name} is required.")
    if not isinstance(value, str) or not value.strip():
        raise bad_request(f"{name} must be a non-empty string.")
    if prefix is not None:
        head, sep, tail = value.partition("_")
        if head != prefix or not sep or not _ID.fullmatch(tail):
            raise bad_request(f"{name} must be an id in the {prefix}_ prefix format.")
    return value


def flag(params: Mapping[str, Any], name: str) -> bool:
    value = params.get(name, False)
    if not isinstance(value, bool):
        raise bad_request(f"{name} must be true or false.")
    return value


def choice(params: Mapping[str, Any], name: str, allowed: Iterable[str]) -> str | None:
    value = params.get(name)
    allowed = tuple(allowed)
    if value is not None and value not in allowed:
        raise bad_request(f"{name} must be one of {', '.join(allowed)}.")
    return value


def filters(params: Mapping[str, Any]) -> Mapping[str, Any]:
    value = params.get("filters") or {}
    if not isinstance(value, Mapping):
        raise bad_request("filters must be an object.")
    return value


def items(params: Mapping[str, Any], name: str) -> list[Any]:
    value = params.get(name)
    if not isinstance(value, list) or not value:
        raise bad_request(f"{name} must be a non-empty array.")
    if len(value) > MAX_BATCH:
        raise bad_request(f"{name} may hold at most {MAX_BATCH} items.")
    return value


# -- shared lookups and transitions -------------------------------------------------------


def _workflow(call: Call, workflow_id: str) -> Workflow:
    workflow = call.state.workflow(workflow_id, call.account_id)
    if workflow is None:
        raise not_found("workflow", workflow_id)
    return workflow


def _open_workflow(call: Call, workflow_id: str) -> Workflow:
    workflow = _workflow(call, workflow_id)
    if workflow.state == "ENDED":
        raise rule(
            "Workflow", "WORKFLOW_ENDED", f"Workflow {workflow_id} has ended; it takes no changes."
        )
    return workflow


def _document(call: Call, document_id: str) -> Document:
    document = call.state.document(document_id, call.account_id)
    if document is None:
        raise not_found("document", document_id)
    return settle_upload(call, document)


def settle_upload(call: Call, document: Document) -> Document:
    """Promote a stored upload to COMPLETED once the completion delay has passed."""
    if document.upload_status != PENDING:
        return document
    if document.stored_at is None and call.config.probe is not None:
        found = call.config.probe(document)
        if found is not None:
            size, sha256_hex = found
            document = replace(document, stored_at=call.now, file_size=size, hash=sha256_hex)
            call.state.documents[document.document_id] = document
            call.state.changed()
    if document.stored_at is None or call.now < document.stored_at + call.config.completion_delay:
        return document
    document = replace(document, upload_status=COMPLETED, updated_at=call.stamp)
    call.state.documents[document.document_id] = document
    call.state.changed()
    return document


def record_upload(
    state: SandboxState,
    document_id: str,
    *,
    size: int,
    sha256_hex: str,
    object_path: str | None,
    now: float,
    completion_delay: float,
) -> bool:
    """The upload endpoint stored the bytes of ``document_id``; False if it is unknown."""
    with state.lock:
        document = state.documents.get(document_id)
        if document is None:
            return False
        status = COMPLETED if completion_delay <= 0 else document.upload_status
        state.documents[document_id] = replace(
            document,
            file_size=size,
            hash=sha256_hex,
            object_path=object_path,
            stored_at=now,
            upload_status=status,
            updated_at=iso(now),
        )
        state.changed()
        return True


def encode_hash(sha256_hex: str | None, encoding: str) -> str | None:
    if sha256_hex is None or encoding != "base64":
        return sha256_hex
    try:
        return base64.b64encode(bytes.fromhex(sha256_hex)).decode("ascii")
    except ValueError:  # an admin-set value that is not hex: show it as it is
        return sha256_hex


def refresh_status(state: SandboxState, rd_id: str, stamp: str) -> None:
    """A required document's status follows its live fulfillments (INACTIVE stays)."""
    rd = state.required_documents.get(rd_id)
    if rd is None or rd.status == RD_INACTIVE:
        return
    decisions = {
        f.decision_status for f in state.live_fulfillments() if f.required_document_id == rd_id
    }
    if "ACCEPTED" in decisions:
        status = RD_COMPLETED
    elif decisions & PENDING_DECISIONS:
        status = RD_NEEDS_REVIEW
    else:
        status = RD_ACTIVE
    if status != rd.status:
        state.required_documents[rd_id] = replace(rd, status=status, updated_at=stamp)


# -- JSON views ---------------------------------------------------------------------------


def document_json(document: Document, encoding: str, *, full: bool = True) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "document_id": document.document_id,
        "subject_record_id": document.subject_record_id,
        "file_name": document.file_name,
        "file_size": document.file_size,
        "upload_status": document.upload_status,
        "comment": document.comment,
        "created_at": document.created_at,
        "updated_at": document.updated_at,
        "deleted_at": document.deleted_at,
    }
    if full:
        completed = document.upload_status == COMPLETED
        raw["hash"] = encode_hash(document.hash, encoding) if completed else None
        raw["uploaded_by"] = document.uploaded_by
    return raw


def workflow_json(workflow: Workflow) -> dict[str, Any]:
    return {
        "workflow_id": workflow.workflow_id,
        "type": workflow.type,
        "subject_record_id": workflow.subject_record_id,
        "state": workflow.state,
        "details": dict(workflow.details),
        "started_at": workflow.started_at,
        "ended_at": workflow.ended_at,
        "created_at": workflow.created_at,
        "updated_at": workflow.updated_at,
    }


def required_document_json(rd: RequiredDocument) -> dict[str, Any]:
    return {
        "required_document_id": rd.required_document_id,
        "document_type_code": rd.document_type_code,
        "name": rd.name,
        "category": rd.category,
        "requirement_text": rd.requirement_text,
        "status": rd.status,
        "created_at": rd.created_at,
        "updated_at": rd.updated_at,
    }


def fulfillment_json(item: Fulfillment) -> dict[str, Any]:
    return {
        "fulfillment_id": item.fulfillment_id,
        "workflow_id": item.workflow_id,
        "required_document_id": item.required_document_id,
        "document_id": item.document_id,
        "decision_status": item.decision_status,
        "created_at": item.created_at,
        "updated_at": item.updated_at,
    }


def item_result(request: Any, outcome: dict[str, Any] | ApiError) -> dict[str, Any]:
    if isinstance(outcome, ApiError):
        return {"request": request, "status": "ERROR", "errors": [outcome.to_json()]}
    return {"request": request, "status": "SUCCESS", "data": outcome}


# -- meta and documents -------------------------------------------------------------------


def check_version(call: Call, params: Mapping[str, Any]) -> Reply:
    return Reply({"current_version": call.version, "latest_version": LATEST_VERSION})


def create_document(call: Call, params: Mapping[str, Any]) -> Reply:
    subject_record_id = text(params, "subject_record_id", prefix="sr")
    file_name = text(params, "file_name")
    size = params.get("file_size_in_bytes")
    if size is None:
        raise bad_request("file_size_in_bytes is required.")
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        raise bad_request("file_size_in_bytes must be a positive integer (the file's size).")
    if size > call.config.max_file_size:
        raise bad_request(
            f"file_size_in_bytes is {size}; files may be at most {call.config.max_file_size} bytes."
        )
    if len(file_name) > MAX_FILE_NAME or "/" in file_name or "\\" in file_name:
        raise bad_request(
            f"file_name must be a plain file name of at most {MAX_FILE_NAME} characters."
        )
    stem, dot, extension = file_name.rpartition(".")
    extension = extension.lower()
    allowed = call.config.allowed_extensions or call.state.allowed_extensions
    if not dot or not stem or extension not in allowed:
        raise bad_request(
            f"file_name {file_name!r} must end in one of the supported file types: "
            f"{', '.join('.' + e for e in sorted(allowed))}."
        )
    if call.state.subject_record(subject_record_id, call.account_id) is None:
        raise not_found("subject record", subject_record_id)
    document_id = new_id("d")
    key = f"{subject_record_id}/{document_id}.{extension}"
    expires_at = call.now + call.config.form_lifetime
    content_type = allowed[extension]
    upload_url, fields = call.config.presign(key, content_type, size, document_id, expires_at)
    call.state.documents[document_id] = Document(
        document_id=document_id,
        subject_record_id=subject_record_id,
        file_name=file_name,
        file_size=size,
        content_type=content_type,
        key=key,
        uploaded_by=call.caller.api_key,
        form_expires_at=expires_at,
        created_at=call.stamp,
        updated_at=call.stamp,
    )
    call.state.changed()
    presign_values = dict(fields)
    return Reply(
        {
            "document": {
                "document_id": document_id,
                "upload_url": upload_url,
                "presign_values": presign_values,
            }
        }
    )


def get_document(call: Call, params: Mapping[str, Any]) -> Reply:
    document = _document(call, text(params, "document_id", prefix="d"))
    return Reply({"document": document_json(document, call.config.hash_encoding)})


def list_documents(call: Call, params: Mapping[str, Any]) -> Reply:
    subject_record_id = text(params, "subject_record_id", prefix="sr")
    if call.state.subject_record(subject_record_id, call.account_id) is None:
        raise not_found("subject record", subject_record_id)
    documents = [
        settle_upload(call, d)
        for d in list(call.state.documents.values())
        if d.subject_record_id == subject_record_id and d.deleted_at is None
    ]
    encoding = call.config.hash_encoding
    return Reply({"documents": [document_json(d, encoding, full=False) for d in documents]})


def delete_document(call: Call, params: Mapping[str, Any]) -> Reply:
    document = _document(call, text(params, "document_id", prefix="d"))
    if document.deleted_at is not None:
        return Reply()
    linked = [f for f in call.state.live_fulfillments() if f.document_id == document.document_id]
    if any(f.decision_status == "ACCEPTED" for f in linked):
        raise ApiError(
            "ENTITY_LINKED",
            f"Document {document.document_id} has an ACCEPTED fulfillment and cannot be deleted.",
        )
    state = call.state
    state.documents[document.document_id] = replace(
        document, deleted_at=call.stamp, updated_at=call.stamp
    )
    for item in linked:
        state.fulfillments[item.fulfillment_id] = replace(
            item, deleted_at=call.stamp, updated_at=call.stamp
        )
        refresh_status(state, item.required_document_id, call.stamp)
    state.changed()
    return Reply()


# -- workflows and required documents ----------------------------------------------------


def get_workflow(call: Call, params: Mapping[str, Any]) -> Reply:
    workflow = _workflow(call, text(params, "workflow_id", prefix="w"))
    return Reply({"workflow": workflow_json(workflow)})


def list_workflows(call: Call, params: Mapping[str, Any]) -> Reply:
    subject_record_id = text(params, "subject_record_id", prefix="sr")
    if call.state.subject_record(subject_record_id, call.account_id) is None:
        raise not_found("subject record", subject_record_id)
    workflows = [
        workflow_json(w)
        for w in call.state.workflows.values()
        if w.subject_record_id == subject_record_id
    ]
    return Reply({"workflows": workflows})


def list_required_documents(call: Call, params: Mapping[str, Any]) -> Reply:
    workflow = _workflow(call, text(params, "workflow_id", prefix="w"))
    status = choice(filters(params), "required_document_status", RD_STATUSES)
    found = [
        required_document_json(rd)
        for rd in call.state.required_documents.values()
        if rd.workflow_id == workflow.workflow_id and status in (None, rd.status)
    ]
    return Reply({"required_documents": found})


def _rd_of(call: Call, workflow: Workflow, rd_id: str) -> RequiredDocument:
    rd = call.state.required_document(rd_id, call.account_id)
    if rd is None or rd.workflow_id != workflow.workflow_id:
        raise not_found(f"required document in workflow {workflow.workflow_id}", rd_id)
    return rd


def _inactive(rd: RequiredDocument) -> ApiError:
    return rule(
        "RequiredDocument",
        "REQUIRED_DOCUMENT_INACTIVE",
        f"Required document {rd.required_document_id} is inactive.",
    )


def request_documents(call: Call, params: Mapping[str, Any]) -> Reply:
    workflow = _open_workflow(call, text(params, "workflow_id", prefix="w"))
    results = []
    for item in items(params, "required_documents"):
        try:
            if not isinstance(item, Mapping):
                raise bad_request("Each item must be an object with required_document_id.")
            rd = _rd_of(call, workflow, text(item, "required_document_id", prefix="rd"))
            if rd.status == RD_INACTIVE:
                raise _inactive(rd)
        except ApiError as error:
            results.append(item_result(item, error))
            continue
        call.state.document_requests.append(
            DocumentRequest(
                workflow.workflow_id, rd.required_document_id, call.stamp, call.caller.api_key
            )
        )
        results.append(item_result(item, {"required_document_id": rd.required_document_id}))
    call.state.changed()
    return Reply(results=results)


# -- fulfillments -------------------------------------------------------------------------


def _new_fulfillment(call: Call, workflow: Workflow, item: Any) -> dict[str, Any]:
    if not isinstance(item, Mapping):
        raise bad_request("Each item must be an object with document_id and required_document_id.")
    document_id = text(item, "document_id", prefix="d")
    rd = _rd_of(call, workflow, text(item, "required_document_id", prefix="rd"))
    decision = choice(item, "decision_status", DECISIONS) or "NEEDS_REVIEW"
    document = call.state.document(document_id, call.account_id)
    if document is None or document.deleted_at is not None:
        raise not_found("document", document_id)
    document = settle_upload(call, document)
    if document.subject_record_id != workflow.subject_record_id:
        raise rule(
            "Document",
            "SUBJECT_RECORD_MISMATCH",
            f"Document {document_id} belongs to another subject record than workflow "
            f"{workflow.workflow_id}.",
        )
    if document.upload_status != COMPLETED:
        raise rule(
            "Document",
            "DOCUMENT_NOT_UPLOADED",
            f"Document {document_id} has no completed upload yet.",
        )
    if rd.status == RD_INACTIVE:
        raise _inactive(rd)
    if any(
        f.document_id == document_id and f.required_document_id == rd.required_document_id
        for f in call.state.live_fulfillments()
    ):
        raise rule(
            "Fulfillment",
            "DUPLICATE_FULFILLMENT",
            f"Document {document_id} already fulfills required document {rd.required_document_id}.",
        )
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
    workflow = _open_workflow(call, text(params, "workflow_id", prefix="w"))
    results = []
    for item in items(params, "fulfillments"):
        try:
            results.append(item_result(item, _new_fulfillment(call, workflow, item)))
        except ApiError as error:
            results.append(item_result(item, error))
    call.state.changed()
    return Reply(results=results)


def list_fulfillments(call: Call, params: Mapping[str, Any]) -> Reply:
    rd_id = text(params, "required_document_id", prefix="rd")
    if call.state.required_document(rd_id, call.account_id) is None:
        raise not_found("required document", rd_id)
    wanted = filters(params)
    decision = choice(wanted, "decision_status", DECISIONS)
    upload_status = choice(wanted, "document_upload_status", (PENDING, COMPLETED))
    verbose = flag(params, "verbose")
    found = []
    for item in list(call.state.live_fulfillments()):
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
        raise not_found("fulfillment", fulfillment_id)
    _open_workflow(call, item.workflow_id)
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


Handler = Callable[[Call, Mapping[str, Any]], Reply]

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
