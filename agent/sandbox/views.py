"""The JSON form of the sandbox's records in Kompliant's answers."""

from __future__ import annotations

import base64
from typing import Any

from agent.sandbox.params import ApiError
from agent.sandbox.state import Document, Fulfillment, RequiredDocument, Workflow
from agent.sandbox.statuses import COMPLETED


def encode_hash(sha256_hex: str | None, encoding: str) -> str | None:
    if sha256_hex is None or encoding != "base64":
        return sha256_hex
    try:
        return base64.b64encode(bytes.fromhex(sha256_hex)).decode("ascii")
    except ValueError:  # an admin-set value that is not hex: show it as it is
        return sha256_hex


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
        "required_document_status": rd.status,
        "created_at": rd.created_at,
        "updated_at": rd.updated_at or rd.created_at,
    }


def fulfillment_json(item: Fulfillment) -> dict[str, Any]:
    """A fulfillment with the fields the upload guide's batchAdd answer shows."""
    return {
        "fulfillment_id": item.fulfillment_id,
        "required_document_id": item.required_document_id,
        "document_id": item.document_id,
        "decision_status": item.decision_status,
        "created_at": item.created_at,
        "updated_at": item.updated_at,
    }


def item_result(request: Any, outcome: dict[str, Any] | ApiError) -> dict[str, Any]:
    """One result of a batch answer: its status, the item echoed, and data or errors."""
    if isinstance(outcome, ApiError):
        return {"status": "ERROR", "request": request, "errors": [outcome.to_json()]}
    return {"status": "SUCCESS", "request": request, "data": outcome}
